#!/usr/bin/env bash
# bench/Underlay.BootStorm/run.sh - boot storms and the fleet workflow benchmark against a fresh underlayd each.
#
# Lab (shared/tools/lib-lab.sh, namespaces this script creates and deletes): underlayd in ${LAB}srv on 10.99.0.1
# (DHCP on eth0, TFTP, HTTP boot files on 8091, API on 8092); boot-storm in ${LAB}c1 on 10.99.0.2, acting as a DHCP
# relay (giaddr 10.99.0.2, replies unicast to 10.99.0.2:67) for N simulated machines.
# For each N in STORM_N: a fresh data directory with a loader (Debian's ipxe.pxe when installed, else LOADER_KB of
# random bytes under that name), bench/vmlinuz (KERNEL_KB) and bench/initrd.img (INITRD_KB); one storm; the server's
# CPU seconds and peak RSS come from /proc. Then FLEET_N machines in fleet mode (registration + workflow only),
# once per agent kind in FLEET_AGENTS (slim: one shared HTTP loop; runner: one real AgentRunner per machine).
#
# Usage (root): bench/Underlay.BootStorm/run.sh
#   NO_BUILD=1 STORM_N="100 1000 5000" FLEET_N=1000 FLEET_AGENTS="slim runner" RUN_TIMEOUT=900 OUT=<file.jsonl> SHARED_TOOLS=<dir>
# Writes one JSON object per run to OUT (see Program.cs for the fields) and prints a summary.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(git -C "$HERE" rev-parse --show-toplevel)
TOOLS=${SHARED_TOOLS:-$REPO/../shared/tools}
[ -f "$TOOLS/lib-lab.sh" ] || { echo "shared tools not found in $TOOLS (set SHARED_TOOLS)" >&2; exit 1; }
TOOLS=$(cd "$TOOLS" && pwd)
STORM_N=${STORM_N:-"100 1000 5000"}
FLEET_N=${FLEET_N:-1000}
FLEET_AGENTS=${FLEET_AGENTS:-"slim runner"}
RUN_TIMEOUT=${RUN_TIMEOUT:-900}
LOADER_KB=${LOADER_KB:-300}; KERNEL_KB=${KERNEL_KB:-1024}; INITRD_KB=${INITRD_KB:-2048}
OUT=${OUT:-${TMPDIR:-/tmp}/underlay-boot-storm-$(date +%Y%m%d-%H%M%S).jsonl}
. "$TOOLS/lib-lab.sh"
lab_need_root
LAB=bst$$-
trap lab_down EXIT INT TERM
lab_tmpdir

if [ "${NO_BUILD:-0}" != 1 ]; then  # bench/run builds once and sets NO_BUILD=1
  lab_log "building underlayd and boot-storm (Release)"
  dotnet build "$REPO/src/Underlay.Server" -c Release -v quiet -nologo >"$T/build.log" 2>&1 || { cat "$T/build.log" >&2; exit 1; }
  dotnet build "$HERE" -c Release -v quiet -nologo >>"$T/build.log" 2>&1 || { cat "$T/build.log" >&2; exit 1; }
fi
SERVER=$REPO/src/Underlay.Server/bin/Release/net10.0/underlayd.dll
STORM=$HERE/bin/Release/net10.0/boot-storm.dll

lab_up 1
ip -n "${LAB}c1" addr add 10.99.0.2/24 dev eth0

# one_run MODE N AGENT: fresh server, one boot-storm run, JSON appended to OUT
one_run() {
  local mode=$1 n=$2 agent=$3 data=$T/data-$1-$2-$3 pid i
  mkdir -p "$data/tftpboot/bench"
  if [ -f /usr/lib/ipxe/ipxe.pxe ]; then cp /usr/lib/ipxe/ipxe.pxe "$data/tftpboot/ipxe.pxe"
  else head -c $((LOADER_KB * 1024)) /dev/urandom > "$data/tftpboot/ipxe.pxe"; fi
  head -c $((KERNEL_KB * 1024)) /dev/urandom > "$data/tftpboot/bench/vmlinuz"
  head -c $((INITRD_KB * 1024)) /dev/urandom > "$data/tftpboot/bench/initrd.img"
  UNDERLAY_LOG_LEVEL=Warning lab_bg "${LAB}srv" "$T/server-$mode-$n-$agent.log" env UNDERLAY_LOG_LEVEL=Warning dotnet "$SERVER" \
    --data-dir "$data" --listen-address 10.99.0.1 --api-port 8092 --static-port 8091 --disable-metrics \
    --dhcp-interfaces eth0 --dhcp-probe-timeout 0
  pid=$LAB_LAST_PID
  for ((i = 0; i < 600; i++)); do
    [ -s "$data/secrets/admin-password" ] && [ -s "$data/tls/server.crt" ] && ip netns exec "${LAB}c1" curl -sf -o /dev/null --max-time 2 \
      --cacert "$data/tls/server.crt" -u "admin:$(cat "$data/secrets/admin-password")" https://10.99.0.1:8092/api/v3/info && break
    sleep 0.1
  done
  lab_log "$mode N=$n agent=$agent (server PID $pid, load $(cut -d' ' -f1-3 /proc/loadavg))"
  ip netns exec "${LAB}c1" timeout -k 10 "$RUN_TIMEOUT" dotnet "$STORM" --mode "$mode" --machines "$n" --agent "$agent" \
    --api https://10.99.0.1:8092 --password-file "$data/secrets/admin-password" --cert "$data/tls/server.crt" \
    --relay 10.99.0.2 --server-pid "$pid" --timeout $((RUN_TIMEOUT - 15)) >"$T/run.json" 2>"$T/run.err"
  local rc=$?
  cat "$T/run.err" >&2
  if [ $rc -eq 0 ] && [ -s "$T/run.json" ]; then
    sed "s/}\$/,\"rss_rest_kb\":$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"),\"nproc\":$(nproc)}/" "$T/run.json" >> "$OUT"
  else
    printf '{"mode":"%s","agent":"%s","machines":%d,"error":"exit %d"}\n' "$mode" "$agent" "$n" "$rc" >> "$OUT"
  fi
  lab_kill "$pid"
  rm -rf "$data"
}

: > "$OUT"
for n in $STORM_N; do one_run storm "$n" slim; done
for agent in $FLEET_AGENTS; do [ "$FLEET_N" -gt 0 ] && one_run fleet "$FLEET_N" "$agent"; done
lab_log "results: $OUT"
