#!/usr/bin/env bash
# Runs the vector tests and the integration test against a real nats-server
# (NATS_SERVER_BIN, else scripts/setup --print-path).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
if [[ -z "${NATS_SERVER_BIN:-}" ]]; then
  NATS_SERVER_BIN=$("$here/../../scripts/setup" --print-path)
  export NATS_SERVER_BIN
fi
go vet ./...
go test -count=1 -timeout 120s "$@" ./...
# The Go example of the orders demo is its own module on top of this one (examples/go).
cd "$here/../../examples/go"
go vet ./...
go test -count=1 -timeout 120s ./...
# The Prometheus adapter is a module of its own (sluiceprom), so the library does not depend on it.
cd "$here/sluiceprom"
go vet ./...
go test -count=1 -timeout 120s ./...
