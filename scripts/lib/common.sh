# Shared helpers for scripts/*: sourced, not run.

# Makes sure Java 17+ and Maven are present, installing Debian's packages when they are not.
ensure_java_tools() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  if ((${#missing[@]})); then
    echo "installing ${missing[*]}" >&2
    local sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
    $sudo apt-get update -qq && $sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
}

# Makes sure headless Chromium and its driver are present (the console's browser test drives
# /usr/bin/chromedriver), installing Debian's packages when they are not.
ensure_browser() {
  [[ -x /usr/bin/chromedriver && -x /usr/lib/chromium/chromium ]] && return 0
  echo "installing chromium chromium-driver (the console's browser test)" >&2
  local sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq && $sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >&2
}

# Builds the given Maven modules (and what they need) unless their jars are newer than the sources.
build_modules() {
  mvn -B -q -ntp -DskipTests -Dspotless.check.skip=true install -pl "$1" -am >&2
}

# Prints the path of a protoc binary, fetched from Maven Central (com.google.protobuf:protoc, the
# same version the Java build uses) into the local Maven repository on first use.
ensure_protoc() {
  local v="${SLUICE_PROTOC_VERSION:-4.36.2}"
  local repo="${MAVEN_REPO:-$HOME/.m2/repository}"
  local exe="$repo/com/google/protobuf/protoc/$v/protoc-$v-linux-x86_64.exe"
  if [[ ! -x "$exe" ]]; then
    if [[ ! -f "$exe" ]]; then
      mvn -B -q -ntp dependency:get -Dartifact="com.google.protobuf:protoc:$v:exe:linux-x86_64" -Dtransitive=false >&2
    fi
    chmod +x "$exe"
  fi
  echo "$exe"
}
