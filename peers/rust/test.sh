#!/usr/bin/env bash
# Runs the vector tests, the unit tests, the integration tests (a real nats-server from
# NATS_SERVER_BIN or scripts/setup --print-path) and the doctests, then clippy with warnings as
# errors, and rustfmt.
set -euo pipefail
cd "$(dirname "$0")"
# tests/orders_example.rs runs the example's binary; `cargo test` builds the example only as a
# test harness (it has `test = true`), so build the binary first.
cargo build --locked --examples
cargo test --locked "$@"
# The credit accounting under load (tests/confirmations.rs) again, built with optimizations: an
# unoptimized build is too slow to load the server the way a service does, and the audits'
# double counting it guards against only shows under that load.
cargo test --locked --release --test confirmations
if ! cargo clippy --version >/dev/null 2>&1; then
  echo "peers/rust/test.sh: cargo clippy is missing: install it (rustup component add clippy," \
    "or Debian's rust-clippy of the same version as rustc)" >&2
  exit 1
fi
cargo clippy --locked --all-targets -- -D warnings
if ! cargo fmt --version >/dev/null 2>&1; then
  echo "peers/rust/test.sh: cargo fmt is missing: install it (rustup component add rustfmt)" >&2
  exit 1
fi
cargo fmt --check
