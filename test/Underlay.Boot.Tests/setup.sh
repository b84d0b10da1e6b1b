#!/usr/bin/env bash
# Fetches what the QEMU PXE boot test boots, without installing it: a Debian kernel (the current image package of
# linux-image-cloud-amd64, which has the serial console and initramfs support built in) and busybox-static, from which
# the test packs its tiny initramfs. Idempotent. The cache lives in $UNDERLAY_BOOT_TEST_CACHE, else
# $XDG_CACHE_HOME/underlay/boot-tests, else <repo>/.cache/underlay-boot-tests; the tests read the same location.
# The firmware and loaders (qemu-system-x86, ipxe-qemu, ovmf, ipxe) are Debian packages in eng/test-packages.txt.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
if [[ -n "${UNDERLAY_BOOT_TEST_CACHE:-}" ]]; then
  cache="$UNDERLAY_BOOT_TEST_CACHE"
elif [[ -n "${XDG_CACHE_HOME:-}" ]]; then
  cache="$XDG_CACHE_HOME/underlay/boot-tests"
else
  cache="$repo/.cache/underlay-boot-tests"
  mkdir -p "$repo/.cache"
  # The cache is never committed: make the directory ignore itself.
  [[ -f "$repo/.cache/.gitignore" ]] || printf '*\n' > "$repo/.cache/.gitignore"
fi
exec "$repo/eng/fetch-boot-debs.sh" "$cache" "boot test"
