#!/usr/bin/env bash
# Regenerates orders/orders.pb.go from examples/orders.proto (Go convention: generated code is
# committed). protoc and protoc-gen-go as in peers/go/generate.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"
protoc_version="${SLUICE_PROTOC_VERSION:-4.36.2}"
if command -v mvn >/dev/null 2>&1; then
  protoc=$(bash -c "source '$root/scripts/lib/common.sh'; ensure_protoc")
else
  classifier=$(bash -c "source '$root/scripts/lib/common.sh'; protoc_classifier")
  protoc="${MAVEN_REPO:-$HOME/.m2/repository}/com/google/protobuf/protoc/$protoc_version/protoc-$protoc_version-$classifier.exe"
  [[ -x "$protoc" ]] || { echo "generate.sh: no protoc at $protoc: run peers/go/generate.sh once" >&2; exit 1; }
fi
pgg_version=$(cd "$root/peers/go" && go list -m -f '{{.Version}}' google.golang.org/protobuf)
GOBIN="$here/bin/tools" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$pgg_version"
"$protoc" \
  --plugin=protoc-gen-go="$here/bin/tools/protoc-gen-go" \
  --proto_path="$root/examples" \
  --go_out="$here" \
  --go_opt=module=sluice.dev/examples \
  orders.proto
