#!/usr/bin/env bash
# Publishes the `underlay` CLI/agent with NativeAOT (the binary that goes into boot images) into
# <repo>/.cache/underlay-aot, for the tests that run the native agent and the discovery image they boot.
# Needs clang and zlib1g-dev (eng/test-packages.txt).
# MSBuild's incremental build makes a re-run with unchanged sources quick.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="$repo/.cache/underlay-aot"
mkdir -p "$repo/.cache"
[[ -f "$repo/.cache/.gitignore" ]] || printf '*\n' > "$repo/.cache/.gitignore"
dotnet publish "$repo/src/Underlay.Cli/Underlay.Cli.csproj" -c Release -r linux-x64 \
  -o "$out" -v quiet -nologo
test -x "$out/underlay"
echo "native underlay: $(du -h "$out/underlay" | cut -f1) at $out/underlay"
