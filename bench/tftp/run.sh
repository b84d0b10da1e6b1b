#!/usr/bin/env bash
# bench/tftp/run.sh - Underlay.Tftp against tftpd-hpa and dnsmasq, in one run on one machine, with real clients.
#
# Part 1: shared/tools/tftp-throughput.sh with SERVERS="custom tftpd-hpa dnsmasq", where "custom" is our
#         tftp-serve host (bench/tftp/Underlay.Tftp.Serve): curl, atftp, busybox and tftp-hpa at every blksize on
#         lo and veth, then 8 and 32 parallel curl (blksize 1468) over veth.
# Part 2: windowsize (tftp-throughput.sh only tries windows against atftpd): atftp at the same blksize with no
#         windowsize and with windowsize 16, one client on lo and veth, then 32 clients at once over veth.
#         Medians of REPEAT runs, plus the server's CPU seconds per run (a cpuacct cgroup, so tftpd-hpa's
#         per-transfer children count too). tftpd-hpa 5.2 and dnsmasq 2.90 ignore windowsize: their windowed
#         rows are lock-step, which is the comparison the issue asks for (">= 4x tftpd-hpa with windowsize 16").
# Summary: MB/s per server and the ratios underlay/tftpd-hpa and underlay/dnsmasq.
#
# Usage (root): bench/tftp/run.sh
#   FILE_MB=50 REPEAT=3 PART1=1 PART2=1 BLKSIZES2="512 1468" CONCURRENCY2=32 (0: skip) SHARED_TOOLS=<dir> OUT=<file>
#   Part 1 also takes tftp-throughput.sh's own knobs (PATHS, BLKSIZES, CONCURRENCY).
# Needs: dotnet SDK, tftpd-hpa, dnsmasq-base, curl, atftp, busybox-static, tftp-hpa (shared/tools/setup-peers.sh).
# Bounded: every transfer runs under `timeout`; servers are killed by PID; namespaces and the cgroup are removed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(git -C "$HERE" rev-parse --show-toplevel)
TOOLS=${SHARED_TOOLS:-$REPO/../shared/tools}
[ -f "$TOOLS/tftp-throughput.sh" ] || { echo "shared tools not found in $TOOLS (set SHARED_TOOLS)" >&2; exit 1; }
TOOLS=$(cd "$TOOLS" && pwd)
FILE_MB=${FILE_MB:-50}
REPEAT=${REPEAT:-3}
BLKSIZES2=${BLKSIZES2:-"512 1468"}
CONCURRENCY2=${CONCURRENCY2:-32}
XFER_TIMEOUT=${XFER_TIMEOUT:-240}
OUT=${OUT:-${TMPDIR:-/tmp}/underlay-tftp-bench-$(date +%Y%m%d-%H%M%S).txt}

# shellcheck source=/dev/null
. "$TOOLS/lib-lab.sh"
lab_need_root
LAB=utb$$-

echo "# building tftp-serve (Release)" >&2
dotnet build -c Release --nologo -v q "$HERE/Underlay.Tftp.Serve/Underlay.Tftp.Serve.csproj" >&2 || exit 1
DLL=$HERE/Underlay.Tftp.Serve/bin/Release/net10.0/tftp-serve.dll
[ -f "$DLL" ] || { echo "build output $DLL missing" >&2; exit 1; }
SERVER_CMD="exec dotnet '$DLL' --root \"\$TFTP_ROOT\" --port 69 --quiet"

