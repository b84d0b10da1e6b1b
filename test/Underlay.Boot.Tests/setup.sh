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
mkdir -p "$cache/debs"

if [[ -f "$cache/ready" ]]; then
  echo "boot test cache ready: $cache"
  exit 0
fi

# apt-get download needs package lists.
if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
  apt-get update -qq
fi

kernel_pkg="$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
if [[ -z "$kernel_pkg" ]]; then
  kernel_pkg="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
fi
if [[ -z "$kernel_pkg" ]]; then
  echo "setup.sh: cannot find a Debian kernel image package" >&2
  exit 1
fi

cd "$cache/debs"
for pkg in "$kernel_pkg" busybox-static; do
  if ! ls "${pkg}"_*.deb >/dev/null 2>&1; then
    apt-get download -q "$pkg"
  fi
done

rm -rf "$cache/kernel" "$cache/busybox"
dpkg-deb -x "$(ls "${kernel_pkg}"_*.deb | head -n1)" "$cache/kernel"
dpkg-deb -x "$(ls busybox-static_*.deb | head -n1)" "$cache/busybox"
ln -sf "$(ls "$cache"/kernel/boot/vmlinuz-* | head -n1)" "$cache/vmlinuz"
ln -sf "$cache/busybox/bin/busybox" "$cache/busybox.bin"
touch "$cache/ready"
echo "boot test cache ready: $cache"
