#!/usr/bin/env bash
# bench/dhcp/run.sh - DORA throughput of underlayd against Kea (memfile, single and multi-threaded) and dnsmasq,
# measured with ISC perfdhcp by the shared lab script perfdhcp-vs.sh, all in network namespaces it creates.
#
#   bench/dhcp/run.sh                       # default: -s "custom kea kea-mt dnsmasq-ro" -r 10000 -p 20 -n 2
#   bench/dhcp/run.sh -r 5000 -n 1          # any perfdhcp-vs.sh flags (-s -r -p -n -R -m -L) pass through
#   UNDERLAY_ENV="DOTNET_TieredPGO=0" bench/dhcp/run.sh -s custom   # extra environment for underlayd only
#   UNDERLAY_ARGS="--dhcp-workers 2" bench/dhcp/run.sh -s custom      # extra underlayd flags
#
# underlayd runs as perfdhcp-vs.sh's "custom" server: a Release build, SQLite store, probing off (Kea and
# dnsmasq --no-ping do not probe either), logging at Warning. Its data directory is prepared once with the
# script's subnet (10.99.0.0/16, pool 10.99.1.0-10.99.254.254, 12 h leases) and copied afresh for every run.
# Needs root and the peers (shared/tools/setup-peers.sh: kea-dhcp4-server, kea-admin for perfdhcp, dnsmasq-base).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PERFDHCP_VS=${PERFDHCP_VS:-$REPO/../shared/tools/perfdhcp-vs.sh}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
[ -x "$PERFDHCP_VS" ] || { echo "perfdhcp-vs.sh not found at $PERFDHCP_VS (set PERFDHCP_VS)" >&2; exit 1; }

dotnet build -c Release --nologo -v q "$REPO/src/Underlay.Server/Underlay.Server.csproj" >&2
DLL=$REPO/src/Underlay.Server/bin/Release/net10.0/underlayd.dll
WORK=$(mktemp -d "${TMPDIR:-/tmp}/underlay-dhcp-bench.XXXXXX")
chmod 755 "$WORK"
SEED=$WORK/seed
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# Prepare the data directory on loopback with every network service off.
PORT=$(( 20000 + RANDOM % 20000 ))
dotnet "$DLL" --data-dir "$SEED" --listen-address 127.0.0.1 --api-port "$PORT" --static-port $((PORT + 1)) \
  --disable-dhcp --disable-pxe --disable-tftp --disable-metrics >"$WORK/seed.log" 2>&1 &
PID=$!
for _ in $(seq 1 300); do grep -q " ready: " "$WORK/seed.log" 2>/dev/null && break; sleep 0.1; done
curl -sf --cacert "$SEED/tls/server.crt" -u "admin:$(cat "$SEED/secrets/admin-password")" -H 'Content-Type: application/json' \
  -X POST "https://127.0.0.1:$PORT/api/v3/subnets" \
  -d '{"Name":"bench","Subnet":"10.99.0.0/16","ActiveStart":"10.99.1.0","ActiveEnd":"10.99.254.254","ActiveLeaseTime":43200,"ReservedLeaseTime":43200}' >/dev/null
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""

export SERVER_CMD="rm -rf '$WORK/run' && cp -a '$SEED' '$WORK/run' && UNDERLAY_LOG_LEVEL=Warning exec env ${UNDERLAY_ENV:-} dotnet '$DLL' --data-dir '$WORK/run' \
 --listen-address 10.99.0.1 --api-port 8092 --static-port 8091 --disable-tftp --disable-metrics --dhcp-interfaces eth0 --dhcp-probe-timeout 0 ${UNDERLAY_ARGS:-}"
echo "# $(dotnet --version | sed 's/^/dotnet SDK /'), $(dpkg-query -W -f='${Package} ${Version}, ' kea-dhcp4-server kea-admin dnsmasq-base 2>/dev/null)$(nproc) CPUs"
if [ $# -eq 0 ]; then set -- -s "custom kea kea-mt dnsmasq-ro" -r 10000 -p 20 -n 2; fi
"$PERFDHCP_VS" "$@"
