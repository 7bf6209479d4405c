#!/usr/bin/env bash
# Builds bin/sluice-peer-go.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p bin
go build -o bin/sluice-peer-go ./cmd/sluice-peer-go
echo "$(pwd)/bin/sluice-peer-go"