{
  echo "# Underlay.Tftp vs tftpd-hpa vs dnsmasq - $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r)"
  echo "# $(dotnet --version 2>/dev/null | sed 's/^/dotnet SDK /'), $(dpkg-query -W -f='${Package} ${Version}, ' tftpd-hpa dnsmasq-base curl atftp 2>/dev/null)"
  echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT"

if [ "${PART1:-1}" = 1 ]; then
  echo "## Part 1: tftp-throughput.sh, FILE_MB=$FILE_MB" | tee -a "$OUT"
  FILE_MB=$FILE_MB SERVERS="custom tftpd-hpa dnsmasq" XFER_TIMEOUT=$XFER_TIMEOUT SERVER_CMD=$SERVER_CMD \
    timeout 3600 "$TOOLS/tftp-throughput.sh" 2>&1 | sed -u 's/^custom   /underlay /' | tee -a "$OUT"
fi

CG=""
cleanup() {
  lab_down
  if [ -n "$CG" ] && [ -d "$CG" ]; then
    sleep 0.3
    rmdir "$CG" 2>/dev/null || true
  fi
}

if [ "${PART2:-1}" = 1 ]; then
  trap cleanup EXIT INT TERM
  lab_tmpdir
  [ "${CPU_AWAKE:-1}" = 1 ] && lab_cpu_awake 3600
  lab_up 1
  ip -n "${LAB}c1" addr add 10.99.0.10/24 dev eth0
  ROOT=$T/root
  mkdir -p "$ROOT"
  head -c $((FILE_MB * 1000000)) /dev/urandom >"$ROOT/blob.bin"
  head -c 2000000 /dev/urandom >"$ROOT/warm.bin"
  chmod -R a+rX "$T"
  SUM=$(md5sum <"$ROOT/blob.bin")

  # Server CPU: a cgroup holds the server and every process it forks (cgroup v1 cpuacct or v2 cpu.stat).
  if [ -d /sys/fs/cgroup/cpuacct ] && mkdir "/sys/fs/cgroup/cpuacct/$LAB" 2>/dev/null; then
    CG=/sys/fs/cgroup/cpuacct/$LAB
    cpu_ns() { cat "$CG/cpuacct.usage"; }
  elif [ -f /sys/fs/cgroup/cgroup.controllers ] && mkdir "/sys/fs/cgroup/$LAB" 2>/dev/null; then
    CG=/sys/fs/cgroup/$LAB
    cpu_ns() { awk '/^usage_usec/ {print $2 * 1000}' "$CG/cpu.stat"; }
  else
    cpu_ns() { echo 0; }
  fi

  start_server() {
    case $1 in
      underlay)  lab_bg "${LAB}srv" "$T/srv.log" env TFTP_ROOT="$ROOT" bash -c "$SERVER_CMD" ;;
      tftpd-hpa) lab_bg "${LAB}srv" "$T/srv.log" /usr/sbin/in.tftpd -L -s -u root "$ROOT" ;;
      dnsmasq)   lab_bg "${LAB}srv" "$T/srv.log" /usr/sbin/dnsmasq -k --conf-file=/dev/null --port=0 \
                   --enable-tftp --tftp-root="$ROOT" --user=root --pid-file= --log-facility=- ;;
    esac
    SPID=$LAB_LAST_PID
    [ -n "$CG" ] && echo "$SPID" >"$CG/cgroup.procs"
    lab_wait_port "${LAB}srv" udp 69 10 || return 1
    # Warm-up, the same for every server: a long-running server is warm; a fresh .NET process is not (JIT).
    local w
    for w in "" "--option windowsize 16"; do
      # shellcheck disable=SC2086
      timeout 30 ip netns exec "${LAB}c1" atftp --tftp-timeout 1 --option "blksize 1468" $w -g -r warm.bin -l "$T/warm.out" 10.99.0.1 >/dev/null 2>&1
    done
    rm -f "$T/warm.out"
  }

  median() { sort -g | awk '{v[NR] = $1} END {print (NR ? v[int((NR + 1) / 2)] : 0)}'; }

  # one_run PATH CLIENTS BLKSIZE WINDOW -> "MB/s cpu_s" (MB/s 0 if any transfer failed)
  one_run() {
    local path=$1 n=$2 bs=$3 win=$4 ns host k t0 t1 c0 c1 good=0 pids=()
    if [ "$path" = lo ]; then ns=${LAB}srv; host=127.0.0.1; else ns=${LAB}c1; host=10.99.0.1; fi
    local opts=(--tftp-timeout 1 --option "blksize $bs" --option "tsize 0")
    [ "$win" != - ] && opts+=(--option "windowsize $win")
    c0=$(cpu_ns); t0=$(date +%s.%N)
    for ((k = 1; k <= n; k++)); do
      timeout "$XFER_TIMEOUT" ip netns exec "$ns" atftp "${opts[@]}" -g -r blob.bin -l "$T/out.$k" "$host" >/dev/null 2>&1 &
      pids+=($!)
    done
    for k in "${pids[@]}"; do wait "$k"; done
    t1=$(date +%s.%N); c1=$(cpu_ns)
    for ((k = 1; k <= n; k++)); do
      [ "$(md5sum <"$T/out.$k" 2>/dev/null)" = "$SUM" ] && good=$((good + 1))
      rm -f "$T/out.$k"
    done
    awk -v n="$n" -v g="$good" -v a="$t0" -v z="$t1" -v mb="$FILE_MB" -v c="$((c1 - c0))" \
      'BEGIN {printf "%.1f %.2f\n", (g == n ? n * mb / (z - a) : 0), c / 1e9}'
  }

  # row SERVER PATH CLIENTS BLKSIZE WINDOW RUNS -> one line: server path clients blksize win MB/s cpu
  row() {
    local srv=$1 path=$2 n=$3 bs=$4 win=$5 runs=$6 r rates=() cpus=()
    for ((r = 0; r < runs; r++)); do
      read -r rate cpu < <(one_run "$path" "$n" "$bs" "$win")
      rates+=("$rate"); cpus+=("$cpu")
    done
    printf '%-9s %-4s %2s x atftp %6s %3s %8.1f MB/s %7.2f s cpu  (runs: %s)\n' "$srv" "$path" "$n" "$bs" "$win" \
      "$(printf '%s\n' "${rates[@]}" | median)" "$(printf '%s\n' "${cpus[@]}" | median)" "${rates[*]}"
  }

  echo "## Part 2: atftp, windowsize 16 vs none at equal blksize, FILE_MB=$FILE_MB, median of $REPEAT" | tee -a "$OUT"
  printf '%-9s %-4s %-10s %6s %3s %13s %10s\n' server path clients blksize win throughput "server cpu" | tee -a "$OUT"
  for srv in underlay tftpd-hpa dnsmasq; do
    start_server "$srv" || { echo "$srv: not started" | tee -a "$OUT"; continue; }
    for path in lo veth; do
      for bs in $BLKSIZES2; do
        row "$srv" "$path" 1 "$bs" - "$REPEAT" | tee -a "$OUT"
        row "$srv" "$path" 1 "$bs" 16 "$REPEAT" | tee -a "$OUT"
      done
    done
    if [ "$CONCURRENCY2" -gt 0 ]; then
      row "$srv" veth "$CONCURRENCY2" 1468 - 1 | tee -a "$OUT"
      row "$srv" veth "$CONCURRENCY2" 1468 16 1 | tee -a "$OUT"
    fi
    lab_kill "$SPID"
  done
