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

# Builds the given Maven modules (and what they need) unless their jars are newer than the sources.
build_modules() {
  mvn -B -q -ntp -DskipTests -Dspotless.check.skip=true install -pl "$1" -am >&2
}
