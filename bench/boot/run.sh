#!/usr/bin/env bash
# bench/boot/run.sh - underlayd's boot-file services against the reference servers, in one run on one machine.
#
# HTTP (port 8091's job, here on 10.99.0.1:8080 in a lab namespace): nginx (sendfile on) and underlayd each serve
#   vmlinuz (the test kernel, ~8 MB) and initrd.img (INITRD_MB, default 50 MB, random). From a client namespace,
#   curl fetches each file RUNS times one after another, then PARALLEL clients fetch initrd.img at once. MB/s are
#   medians; the ratio is underlayd/nginx.
# TFTP: shared/tools/tftp-throughput.sh with SERVERS="custom tftpd-hpa dnsmasq", where custom is underlayd
#   (TFTP from its file root); windowsize rows come from bench/tftp/run.sh (PART2), which drives the same
#   Underlay.Tftp server code through its bench host. TFTP=0 skips this part.
#
# Usage (root): bench/boot/run.sh      knobs: CONFIG=Release|Debug INITRD_MB=50 RUNS=5 PARALLEL=8 TFTP=1 SHARED_TOOLS=<dir>
# Needs: dotnet SDK, nginx, curl (+ tftp-throughput.sh's peers: tftpd-hpa dnsmasq-base atftp busybox-static tftp-hpa).
# Bounded: every fetch runs under curl --max-time; servers are killed by PID; the lab namespaces are removed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(git -C "$HERE" rev-parse --show-toplevel)
TOOLS=${SHARED_TOOLS:-$REPO/../shared/tools}
[ -f "$TOOLS/lib-lab.sh" ] || { echo "shared tools not found in $TOOLS (set SHARED_TOOLS)" >&2; exit 1; }
TOOLS=$(cd "$TOOLS" && pwd)
CONFIG=${CONFIG:-Release}; INITRD_MB=${INITRD_MB:-50}; RUNS=${RUNS:-5}; PARALLEL=${PARALLEL:-8}; TFTP=${TFTP:-1}
. "$TOOLS/lib-lab.sh"
lab_need_root
LAB=bb$$-
trap lab_down EXIT; trap "exit 130" INT TERM
lab_tmpdir

DLL=$REPO/src/Underlay.Server/bin/$CONFIG/net10.0/underlayd.dll
if [ ! -f "$DLL" ] || [ "$CONFIG" = Release ]; then
  lab_log "building underlayd ($CONFIG)"
  dotnet build "$REPO/src/Underlay.Server" -c "$CONFIG" -v quiet -nologo >/dev/null || exit 1
fi

[ "${CPU_AWAKE:-1}" = 1 ] && lab_cpu_awake 900
lab_up 1
ip -n "${LAB}c1" addr add 10.99.0.10/24 dev eth0
ip -n "${LAB}c1" link set eth0 up

R=$T/data/tftpboot; mkdir -p "$R" "$T/nginx"
kernel=$(ls "$REPO"/.cache/underlay-boot-tests/vmlinuz /boot/vmlinuz-* 2>/dev/null | head -1)
if [ -n "$kernel" ]; then cp -L "$kernel" "$R/vmlinuz"; else head -c 8388608 /dev/urandom >"$R/vmlinuz"; fi
head -c $((INITRD_MB * 1048576)) /dev/urandom >"$R/initrd.img"
chmod -R a+rX "$T"

# fetch NAME : median MB/s of RUNS sequential fetches, then aggregate MB/s of PARALLEL concurrent fetches of initrd.img
measure() {
  local label=$1 file rates=() size t0 t1 i
  for file in vmlinuz initrd.img; do
    size=$(stat -c %s "$R/$file"); rates=()
    for ((i = 0; i < RUNS; i++)); do
      r=$(ip netns exec "${LAB}c1" curl -s --max-time 120 -o /dev/null -w '%{speed_download}' "http://10.99.0.1:8080/$file")
      rates+=("$(echo "$r / 1048576" | bc -l)")
    done
    printf '%s %s %.1f\n' "$label" "$file" "$(printf '%s\n' "${rates[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  done
  size=$(stat -c %s "$R/initrd.img")
  local pids=()
  t0=$(date +%s.%N)
  for ((i = 0; i < PARALLEL; i++)); do
    ip netns exec "${LAB}c1" curl -s --max-time 300 -o /dev/null "http://10.99.0.1:8080/initrd.img" &
    pids+=($!)
  done
  # Only the curls: a bare `wait` would also wait for the server started in the background.
  wait "${pids[@]}"
  t1=$(date +%s.%N)
  printf '%s initrd.img-x%d %.1f\n' "$label" "$PARALLEL" "$(echo "$size * $PARALLEL / 1048576 / ($t1 - $t0)" | bc -l)"
}

cat >"$T/nginx/nginx.conf" <<NGINX
worker_processes auto;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off; sendfile on; tcp_nopush on;
  client_body_temp_path $T/nginx/body; proxy_temp_path $T/nginx/proxy;
  fastcgi_temp_path $T/nginx/fastcgi; uwsgi_temp_path $T/nginx/uwsgi; scgi_temp_path $T/nginx/scgi;
  server { listen 10.99.0.1:8080; root $R; default_type application/octet-stream; }
}
NGINX
results=$T/http.txt
lab_log "HTTP: nginx"
lab_bg "${LAB}srv" "$T/nginx.log" nginx -e "$T/nginx/error.log" -p "$T/nginx" -c "$T/nginx/nginx.conf"
pid=$LAB_LAST_PID
lab_wait_port "${LAB}srv" tcp 8080 10 || { cat "$T/nginx.log"; exit 1; }
measure nginx >>"$results"
lab_kill "$pid"

lab_log "HTTP: underlayd ($CONFIG)"
lab_bg "${LAB}srv" "$T/underlayd.log" env UNDERLAY_LOG_LEVEL=Warning dotnet "$DLL" --data-dir "$T/data" --listen-address 10.99.0.1 \
  --api-port 8092 --static-port 8080 --disable-dhcp --disable-pxe --disable-tftp --disable-metrics
pid=$LAB_LAST_PID
lab_wait_port "${LAB}srv" tcp 8080 60 || { cat "$T/underlayd.log"; exit 1; }
measure underlayd >>"$results"
lab_kill "$pid"

echo "HTTP download, MB/s (median of $RUNS sequential fetches; x$PARALLEL = aggregate of $PARALLEL concurrent):"
printf '  %-16s %10s %10s %8s\n' file nginx underlayd ratio
for f in vmlinuz initrd.img "initrd.img-x$PARALLEL"; do
  n=$(awk -v f="$f" '$1 == "nginx" && $2 == f {print $3}' "$results")
  u=$(awk -v f="$f" '$1 == "underlayd" && $2 == f {print $3}' "$results")
  printf '  %-16s %10s %10s %8.2f\n' "$f" "$n" "$u" "$(echo "$u / $n" | bc -l)"
done

if [ "$TFTP" = 1 ]; then
  lab_down; trap - EXIT INT TERM
  lab_log "TFTP: tftp-throughput.sh with underlayd as the custom server"
  SERVERS="custom tftpd-hpa dnsmasq" \
  SERVER_CMD="mkdir -p \$TFTP_ROOT/../ud && ln -sfn \$TFTP_ROOT \$TFTP_ROOT/../ud/tftpboot && exec dotnet $DLL --data-dir \$TFTP_ROOT/../ud --listen-address 0.0.0.0 --api-port 8092 --static-port 8091 --disable-dhcp --disable-pxe --disable-metrics" \
    bash "$TOOLS/tftp-throughput.sh"
fi
