#!/usr/bin/env bash
# Builds the discovery image (discovery.yml) from Debian packages, without an internet registry:
#   build-discovery.sh <work-dir> <underlay-binary>
# <underlay-binary> is the NativeAOT `underlay` (dotnet publish src/Underlay.Cli -c Release -r linux-x64
# -p:PublishAot=true); it goes into the image and also runs the build. The kernel (linux-image-cloud-amd64's image
# package) and busybox-static are fetched with apt-get download into <work-dir>/debs, packed as local OCI layouts under
# <work-dir>/oci, and the outputs land in <work-dir>/out: discovery-kernel, discovery-initrd.img, and
# underlay-discovery-amd64.tar (vmlinuz + initrd.img), the "ISO" the underlay-discovery bootenv explodes.
set -euo pipefail

work=$(mkdir -p "$1" && cd "$1" && pwd)
underlay=$(realpath "$2")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf 'build-discovery: %s\n' "$*" >&2; }

mkdir -p "$work/debs"
if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
  apt-get update -qq
fi
kernel_pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[[ -n $kernel_pkg ]] || { log "cannot find the Debian kernel image package"; exit 1; }
(cd "$work/debs" && for pkg in "$kernel_pkg" busybox-static; do
  ls "${pkg}"_*.deb >/dev/null 2>&1 || apt-get download -q "$pkg"
done)

x="$work/extract"
rm -rf "$x" "$work/oci" "$work/stage"
mkdir -p "$x" "$work/oci" "$work/stage"
dpkg-deb -x "$(ls "$work/debs/${kernel_pkg}"_*.deb | head -n1)" "$x/kernel"
dpkg-deb -x "$(ls "$work/debs"/busybox-static_*.deb | head -n1)" "$x/busybox"
busybox="$x/busybox/bin/busybox"
version=$(ls "$x/kernel/lib/modules" | head -n1)
modules="$x/kernel/lib/modules/$version"

# Only the drivers a machine needs to reach the server and see its disks: virtio (QEMU/KVM), Hyper-V, VMware,
# the cloud kernel's Ethernet drivers, ATA and the SCSI disk drivers. Their dependencies come from modules.dep.
"$busybox" depmod -b "$x/kernel" "$version"
wanted=$(cd "$modules" && find kernel/drivers/virtio kernel/drivers/net/ethernet kernel/drivers/net/vmxnet3 \
  kernel/drivers/net/hyperv kernel/drivers/hv kernel/drivers/ata -name '*.ko*' 2>/dev/null
  ls kernel/drivers/net/virtio_net.ko* kernel/drivers/block/virtio_blk.ko* kernel/drivers/scsi/virtio_scsi.ko* \
    kernel/drivers/scsi/sd_mod.ko* kernel/drivers/scsi/sr_mod.ko* kernel/drivers/scsi/vmw_pvscsi.ko* \
    kernel/drivers/scsi/hv_storvsc.ko* 2>/dev/null)
declare -A keep=()
for module in $wanted; do
  keep[$module]=1
  for dep in $(awk -F': *' -v m="$module" '$1 == m {print $2}' "$modules/modules.dep"); do keep[$dep]=1; done
done
tree="$work/stage/modules/lib/modules/$version"
mkdir -p "$tree"
for module in "${!keep[@]}"; do
  mkdir -p "$tree/$(dirname "$module")"
  cp "$modules/$module" "$tree/$module"
done
cp "$modules/modules.builtin" "$modules/modules.order" "$tree/"
[[ -f $modules/modules.builtin.modinfo ]] && cp "$modules/modules.builtin.modinfo" "$tree/"
"$busybox" depmod -b "$work/stage/modules" "$version"
[[ -s $tree/modules.alias ]] || { log "depmod wrote no modules.alias: modprobe could not load drivers by device"; exit 1; }
log "kernel $version with ${#keep[@]} modules"

# Reproducible tars: sorted names, fixed owner and time.
pack() { tar --sort=name --mtime=@1600000000 --owner=0 --group=0 --numeric-owner -C "$1" -cf - .; }

