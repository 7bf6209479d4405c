#!/usr/bin/env bash
# Regenerates sluicepb/control.pb.go from protocol/sluice/v1/control.proto.
# protoc comes from Maven Central (scripts/lib/common.sh ensure_protoc); protoc-gen-go from the
# Go module proxy, at the same version as the google.golang.org/protobuf runtime in go.mod.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"

protoc_version="${SLUICE_PROTOC_VERSION:-4.36.2}"
protoc=""
if command -v mvn >/dev/null 2>&1; then
  protoc=$(bash -c "source '$root/scripts/lib/common.sh'; ensure_protoc")
else
  # Same artifact and location as ensure_protoc, fetched without Maven.
  repo="${MAVEN_REPO:-$HOME/.m2/repository}"
  classifier=$(bash -c "source '$root/scripts/lib/common.sh'; protoc_classifier")
  protoc="$repo/com/google/protobuf/protoc/$protoc_version/protoc-$protoc_version-$classifier.exe"
  if [[ ! -x "$protoc" ]]; then
    mkdir -p "$(dirname "$protoc")"
    curl -fsSL -o "$protoc.tmp" \
      "https://repo1.maven.org/maven2/com/google/protobuf/protoc/$protoc_version/protoc-$protoc_version-$classifier.exe"
    mv "$protoc.tmp" "$protoc"
    chmod +x "$protoc"
  fi
fi

pgg_version=$(go list -m -f '{{.Version}}' google.golang.org/protobuf)
GOBIN="$here/bin/tools" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$pgg_version"

"$protoc" \
  --plugin=protoc-gen-go="$here/bin/tools/protoc-gen-go" \
  --proto_path="$root/protocol" \
  --go_out="$here" \
  --go_opt=module=sluice.dev/peers/go \
  --go_opt="Msluice/v1/control.proto=sluice.dev/peers/go/sluicepb;sluicepb" \
  sluice/v1/control.proto
