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
mkdir -p "$cache/debs"

if [[ -f "$cache/ready" ]]; then
  echo "images test cache ready: $cache"
  exit 0
fi

# apt-get download needs package lists.
if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
  apt-get update -qq
fi

# The metapackage depends on the versioned image package, which holds vmlinuz and the modules.
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
vmlinuz="$(ls "$cache"/kernel/boot/vmlinuz-* | head -n1)"
ln -sf "$vmlinuz" "$cache/vmlinuz"
ln -sf "$cache/busybox/bin/busybox" "$cache/busybox.bin"
touch "$cache/ready"
echo "images test cache ready: $cache"
