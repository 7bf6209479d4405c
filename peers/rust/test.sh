#!/usr/bin/env bash
# Runs the vector tests, the unit tests, the integration tests (a real nats-server from
# NATS_SERVER_BIN or scripts/setup --print-path) and the doctests, then clippy with warnings as
# errors.
set -euo pipefail
cd "$(dirname "$0")"
cargo test --locked "$@"
cargo clippy --locked --all-targets -- -D warnings
