#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The static binary runs where none of its libraries is installed: in a mount namespace, a
# root (chroot) that holds only the binary, /proc, /sys and one terminfo entry — no libc, no
# ld.so, no /usr. There it prints its version, runs `doctor`, takes whole-system snapshots
# (json, with complete stacks of a busy loop; folded), and draws the live view in tmux
# until q. The dynamically linked build is tried in the same root first and must fail: that
# is what shows the root really lacks the libraries.
#   tests/test_static.sh STATIC_BINARY [DYNAMIC_BINARY]
# or with FLAMETOP_STATIC and FLAMETOP set (meson test). Needs root (mount namespace,
# chroot) and, for the live view, tmux; skips (77) without them.
set -u

static=${1:-${FLAMETOP_STATIC:-}}
dynamic=${2:-${FLAMETOP:-}}
[ -n "$static" ] || { echo "usage: $0 STATIC_BINARY [DYNAMIC_BINARY]"; exit 2; }
[ -x "$static" ] || { echo "FAIL: $static is not an executable"; exit 1; }

if [ "${FLAMETOP_STATIC_INSIDE:-}" != 1 ]; then
	[ "$(id -u)" = 0 ] || { echo "needs root (a mount namespace and chroot): skipping"; exit 77; }
	command -v unshare >/dev/null 2>&1 || { echo "unshare is missing: skipping"; exit 77; }
	FLAMETOP_STATIC_INSIDE=1 exec unshare --mount --propagation private \
		"$BASH" "$0" "$static" "$dynamic"
fi

failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}
root=$(mktemp -d)
sock="flametop-static-$$"
T() { tmux -L "$sock" "$@"; }
busy=
trap '[ -n "$busy" ] && kill $busy 2>/dev/null; T kill-server >/dev/null 2>&1
	umount -R -l "$root" 2>/dev/null; rmdir "$root"' EXIT

# the root: a tmpfs with the binary, /proc and /sys, and the terminfo entry of tmux's TERM
mount -t tmpfs -o mode=0755 flametop-static "$root" || { echo "FAIL: cannot mount tmpfs"; exit 1; }
mkdir -p "$root/proc" "$root/sys" "$root/tmp"
chmod 1777 "$root/tmp"
mount --rbind /proc "$root/proc" && mount --rbind /sys "$root/sys" ||
	{ echo "FAIL: cannot bind /proc and /sys"; exit 1; }
cp "$static" "$root/flametop"
term=tmux-256color
for dir in /etc/terminfo /lib/terminfo /usr/share/terminfo; do
	if [ -f "$dir/${term:0:1}/$term" ]; then
		mkdir -p "$root/usr/share/terminfo/${term:0:1}"
		cp "$dir/${term:0:1}/$term" "$root/usr/share/terminfo/${term:0:1}/"
		break
	fi
done
echo "the root holds:"
(cd "$root" && find . -path ./proc -prune -o -path ./sys -prune -o -type f -print | sed 's/^/  /')

if [ -n "$dynamic" ] && [ -x "$dynamic" ]; then
	cp "$dynamic" "$root/flametop-dynamic"
	if chroot "$root" /flametop-dynamic --version >/dev/null 2>&1; then
		fail "the dynamically linked flametop runs in the root: it is not empty enough to tell"
	else
		echo "ok: the dynamically linked build cannot run there (no ld.so, no libraries)"
	fi
	rm -f "$root/flametop-dynamic"
fi

version=$(chroot "$root" /flametop --version 2>&1) || fail "--version failed: $version"
echo "$version" | grep -q "linked statically" || fail "--version does not say 'linked statically': $version"
echo "$version" | sed 's/^/  /'

doctor=$(chroot "$root" /flametop doctor 2>&1)
rc=$?
echo "$doctor" | sed 's/^/  /'
[ $rc = 0 ] || fail "doctor exits $rc in the root"
echo "$doctor" | grep -qE '^ok +BPF sampler' || fail "doctor: the BPF sampler does not load in the root"

# A whole-system snapshot while a subshell of this script spins: its samples, with stacks walked
# down to _start. A host so overloaded that the ring drops more than it delivers (thousands of
# threads of other work) cannot tell anything about the binary: then only the format is checked.
(
	end=$((SECONDS + 60))
	while [ $SECONDS -lt $end ]; do :; done
) &
busy=$!
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
t0=$(cpu_ticks $busy)
chroot "$root" /flametop snapshot --duration 2 --format json >"$root/tmp/snap.json" \
	2>"$root/tmp/err"
