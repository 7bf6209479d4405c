#!/usr/bin/env bash
# Runs the vector tests and the integration tests (a real nats-server from NATS_SERVER_BIN or
# scripts/setup --print-path).
set -euo pipefail
cd "$(dirname "$0")"
cargo test --locked "$@"