# One OCI image layout (oci-layout, index.json, blobs) holding a single-layer image built from a directory.
layout() {
  local dir=$1 source=$2 blobs="$1/blobs/sha256"
  mkdir -p "$blobs"
  pack "$source" >"$dir/layer.tar"
  local diff_id; diff_id=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
  gzip -n -1 -c "$dir/layer.tar" >"$dir/layer.tar.gz"
  rm "$dir/layer.tar"
  local layer; layer=$(sha256sum "$dir/layer.tar.gz" | cut -d' ' -f1)
  local layer_size; layer_size=$(stat -c %s "$dir/layer.tar.gz")
  mv "$dir/layer.tar.gz" "$blobs/$layer"
  printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diff_id" >"$dir/config.json"
  local config; config=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
  local config_size; config_size=$(stat -c %s "$dir/config.json")
  mv "$dir/config.json" "$blobs/$config"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" >"$dir/manifest.json"
  local manifest; manifest=$(sha256sum "$dir/manifest.json" | cut -d' ' -f1)
  local manifest_size; manifest_size=$(stat -c %s "$dir/manifest.json")
  mv "$dir/manifest.json" "$blobs/$manifest"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"}}]}' \
    "$manifest" "$manifest_size" >"$dir/index.json"
}

# kernel: what LinuxKit's kernel images hold, the kernel binary and kernel.tar (the modules, expanded into /).
mkdir -p "$work/stage/kernel"
cp "$x/kernel/boot/vmlinuz-$version" "$work/stage/kernel/kernel"
pack "$work/stage/modules" >"$work/stage/kernel/kernel.tar"
layout "$work/oci/kernel" "$work/stage/kernel"

# busybox: the static binary and a link per applet.
bb="$work/stage/busybox"
mkdir -p "$bb/bin" "$bb/sbin" "$bb/usr/bin" "$bb/usr/sbin" "$bb/proc" "$bb/sys" "$bb/dev" "$bb/tmp" "$bb/run" "$bb/root" "$bb/etc"
cp "$busybox" "$bb/bin/busybox"
for applet in $("$busybox" --list); do
  [[ $applet == busybox ]] || ln -sf busybox "$bb/bin/$applet"
done
layout "$work/oci/busybox" "$bb"

# agent: the NativeAOT binary with the shared libraries it links and the OpenSSL it loads at run time for TLS.
ag="$work/stage/agent"
mkdir -p "$ag/usr/bin"
cp "$underlay" "$ag/usr/bin/underlay"
strip --strip-unneeded "$ag/usr/bin/underlay" 2>/dev/null || true
libs=$(ldd "$underlay" | awk '/=> \// {print $3} /^\t\/[^ ]+ \(/ {print $1}')
for ssl in libssl.so.3 libcrypto.so.3; do
  path=$(ldconfig -p | awk -v n="$ssl" '!found && $1 == n && /x86-64/ {print $NF; found = 1}')  # no early exit: ldconfig would die of SIGPIPE under pipefail
  [[ -n $path ]] || { log "$ssl is missing: install libssl3"; exit 1; }
  libs="$libs $path $(ldd "$path" | awk '/=> \// {print $3}')"
done
for lib in $(printf '%s\n' $libs | sort -u); do
  real=$(readlink -f "$lib")
  mkdir -p "$ag$(dirname "$lib")"
  cp "$real" "$ag$lib"
done
layout "$work/oci/agent" "$ag"

# The build runs in the work directory: discovery.yml names the layouts and files relative to it.
rm -rf "$work/discovery" && cp -r "$here/discovery" "$work/discovery"
cp "$here/discovery.yml" "$work/discovery.yml"
(cd "$work" && "$underlay" image build discovery.yml -f kernel+initrd -o out -n discovery --cache-dir image-cache --compression smallest --force)
rm -f "$work/out/vmlinuz" "$work/out/initrd.img"
ln "$work/out/discovery-kernel" "$work/out/vmlinuz"
ln "$work/out/discovery-initrd.img" "$work/out/initrd.img"
tar --sort=name --mtime=@1600000000 --owner=0 --group=0 -C "$work/out" -cf "$work/out/underlay-discovery-amd64.tar" vmlinuz initrd.img
log "kernel $(stat -c %s "$work/out/vmlinuz") bytes, initrd $(stat -c %s "$work/out/initrd.img") bytes"
