#!/usr/bin/env bash
# bench/api/run.sh - /api/v3 read throughput and server memory with N machines in the store, driven by wrk.
#
# For each N in MACHINES: a fresh Release underlayd on loopback (SQLite, every network service off) is loaded with
# N machines through the API, left to settle, then measured:
#   - RSS at rest (VmRSS of the server process) with N machines;
#   - single-object GET /api/v3/machines/<uuid> (a random machine per request), wrk with CONNECTIONS connections;
#   - a filtered list: GET /api/v3/machines?Name=Re(^m00042)&limit=50 (a regular-expression scan of every machine);
#   - req/s and p99 latency for each, as wrk reports them.
# Requests carry a bearer token (as agents and the CLI do); TLS is on, as in production.
#
# Usage (root, for the apt install of wrk): bench/api/run.sh
#   MACHINES="10000" DURATION=15 CONNECTIONS=32 THREADS=2 LOAD_TIMEOUT=900 OUT=<file.json>
# Machines are loaded by bench/Underlay.BootStorm in its load mode (a name, a MAC and a param each).
# Prints a table and writes JSON lines (one per N) to OUT.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
MACHINES=${MACHINES:-10000}
DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-900}
OUT=${OUT:-${TMPDIR:-/tmp}/underlay-api-bench-$(date +%Y%m%d-%H%M%S).json}

command -v wrk >/dev/null || { [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }

echo "# building underlayd and boot-storm (Release)" >&2
if [ "${NO_BUILD:-0}" != 1 ]; then  # bench/run builds once and sets NO_BUILD=1
  dotnet build -c Release --nologo -v q "$REPO/src/Underlay.Server/Underlay.Server.csproj" >&2
  dotnet build -c Release --nologo -v q "$REPO/bench/Underlay.BootStorm/Underlay.BootStorm.csproj" >&2
fi
DLL=$REPO/src/Underlay.Server/bin/Release/net10.0/underlayd.dll
STORM=$REPO/bench/Underlay.BootStorm/bin/Release/net10.0/boot-storm.dll
WORK=$(mktemp -d "${TMPDIR:-/tmp}/underlay-api-bench.XXXXXX")
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
cpu_s() { awk '{printf "%.2f", ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }

# wrk's --latency output -> "req/s p99_ms"
wrk_figures() {
  awk '/Requests\/sec:/ {rps=$2}
       /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; p99=v}
       END {printf "%.0f %.2f\n", rps, p99}'
}

: > "$OUT"
printf '%-8s %12s %14s %10s %12s %10s %12s\n' machines "rss_MB" "KB/machine" "get_rps" "get_p99_ms" "list_rps" "list_p99_ms"
base_rss=""
for n in $MACHINES; do
  data=$WORK/data-$n
  port=$(( 20000 + RANDOM % 20000 ))
  UNDERLAY_LOG_LEVEL=Warning dotnet "$DLL" --data-dir "$data" --listen-address 127.0.0.1 --api-port "$port" --static-port $((port + 1)) \
    --disable-dhcp --disable-pxe --disable-tftp --disable-provisioner --disable-metrics >"$WORK/server-$n.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 900); do [ -s "$data/secrets/admin-password" ] && curl -sf --max-time 2 --cacert "$data/tls/server.crt" "https://127.0.0.1:$port/api/v3/info" -o /dev/null -u "admin:$(cat "$data/secrets/admin-password")" && break; sleep 0.2; done
  kill -0 "$PID" 2>/dev/null && [ -s "$data/secrets/admin-password" ] || { echo "underlayd did not start" >&2; cat "$WORK/server-$n.log" >&2; exit 1; }
  endpoint="https://127.0.0.1:$port/api/v3"
  token=$(curl -sf --cacert "$data/tls/server.crt" -u "admin:$(cat "$data/secrets/admin-password")" "$endpoint/users/admin/token?ttl=3600" | sed -E 's/.*"Token":"([^"]+)".*/\1/')
  [ -z "$base_rss" ] && base_rss=$(rss_kb "$PID")
  empty_rss=$(rss_kb "$PID")

  # Load N machines through the API (boot-storm's load mode: 32 requests in flight, one pooled client).
  timeout -k 5 "$LOAD_TIMEOUT" dotnet "$STORM" --mode load --machines "$n" --api "https://127.0.0.1:$port" \
    --password-file "$data/secrets/admin-password" --cert "$data/tls/server.crt" --uuids "$WORK/uuids" >"$WORK/load-$n.json" \
    || { echo "loading $n machines failed" >&2; exit 1; }
  count=$(curl -sf -I --cacert "$data/tls/server.crt" -H "Authorization: Bearer $token" "$endpoint/machines?limit=1" | awk -F': ' 'tolower($1)=="x-drp-list-total-count" {print $2+0}')
  [ "$count" = "$n" ] || { echo "loaded $count machines, wanted $n" >&2; exit 1; }

  sleep 3  # let the writer and the GC settle: RSS at rest
  rest_rss=$(rss_kb "$PID")
  per_machine=$(( (rest_rss - empty_rss) * 1000 / n ))

  cat > "$WORK/get.lua" <<EOF
local uuids = {}
for line in io.lines("$WORK/uuids") do uuids[#uuids + 1] = line end
math.randomseed(42)
wrk.headers["Authorization"] = "Bearer $token"
request = function()
  return wrk.format("GET", "/api/v3/machines/" .. uuids[math.random(#uuids)])
end
EOF
  cpu0=$(cpu_s "$PID")
  read -r get_rps get_p99 < <(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/get.lua" "https://127.0.0.1:$port" | tee "$WORK/wrk-get-$n.txt" | wrk_figures)
  cpu1=$(cpu_s "$PID")
  read -r list_rps list_p99 < <(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Authorization: Bearer $token" \
    "https://127.0.0.1:$port/api/v3/machines?Name=Re(%5Em00042)&limit=50" | tee "$WORK/wrk-list-$n.txt" | wrk_figures)
  peak_rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$PID/status")
  get_cpu_us=$(awk -v a="$cpu0" -v b="$cpu1" -v r="$get_rps" -v d="$DURATION" 'BEGIN {printf "%.1f", (b - a) * 1e6 / (r * d)}')

  printf '%-8s %12.1f %14.2f %10s %12s %10s %12s\n' "$n" "$(echo "$rest_rss / 1024" | bc -l)" "$(echo "$per_machine / 1000" | bc -l)" "$get_rps" "$get_p99" "$list_rps" "$list_p99"
  printf '{"machines":%d,"rss_empty_kb":%d,"rss_rest_kb":%d,"rss_peak_kb":%d,"kb_per_machine":%.2f,"get_rps":%d,"get_p99_ms":%s,"get_cpu_us":%s,"list_rps":%d,"list_p99_ms":%s,"connections":%d,"duration_s":%d}\n' \
    "$n" "$empty_rss" "$rest_rss" "$peak_rss" "$(echo "$per_machine / 1000" | bc -l)" "$get_rps" "$get_p99" "$get_cpu_us" "$list_rps" "$list_p99" "$CONNECTIONS" "$DURATION" >> "$OUT"

  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  rm -rf "$data"
done
echo "# results: $OUT" >&2
