#!/usr/bin/env bash
# Builds the discovery image the end-to-end tests boot (content/images/discovery.yml through
# content/images/build-discovery.sh) from Debian packages and the NativeAOT `underlay`, into
# $UNDERLAY_E2E_TEST_CACHE, else <repo>/.cache/underlay-e2e-tests. Rebuilt only when the binary or
# content/images change (a stamp of their hashes). eng/publish-native-cli.sh provides the native binary.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${UNDERLAY_E2E_TEST_CACHE:-$repo/.cache/underlay-e2e-tests}"
aot="$repo/.cache/underlay-aot"
mkdir -p "$repo/.cache" "$cache"
[[ -f "$repo/.cache/.gitignore" ]] || printf '*\n' > "$repo/.cache/.gitignore"

bash "$repo/eng/publish-native-cli.sh"

stamp=$(cat "$aot/underlay" "$repo"/content/images/discovery.yml "$repo"/content/images/build-discovery.sh \
  "$repo"/content/images/discovery/* | sha256sum | cut -d' ' -f1)
if [[ -f "$cache/ready" && $(cat "$cache/ready") == "$stamp" ]]; then
  echo "e2e test cache ready: $cache"
  exit 0
fi
rm -f "$cache/ready"
bash "$repo/content/images/build-discovery.sh" "$cache/discovery" "$aot/underlay"
echo "$stamp" > "$cache/ready"
echo "e2e test cache ready: $cache (discovery image: $(du -ch "$cache"/discovery/out/vmlinuz "$cache"/discovery/out/initrd.img | tail -1 | cut -f1))"
