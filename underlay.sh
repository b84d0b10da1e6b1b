#!/usr/bin/env bash
# The project's two set-up commands (see README.md):
#   ./underlay.sh serve [underlayd flags...]   build and start underlayd on its embedded defaults
#   ./underlay.sh test                         install what the tests need and run every test
# Both install what they need themselves (Debian packages, NuGet restore); run them as root on Debian 12
# with the .NET 10 SDK.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
repo=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '==> %s\n' "$*" >&2; }

# Installs the Debian packages listed (one per line, # comments) that are not installed yet.
apt_install_from() {
  local wanted=() package
  while read -r package; do
    package=${package%%#*}; package=${package//[[:space:]]/}
    [[ -n $package ]] || continue
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || wanted+=("$package")
  done < "$1"
  ((${#wanted[@]} == 0)) && return 0
  if [[ $(id -u) -ne 0 ]]; then
    log "missing Debian packages (${wanted[*]}); run as root so they can be installed"
    return 1
  fi
  log "installing Debian packages: ${wanted[*]}"
  # Services must not start inside a build or CI container (policy-rc.d exit 101 keeps them down).
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
}

serve() {
  apt_install_from eng/server-packages.txt
  log "building underlayd (Release)"
  dotnet build src/Underlay.Server -c Release -v quiet -nologo >/dev/null
  log "starting underlayd; stop it with Ctrl-C"
  exec dotnet src/Underlay.Server/bin/Release/net10.0/underlayd.dll "$@"
}

# Sums the <Counters> of every TRX file into "tests: N passed, N failed[, N skipped]".
summarize() {
  local dir=$1 passed=0 failed=0 total=0 executed=0 line
  for trx in "$dir"/*.trx; do
    [[ -f $trx ]] || continue
    line=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
    total=$((total + $(sed -E 's/.* total="([0-9]+)".*/\1/' <<<"$line")))
    executed=$((executed + $(sed -E 's/.* executed="([0-9]+)".*/\1/' <<<"$line")))
    passed=$((passed + $(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$line")))
    failed=$((failed + $(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$line") + $(sed -E 's/.* error="([0-9]+)".*/\1/' <<<"$line")))
  done
  local skipped=$((total - executed))
  if ((skipped > 0)); then
    echo "tests: $passed passed, $failed failed, $skipped skipped"
  else
    echo "tests: $passed passed, $failed failed"
  fi
}

test_all() {
  apt_install_from eng/server-packages.txt
  apt_install_from eng/test-packages.txt
  for setup in test/*/setup.sh; do
    [[ -f $setup ]] || continue
    log "test setup: $setup"
    bash "$setup"
  done

  log "building the solution"
  dotnet build Underlay.slnx -v quiet -nologo -clp:ErrorsOnly

  local results; results=$(mktemp -d "${TMPDIR:-/tmp}/underlay-tests.XXXXXX")
  local status=0 project name
  # One test project at a time: several of them start servers, network namespaces and VMs, and this runs on
  # small machines.
  for project in test/*/*.Tests.csproj; do
    name=$(basename "$project" .csproj)
    log "running $name"
    if ! dotnet test "$project" --no-build --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
         --logger "console;verbosity=minimal"; then
      status=1
    fi
    # A project that crashed before writing results still counts as failed.
    [[ -f "$results/$name.trx" ]] || { log "$name produced no results"; status=1; echo '<Counters total="1" executed="1" passed="0" failed="1" error="0" />' > "$results/$name.trx"; }
  done

  summarize "$results"
  rm -rf "$results"
  return $status
}

case "${1:-}" in
  serve) shift; serve "$@" ;;
  test) shift; test_all "$@" ;;
  *) echo "usage: $0 serve [underlayd flags...] | test" >&2; exit 2 ;;
esac
