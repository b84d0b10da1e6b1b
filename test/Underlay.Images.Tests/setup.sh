#!/usr/bin/env bash
# Fetches the Debian packages the image tests build their test images from, without installing them:
# a kernel (linux-image-cloud-amd64's current image package) and busybox-static. Idempotent: packages already
# unpacked are kept. The cache lives in $XDG_CACHE_HOME/underlay/images-tests, or <repo>/.cache/underlay-images-tests;
# the tests read the same location (or UNDERLAY_IMAGES_TEST_CACHE when set).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
if [[ -n "${UNDERLAY_IMAGES_TEST_CACHE:-}" ]]; then
  cache="$UNDERLAY_IMAGES_TEST_CACHE"
elif [[ -n "${XDG_CACHE_HOME:-}" ]]; then
  cache="$XDG_CACHE_HOME/underlay/images-tests"
else
  cache="$repo/.cache/underlay-images-tests"
  mkdir -p "$repo/.cache"
  # The cache is never committed: make the directory ignore itself.
  [[ -f "$repo/.cache/.gitignore" ]] || printf '*\n' > "$repo/.cache/.gitignore"
fi
exec "$repo/eng/fetch-boot-debs.sh" "$cache" "images test"
