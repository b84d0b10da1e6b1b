#!/usr/bin/env bash
# eng/fetch-boot-debs.sh CACHE_DIR LABEL
# Fetches, without installing them, what the boot and image tests boot or pack: the current Debian kernel image
# package (linux-image-cloud-amd64's, which has the serial console and initramfs support built in; else
# linux-image-amd64's) and busybox-static, unpacked into CACHE_DIR/kernel and CACHE_DIR/busybox with the links
# CACHE_DIR/vmlinuz and CACHE_DIR/busybox.bin. Idempotent: a cache marked ready is kept.
set -euo pipefail
cache=$1
label=${2:-boot files}
mkdir -p "$cache/debs"
if [[ -f "$cache/ready" ]]; then
  echo "$label cache ready: $cache"
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
  echo "fetch-boot-debs.sh: cannot find a Debian kernel image package" >&2
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
echo "$label cache ready: $cache"
