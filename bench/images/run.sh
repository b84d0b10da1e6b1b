#!/usr/bin/env bash
# Benchmark: a ~300 MB rootfs in 10 gzip layers built to kernel+initrd by Underlay, side by side with the baseline
# pipeline `umoci unpack` + `find | cpio -o -H newc | gzip`. Reports wall time and peak RSS (GNU time), the rebuild
# time with nothing changed, and the initrd size for each gzip level. Needs: dotnet, umoci, cpio, gzip, GNU time.
#   bench/images/run.sh [MB] [LAYERS]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
mb="${1:-300}"
layers="${2:-10}"
work="${BENCH_WORK:-$(mktemp -d -t underlay-images-bench-XXXXXX)}"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

for tool in umoci cpio gzip /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install umoci cpio gzip time)" >&2; exit 1; }
done

dotnet build -c Release "$here/ImagesBench" -o "$work/bin" -v quiet -nologo >/dev/null
bench="$work/bin/ImagesBench.dll"
kernel="$(ls "${XDG_CACHE_HOME:-$repo/.cache}"/underlay-images-tests/vmlinuz 2>/dev/null || true)"
dotnet "$bench" generate "$work/layout" "$mb" "$layers" "$kernel"

cat > "$work/bench.yml" <<YAML
kernel:
  image: oci:$work/layout:kernel
  cmdline: console=ttyS0
  tar: none
init:
  - oci:$work/layout:rootfs
YAML

# measure NAME COMMAND...: runs once with a cold-ish page cache for the output, records seconds and peak RSS.
declare -A secs rss size
measure() {
  local name="$1"; shift
  sync
  /usr/bin/time -f '%e %M' -o "$work/time.$name" "$@" >"$work/log.$name" 2>&1 || { cat "$work/log.$name" >&2; exit 1; }
  read -r secs[$name] rss[$name] < "$work/time.$name"
}

# Warm the page cache for the layer blobs once, so both pipelines read them from memory.
cat "$work"/layout/blobs/sha256/* > /dev/null

measure baseline sh -c "umoci unpack --rootless --image '$work/layout:rootfs' '$work/bundle' >/dev/null && cd '$work/bundle/rootfs' && find . | cpio -o -H newc --quiet | gzip > '$work/baseline.cpio.gz'"
size[baseline]=$(stat -c %s "$work/baseline.cpio.gz")
rm -rf "$work/bundle"

for level in fastest optimal; do
  rm -rf "$work/out-$level"
  measure "underlay-$level" dotnet "$bench" build "$work/bench.yml" "$work/out-$level" "$work/cache" "$level" cache
  size[underlay-$level]=$(stat -c %s "$work/out-$level/bench-initrd.img")
done
measure rebuild dotnet "$bench" build "$work/bench.yml" "$work/out-fastest" "$work/cache" fastest cache
grep -q "up-to-date True" "$work/log.rebuild" || { echo "rebuild was not detected as up to date" >&2; cat "$work/log.rebuild" >&2; exit 1; }
size[rebuild]=${size[underlay-fastest]}

printf '\n%-24s %10s %12s %14s %10s\n' "pipeline" "seconds" "peak RSS MB" "initrd MB" "speedup"
for name in baseline underlay-fastest underlay-optimal rebuild; do
  printf '%-24s %10.2f %12.1f %14.1f %9.2fx\n' "$name" "${secs[$name]}" "$(echo "${rss[$name]} / 1024" | bc -l)" \
    "$(echo "${size[$name]} / 1048576" | bc -l)" "$(echo "${secs[baseline]} / ${secs[$name]}" | bc -l)"
done
echo
echo "rebuild / first build: $(echo "scale=1; 100 * ${secs[rebuild]} / ${secs[underlay-fastest]}" | bc -l) %  (nproc=$(nproc))"
