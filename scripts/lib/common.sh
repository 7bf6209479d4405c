# Shared helpers for scripts/*: sourced, not run.

# version_ge A B: true when the dotted version A is at least B (1.26.0 >= 1.26, 17.0.15 >= 17).
version_ge() {
  [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" == "$2" ]]
}

# The version Debian would install for package $1 (epoch and Debian suffixes removed), or nothing.
debian_candidate() {
  command -v apt-cache >/dev/null 2>&1 || return 0
  apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}' \
    | sed -e 's/^[0-9]*://' -e 's/[-+~].*//' -e 's/(none)//'
}

apt_install() {
  echo "installing $* (apt-get)" >&2
  # `env`: with $sudo empty (root), a leading VAR=value after an expansion would be run as a command.
  local sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# The major version of the java on PATH (8 for 1.8.0_392, 17 for 17.0.15), or nothing.
java_major() {
  command -v java >/dev/null 2>&1 || return 0
  local v
  v=$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')
  [[ "$v" == 1.* ]] && v=${v#1.}
  echo "${v%%[.+-]*}"
}

# Makes sure Java 17+ and Maven are present, installing Debian's packages when they are missing.
# A java older than 17 on PATH stops the script at once (the build would fail much later).
ensure_java_tools() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  if ((${#missing[@]})); then
    apt_install "${missing[@]}"
  fi
  local major
  major=$(java_major)
  if [[ -z "$major" ]] || ((major < 17)); then
    echo "Java 17 or newer is needed, found ${major:-none} ($(command -v java || echo 'no java')):" \
      "install openjdk-17-jdk-headless (apt-get) or a JDK from https://adoptium.net and put its bin/ first on PATH" >&2
    exit 1
  fi
}

# Makes sure the Go toolchain that peers/go/go.mod asks for is on PATH: installs Debian's
# golang-go when it is new enough, else stops at once with one line saying how to get Go.
ensure_go() {
  local root need have cand
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  need=$(awk '$1 == "go" {print $2; exit}' "$root/peers/go/go.mod")
  have=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
  if [[ -n "$have" ]] && version_ge "$have" "$need"; then
    return 0
  fi
  cand=$(debian_candidate golang-go)
  if [[ -n "$cand" ]] && version_ge "$cand" "$need"; then
    apt_install golang-go
    return 0
  fi
  echo "Go $need or newer is needed for peers/go, found ${have:-none} (Debian offers ${cand:-none}):" \
    "install it from https://go.dev/dl/ and put its bin/ on PATH" >&2
  exit 1
}

# Makes sure cargo and a rustc at least peers/rust/Cargo.toml's rust-version are on PATH:
# installs Debian's rustc and cargo when they are new enough, else stops at once with one line.
ensure_rust() {
  local root need have cand
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  need=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' "$root/peers/rust/Cargo.toml")
  have=""
  if command -v cargo >/dev/null 2>&1; then
    have=$(rustc --version 2>/dev/null | awk '{print $2}')
  fi
  if [[ -n "$have" ]] && version_ge "$have" "$need"; then
    return 0
  fi
  cand=$(debian_candidate rustc)
  if [[ -n "$cand" ]] && version_ge "$cand" "$need"; then
    apt_install rustc cargo
    return 0
  fi
  echo "Rust $need or newer (rustc and cargo) is needed for peers/rust, found ${have:-none}" \
    "(Debian offers ${cand:-none}): install it with rustup (https://rustup.rs)" >&2
  exit 1
}

# Makes sure headless Chromium and its driver are present (the console's browser test drives
# /usr/bin/chromedriver), installing Debian's packages when they are not.
ensure_browser() {
  [[ -x /usr/bin/chromedriver && -x /usr/lib/chromium/chromium ]] && return 0
  apt_install chromium chromium-driver
}

# Builds the given Maven modules (and what they need) into their target/ directories; nothing is
# installed into ~/.m2, so other checkouts on the same machine keep their own artifacts.
build_modules() {
  mvn -B -q -ntp -DskipTests -Dspotless.check.skip=true -Djacoco.skip=true package -pl "$1" -am >&2
}

# The protoc classifier of this machine, as Maven Central names it (linux-x86_64, osx-aarch_64).
protoc_classifier() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=osx ;;
    *) echo "no protoc build for $(uname -s): set PROTOC=/path/to/protoc" >&2; return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64|amd64) arch=x86_64 ;;
    aarch64|arm64) arch=aarch_64 ;;
    ppc64le) arch=ppcle_64 ;;
    s390x) arch=s390_64 ;;
    *) echo "no protoc build for $(uname -m): set PROTOC=/path/to/protoc" >&2; return 1 ;;
  esac
  echo "$os-$arch"
}

# Prints the path of a protoc binary, fetched from Maven Central (com.google.protobuf:protoc, the
# same version the Java build uses) into the local Maven repository on first use.
ensure_protoc() {
  local v="${SLUICE_PROTOC_VERSION:-4.36.2}"
  local repo="${MAVEN_REPO:-$HOME/.m2/repository}"
  local classifier
  classifier=$(protoc_classifier) || return 1
  local exe="$repo/com/google/protobuf/protoc/$v/protoc-$v-$classifier.exe"
  if [[ ! -x "$exe" ]]; then
    if [[ ! -f "$exe" ]]; then
      mvn -B -q -ntp dependency:get -Dartifact="com.google.protobuf:protoc:$v:exe:$classifier" -Dtransitive=false >&2
    fi
    chmod +x "$exe"
  fi
  echo "$exe"
}