fi

# Summary: every row measured for all three servers, with underlay's ratio to each (plain awk + sort: mawk has
# no asorti). Part 2 rows replace Part 1 rows with the same key (they are medians).
summary() {
  printf '%-32s %9s %9s %9s %9s %9s\n' "path clients client blksize win" underlay tftpd-hpa dnsmasq /hpa /dnsmasq
  awk '
    # Part 1 single transfers: server path client blksize win OK time s rate MB/s
    $6 == "OK" && $10 == "MB/s" { key = sprintf("%-4s %2s x %-6s %6s %3s", $2, 1, $3, $4, $5); rate[key, $1] = $9; keys[key] = 1 }
    # Part 1 parallel curl: server veth N x curl blksize g/n ok time s rate MB/s aggregate
    $4 == "x" && $5 == "curl" && $NF == "aggregate" { key = sprintf("%-4s %2s x %-6s %6s %3s", $2, $3, "curl", $6, "-"); rate[key, $1] = $(NF - 2); keys[key] = 1 }
    # Part 2: server path N x atftp blksize win rate MB/s cpu s cpu
    $4 == "x" && $5 == "atftp" && $9 == "MB/s" { key = sprintf("%-4s %2s x %-6s %6s %3s", $2, $3, "atftp", $6, $7); rate[key, $1] = $8; keys[key] = 1 }
    END {
      for (k in keys) {
        u = rate[k, "underlay"]; h = rate[k, "tftpd-hpa"]; d = rate[k, "dnsmasq"]
        if (u == "" || h == "" || d == "") continue
        printf "%-32s %9.1f %9.1f %9.1f %8.2fx %8.2fx\n", k, u, h, d, (h > 0 ? u / h : 0), (d > 0 ? u / d : 0)
      }
    }' "$OUT" | sort
}
echo "## Summary (MB/s; ratio = underlay / other, same run)" | tee -a "$OUT"
summary >"$OUT.summary"
tee -a "$OUT" <"$OUT.summary"
rm -f "$OUT.summary"
echo "# full output: $OUT" >&2
