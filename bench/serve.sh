#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# flametop serve's cost, measured side by side in one run (figures: README, "Benchmarks"):
#
#  1. steady CPU: `flametop serve` (scraped once a second, as a harsh Prometheus would) and the
#     live view (tmux, 120x40, refresh 1 s) of the whole system, running at the same time for
#     SECONDS on a host with N extra processes (bench/procs: each wakes every 100 ms and spins);
#     each one's CPU time from /proc/PID/stat over the same interval;
#  2. a scrape: SCRAPES requests of /metrics in a row; the HTTP thread's CPU time (the thread
#     whose CPU grew with the requests: libmicrohttpd's) per request, the wall time per request,
#     and the exposition's size and series;
#  3. five whole-system profiles of the last 60 s: the loop's time building each
#     (flametop_http_profile_build_seconds_total), during which it does not drain the probes.
#
#   bench/serve.sh [N] [SECONDS] [SCRAPES]      (default 300 60 200; root: BPF; tmux, curl)
#   FLAMETOP=build/cli/flametop bench/serve.sh
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-300}
seconds=${2:-60}
scrapes=${3:-200}
flametop=${FLAMETOP:-build/cli/flametop}
bench=${FLAMETOP_BENCH:-build/bench}
for t in tmux curl; do
	command -v $t >/dev/null || { echo "serve: $t is not installed (contrib/deps.sh)" >&2; exit 1; }
done
[ -x "$flametop" ] || { echo "serve: no $flametop: build first (contrib/build.sh)" >&2; exit 1; }
flametop=$(realpath "$flametop")
hz=$(getconf CLK_TCK)

tmp=$(mktemp -d)
sock="serve-bench-$$"
T() { tmux -L "$sock" "$@"; }
cleanup() {
	T kill-server >/dev/null 2>&1 || true
	[ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null || true
	[ -n "${procs_pid:-}" ] && kill "$procs_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

cpu() { awk -v hz="$hz" '{ sub(/.*\) /, ""); split($0, f, " "); print (f[12] + f[13]) / hz }' "$1"; }

"$bench/procs" "$n" & procs_pid=$!
"$flametop" serve --listen 127.0.0.1:0 2>"$tmp/serve.err" & serve_pid=$!
T -f /dev/null new-session -d -s m -x 120 -y 40 "env TERM=tmux-256color LANG=C.UTF-8 $flametop"
T set-option -g status off
for _ in $(seq 100); do
	grep -q "serving http" "$tmp/serve.err" && break
	sleep 0.2
done
url=$(sed -n 's/.*serving \(http:[^ ]*\) .*/\1/p' "$tmp/serve.err")
[ -n "$url" ] || { echo "serve: flametop serve did not start: $(cat "$tmp/serve.err")" >&2; exit 1; }
sleep 10 # both started, the processes seen
live_pid=$(pgrep -P "$(T display-message -p -t m '#{pane_pid}')" -x flametop || T display-message -p -t m '#{pane_pid}')

s0=$(cpu /proc/$serve_pid/stat)
l0=$(cpu /proc/$live_pid/stat)
t0=$(date +%s.%N)
end=$(echo "$t0 + $seconds" | bc)
while [ "$(echo "$(date +%s.%N) < $end" | bc)" = 1 ]; do
	curl -s -o /dev/null "${url}metrics"
	sleep 1
done
t1=$(date +%s.%N)
s1=$(cpu /proc/$serve_pid/stat)
l1=$(cpu /proc/$live_pid/stat)
pids=(/proc/[0-9]*)
procs=${#pids[@]}
printf 'steady CPU over %.0f s, %d processes on the host (-F 99, whole system):\n' \
	"$(echo "$t1 - $t0" | bc)" "$procs"
printf '  flametop serve, scraped every second: %5.2f %% of a CPU\n' \
	"$(echo "100 * ($s1 - $s0) / ($t1 - $t0)" | bc -l)"
printf '  flametop live view (tmux 120x40):      %5.2f %% of a CPU\n' \
	"$(echo "100 * ($l1 - $l0) / ($t1 - $t0)" | bc -l)"

# one scrape: the exposition, then SCRAPES of them, per thread
curl -s -o "$tmp/metrics" "${url}metrics"
series=$(grep -vc '^#' "$tmp/metrics")
dropped=$(awk '/^flametop_series_dropped / { print $2 }' "$tmp/metrics")
shown=$(grep -c '^flametop_cpu_seconds_total{' "$tmp/metrics")
for f in /proc/$serve_pid/task/*/stat; do echo "$f $(cpu "$f")"; done >"$tmp/before"
w0=$(date +%s.%N)
for _ in $(seq "$scrapes"); do curl -s -o /dev/null "${url}metrics"; done
w1=$(date +%s.%N)
for f in /proc/$serve_pid/task/*/stat; do echo "$f $(cpu "$f")"; done >"$tmp/after"
# the HTTP thread: of the threads other than the loop's (the main thread: its CPU grows by the
# ticks), the one whose CPU grew most
read -r tid grew < <(join "$tmp/before" "$tmp/after" | while read -r f a b; do
	t=${f%/stat}
	[ "${t##*/}" = "$serve_pid" ] || echo "${t##*/} $(echo "$b - $a" | bc -l)"
done | sort -k2 -g -r | head -1)
loop=$(join "$tmp/before" "$tmp/after" | awk -v f="/proc/$serve_pid/task/$serve_pid/stat" \
	'$1 == f { print $3 - $2 }')
printf 'a scrape of /metrics: %d series (%d processes shown, %s dropped), %d bytes\n' \
	"$series" "$shown" "${dropped:-0}" "$(wc -c <"$tmp/metrics")"
printf '  %d scrapes in a row: %.2f ms of the HTTP thread'"'"'s CPU each (tid %s), %.2f ms wall each;\n' \
	"$scrapes" "$(echo "1000 * $grew / $scrapes" | bc -l)" "$tid" \
	"$(echo "1000 * ($w1 - $w0) / $scrapes" | bc -l)"
printf '  the loop meanwhile (ticks: probes, model, the metrics'"'"' snapshots): %.2f s of CPU in %.1f s\n' \
	"$loop" "$(echo "$w1 - $w0" | bc -l)"

# a whole-system profile of the last 60 s: the loop's time building it (not draining meanwhile)
b0=$(curl -s "${url}metrics" | awk '/^flametop_http_profile_build_seconds_total / { print $2 }')
n0=$(curl -s "${url}metrics" | awk '/^flametop_http_profiles_total / { print $2 }')
for _ in 1 2 3 4 5; do curl -s -o "$tmp/profile" "${url}debug/pprof/profile?seconds=60"; done
b1=$(curl -s "${url}metrics" | awk '/^flametop_http_profile_build_seconds_total / { print $2 }')
n1=$(curl -s "${url}metrics" | awk '/^flametop_http_profiles_total / { print $2 }')
printf 'a whole-system profile of the last 60 s: %.1f ms of the loop each (%d built), %d bytes\n' \
	"$(echo "1000 * ($b1 - $b0) / ($n1 - $n0)" | bc -l)" "$((n1 - n0))" "$(wc -c <"$tmp/profile")"
