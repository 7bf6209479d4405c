#!/usr/bin/env bash
# Builds the release binary target/release/sluice-peer-rust.
# protoc: $PROTOC if set, else scripts/lib/common.sh ensure_protoc, else a download from Maven Central
# (see build.rs).
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --locked "$@"
echo "$(pwd)/target/release/sluice-peer-rust"