rc=$?
t1=$(cpu_ticks $busy)
kill $busy
wait $busy 2>/dev/null
# what 99 Hz should have caught of the loop while the snapshot ran (its CPU time, in ticks)
expected=$(((t1 - t0) * 99 / $(getconf CLK_TCK)))
[ $rc = 0 ] || fail "snapshot exits $rc in the root: $(cat "$root/tmp/err")"
verdict=$(python3 - "$root/tmp/snap.json" "$busy" "$root/tmp/detail" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
busy = int(sys.argv[2])
mine = [s for s in d["stacks"] if s["pid"] == busy]
n = sum(s["count"] for s in mine)
start = sum(s["count"] for s in mine if s["frames"] and s["frames"][0]["function"] == "_start")
lost = d["lost"]["total"]
# its running time inside the window, as the sched probe measured it (the CPU time read from
# /proc around the whole command also counts the start-up, seconds on a loaded host)
run = sum(t.get("state_ms", {}).get("running", 0) for t in d["threads"] if t["pid"] == busy)
print("overloaded" if lost > d["samples"] else "ok", d["samples"], lost, n, start,
      int(run * 99 / 1000))
# what a failure needs: the loop's busiest stacks, root first, and how the walks went
with open(sys.argv[3], "w") as f:
    f.write("unwind %s %s\n" % (d.get("unwind"), d.get("unwind_stats")))
    for s in sorted(mine, key=lambda s: -s["count"])[:3]:
        f.write("%d: %s\n" % (s["count"], ";".join(
            "%s[%s]" % (fr["function"], fr["kind"]) for fr in s["frames"])))
PY
) || fail "the json snapshot is not valid json: $(head -c 300 "$root/tmp/snap.json")"
read -r state samples lost n start running <<<"$verdict"
# the sched probe's running time in the window, when it ran, is the better measure
[ "${running:-0}" -gt 0 ] && expected=$running
echo "snapshot in the root: $samples samples (lost $lost), $n of the busy subshell" \
	"(~$expected expected from its running time), $start from _start"
if [ "$state" = overloaded ] || [ "$expected" -lt 20 ]; then
	echo "skip: this host is overloaded (ring lost $lost of $((samples + lost)); the loop got" \
		"$((t1 - t0)) ticks of CPU): the counts say nothing"
else
	[ "$n" -ge $((expected / 2)) ] ||
		fail "the snapshot has $n samples of this script's busy loop, ~$expected expected"
	[ "$start" -ge $((n * 9 / 10)) ] ||
		fail "$start of $n stacks of the busy loop reach _start: the static unwinder did not walk them: $(cat "$root/tmp/detail")"
fi
folded=$(chroot "$root" /flametop snapshot --duration 1 --format folded 2>/dev/null) ||
	fail "the folded snapshot failed"
printf '%s\n' "$folded" | grep -v '^$' | grep -qvE ' [0-9]+$' &&
	fail "the folded snapshot has lines that do not end with a count"

# the live view in a real terminal
if command -v tmux >/dev/null 2>&1; then
	T -f /dev/null new-session -d -s t -x 100 -y 30 \
		"env -i TERM=$term $(command -v chroot) '$root' /flametop -d 1; echo EXIT=\$?; sleep 30"
	T set-option -g status off
	shown=0
	for _ in $(seq 50); do
		if T capture-pane -p -t t | grep -qE 'PID +TID'; then
			shown=1
			break
		fi
		sleep 0.2
	done
	screen=$(T capture-pane -p -t t)
	if [ $shown = 1 ]; then
		echo "ok: the live view draws in the root:"
		printf '%s\n' "$screen" | head -n 6 | sed 's/^/  | /'
	else
		fail "the live view did not show its threads table in the root:"
		printf '%s\n' "$screen"
	fi
	T send-keys -t t q
	for _ in $(seq 50); do
		T capture-pane -p -t t | grep -q '^EXIT=' && break
		sleep 0.2
	done
	T capture-pane -p -t t | grep -q '^EXIT=0' ||
		fail "q did not end the live view with status 0: $(T capture-pane -p -t t | grep EXIT=)"
else
	echo "skip: tmux is not installed: the live view is not tried"
fi

[ "$failed" = 0 ] && echo "ok: the static binary runs with only /proc, /sys and a terminfo entry"
exit $failed
