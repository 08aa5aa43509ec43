#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The real flametop binary in a real terminal: tmux runs it, send-keys types, capture-pane reads
# the screen. Checks that the threads view shows the workload's named threads, that 2 shows the
# hot function in the flame view, that Enter/Esc drill in and out, that a resize to 40x10 and
# back leaves the same screen a full repaint gives, that q exits 0 with the prompt back and
# the launched command stopped, that NO_COLOR / LANG=C write no colour and no UTF-8, that
# TERM=dumb is refused with one line, that a --record filling its disk ends with status 1, that
# at -F 100000 the view still answers keys, that the first tick comes early (-d 30), that
# view 5 shows a Go program's goroutine groups live and from its recording, Enter on a group
# opening the process's goroutines in wall time with the group selected, m counting them, s its
# stack, at 80x24 without colour
# (tests/workloads/gofix, when a Go toolchain built it), and, at
# 80x24 without colour, that m switches the flame's metric (cpu, off-cpu, wall) and Enter on a
# thread blocked on a mutex opens its wall-time flame with the lock on it.
# Needs FLAMETOP and FLAMETOP_WORKLOADS (set by meson test); skips (77) without tmux.
set -u

command -v tmux >/dev/null 2>&1 || { echo "tmux is not installed: skipping"; exit 77; }
: "${FLAMETOP:?FLAMETOP is not set}" "${FLAMETOP_WORKLOADS:?FLAMETOP_WORKLOADS is not set}"

sock="flametop-test-$$"
T() { tmux -L "$sock" "$@"; }
trap 'T kill-server >/dev/null 2>&1' EXIT

screen() { T capture-pane -p -t t; }
fail() {
	echo "FAIL: $*"
	echo "--- screen:"
	screen
	[ -n "${ft_pid:-}" ] && ps -o pid,stat,wchan:20,cmd -p "$ft_pid"
	exit 1
}
step() { echo "ok: $*"; }

# wait_for PATTERN [SECONDS]: until the screen matches (extended regex).
wait_for() {
	local deadline=$((SECONDS + ${2:-10}))

	while [ "$SECONDS" -lt "$deadline" ]; do
		screen | grep -qE -- "$1" && return 0
		sleep 0.2
	done
	return 1
}

# The screen with digits masked: the header clock and rates move even while paused.
masked() { screen | sed 's/[0-9]/#/g'; }

# The last non-empty line is the shell prompt.
prompt_back() {
	local deadline=$((SECONDS + ${1:-10}))

	while [ "$SECONDS" -lt "$deadline" ]; do
		[ "$(screen | sed '/^[[:space:]]*$/d' | tail -n 1)" = 'PROMPT$' ] && return 0
		sleep 0.2
	done
	return 1
}

T -f /dev/null new-session -d -s t -x 100 -y 30 \
	"env -i PATH='$PATH' HOME='${HOME:-/root}' TERM=tmux-256color LANG=C.UTF-8 bash --norc --noprofile"
T set-option -g status off
T set-option -g window-size manual
T send-keys -t t "PS1='PROMPT\$ '; clear" Enter
prompt_back 5 || fail "no shell prompt in tmux"

# ---- threads: the named threads of a workload ----
T send-keys -t t "'$FLAMETOP' -- '$FLAMETOP_WORKLOADS/threads_named' 120" Enter
wait_for 'worker-hot' 15 || fail "threads view does not show worker-hot"
wait_for 'worker-warm' 10 || fail "threads view does not show worker-warm"
grep -q . <(screen | grep -E '^ *PID +TID +PROCESS +THREAD +%CPU') ||
	fail "no column header"
step "threads view shows the workload's named threads"

shell_pid=$(T display-message -p -t t '#{pane_pid}')
ft_pid=$(pgrep -P "$shell_pid" | head -n 1)
child_pid=$(pgrep -P "$ft_pid" | head -n 1)
[ -n "$child_pid" ] || fail "cannot find the launched command (flametop pid ${ft_pid:-?})"

# Enter on worker-hot (filtered: on a busy machine the sort by %CPU may put another thread first)
# opens its wall flame, s its stacks; Esc comes back, and back again.
T send-keys -t t / worker-hot Enter
wait_for 'filter: worker-hot' 5 || fail "/ did not filter the threads"
T send-keys -t t Enter
wait_for '^\[wall\] thread worker-hot' 5 || fail "Enter did not open the thread's wall flame"
wait_for 'hot_spin' 5 || fail "the thread's flame does not show hot_spin"
T send-keys -t t s
wait_for 'Stacks of thread worker-hot' 5 || fail "s did not open the thread's stacks"
wait_for 'hot_spin' 5 || fail "the stack view does not show hot_spin"
T send-keys -t t Escape
wait_for '^\[wall\] thread worker-hot' 5 || fail "Esc did not return to the thread's flame"
T send-keys -t t Escape
wait_for '^ *PID +TID' 5 || fail "Esc did not return to the threads view"
T send-keys -t t / C-u Enter
step "Enter/s/Esc drill into a thread's wall flame, its stacks and out"

# ---- flame: the hot function, zoom in and out ----
T send-keys -t t 2
wait_for 'hot_spin' 5 || fail "the flame view does not show hot_spin"
wait_for 'share/s' 5 || fail "the flame view has no history strip"
# Select it by search (the leaf under it may be an inlined helper): / hot_spin Enter, n.
T send-keys -t t / hot_spin Enter n
wait_for '^\[cpu\] +hot_spin +[0-9.]+%' 5 || fail "search and n did not select hot_spin"
T send-keys -t t Enter
wait_for 'zoom: hot_spin' 5 || fail "Enter did not zoom into hot_spin"
T send-keys -t t Escape
sleep 0.5
screen | grep -q 'zoom: hot_spin' && fail "Esc did not zoom out of hot_spin"
step "2 shows hot_spin in the flame; Enter/Esc zoom in and out"

# ---- resize to 40x10 and back ----
T send-keys -t t ' '
wait_for 'PAUSED' 5 || fail "space did not pause"
T resize-window -t t -x 40 -y 10
sleep 1.5
[ "$(screen | head -n 1 | cut -c1-8)" = "flametop" ] || fail "no header at 40x10"
[ "$(screen | LC_ALL=C.UTF-8 wc -L)" -le 40 ] || fail "lines wider than 40 columns at 40x10"
T resize-window -t t -x 12 -y 4
wait_for 'too small' 5 || fail "a tiny terminal does not say it is too small"
T resize-window -t t -x 100 -y 30
sleep 1.5
after_resize=$(masked)
T send-keys -t t C-l
sleep 0.5
repainted=$(masked)
if [ "$after_resize" != "$repainted" ]; then
	diff <(echo "$after_resize") <(echo "$repainted")
	fail "the screen after resizing back differs from a full repaint"
fi
echo "$after_resize" | grep -q 'hot_spin' || fail "the flame is gone after resizing back"
step "resize to 40x10 (and 12x4) and back leaves the screen a repaint gives"

# ---- q quits: status 0, prompt back, command stopped ----
T send-keys -t t q
prompt_back 10 || fail "q did not bring the shell prompt back"
T send-keys -t t 'echo "rc=$?"' Enter
wait_for '^rc=0$' 5 || fail "flametop did not exit with status 0"
for _ in $(seq 50); do
	kill -0 "$child_pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$child_pid" 2>/dev/null && fail "the launched command (pid $child_pid) still runs"
step "q exits with status 0, the prompt is back and the command stopped"

# ---- split31: the known hot function in the flame ----
T send-keys -t t "clear; '$FLAMETOP' -- '$FLAMETOP_WORKLOADS/split31' 120" Enter
wait_for 'split31' 15 || fail "threads view does not show split31"
T send-keys -t t 2
wait_for 'spin_three' 10 || fail "the flame view does not show spin_three"
T send-keys -t t / spin_three Enter n
wait_for '^\[cpu\] +spin_three +[0-9.]+%' 5 || fail "search and n did not select spin_three"
sleep 3
share=$(screen | sed -n 's/^\[cpu\] *spin_three *\([0-9]*\)\.[0-9]*%.*/\1/p' | head -n 1)
[ -n "$share" ] && [ "$share" -ge 50 ] || fail "spin_three has ${share:-?}% of the samples, not ~75%"
T send-keys -t t q
prompt_back 10 || fail "q did not bring the shell prompt back"
step "split31: 2 shows spin_three, with $share% of the samples"

# ---- no colour, no UTF-8: attributes only, ASCII only; Ctrl-C restores the terminal ----
T send-keys -t t "clear; NO_COLOR=1 LANG=C '$FLAMETOP' -- '$FLAMETOP_WORKLOADS/split31' 120" Enter
wait_for 'split31' 15 || fail "threads view does not show split31 without colour and UTF-8"
bytes=$(mktemp)
T pipe-pane -t t -o "cat >>'$bytes'"
T send-keys -t t 2
wait_for 'share/s' 5 || fail "no flame without colour and UTF-8"
sleep 2.5
T pipe-pane -t t
if LC_ALL=C grep -q $'[\x80-\xff]' "$bytes"; then
	rm -f "$bytes"
	fail "non-ASCII bytes were written with LANG=C"
fi
if LC_ALL=C grep -qE $'\x1b\\[[0-9;]*(3[0-9]|4[0-9])[0-9;]*m' "$bytes"; then
	rm -f "$bytes"
	fail "colours were written with NO_COLOR=1"
fi
LC_ALL=C grep -q $'\x1b\\[[0-9;]*7[0-9;]*m' "$bytes" || fail "no reverse video without colour"
rm -f "$bytes"
T send-keys -t t C-c
prompt_back 10 || fail "Ctrl-C did not restore the terminal and bring the prompt back"
step "NO_COLOR and LANG=C: attributes and ASCII only; Ctrl-C restores the terminal"

# ---- -F 100000: keys still work (a drain that never returned froze the view and ignored q) ----
T send-keys -t t "clear; '$FLAMETOP' -F 100000 --unwind fp; echo \"rc=\$?\"" Enter
wait_for 'PID +TID' 20 || fail "-F 100000: the live view did not start"
wait_for '^! warning: -F 100000 is more than' 10 || fail "-F 100000: the view does not say why"
screen | head -n 2 | grep -q ' 100000 Hz' && fail "-F 100000: the header shows the rate not lowered"
T send-keys -t t 2
wait_for 'share/s' 10 || fail "-F 100000: 2 did not switch to the flame view"
T send-keys -t t q
wait_for '^rc=0$' 10 || fail "-F 100000: q did not quit within 10 s"
step "-F 100000: the view answers keys and q quits"

# ---- the first tick is short: with -d 30 the threads show long before 30 s (on a quiet host
# ~0.8 s after start; 20 s leaves room for a loaded one) ----
T send-keys -t t "clear; '$FLAMETOP' -d 30 -p 1; echo \"rc=\$?\"" Enter
wait_for '^Threads [0-9]' 20 || fail "-d 30: no threads before the first 30 s tick"
T send-keys -t t q
wait_for '^rc=0$' 10 || fail "-d 30: q did not quit within 10 s"
step "-d 30: the first tick comes early (threads within 20 s, not 30)"

# ---- TERM=dumb cannot place the cursor: one line that says so, status 1, nothing drawn ----
T send-keys -t t "clear; TERM=dumb '$FLAMETOP' -p 1; echo \"rc=\$?\"" Enter
wait_for '^rc=1$' 10 || fail "TERM=dumb did not end with status 1"
screen | grep -q 'TERM=dumb cannot move the cursor' || fail "TERM=dumb: no message saying why"
screen | grep -q 'PID +TID' && fail "TERM=dumb: the view was drawn anyway"
step "TERM=dumb is refused with one line and status 1"

# ---- a live --record that fills its disk: the view goes on, the exit status says it failed ----
if [ "$(id -u)" = 0 ] && mnt=$(mktemp -d) && mount -t tmpfs -o size=32k tmpfs "$mnt"; then
	trap 'T kill-server >/dev/null 2>&1; umount -l "$mnt" 2>/dev/null; rmdir "$mnt"' EXIT
	T send-keys -t t "clear; '$FLAMETOP' -F 499 --record '$mnt/live.ftr'; echo \"rc=\$?\"" Enter
	wait_for 'PID +TID' 15 || fail "--record: the live view did not start"
	wait_for 'recording stopped' 60 || fail "--record: a full disk was not reported in the view"
	T send-keys -t t q
	wait_for '^rc=1$' 10 || fail "--record on a full disk: the exit status is not 1"
	screen | grep -q 'No space left on device' ||
		fail "--record on a full disk: the reason is not printed after exit"
	step "a live --record that fills its disk: reported in the view, exit status 1"
else
	echo "skip: no small tmpfs for the full-disk --record (needs root and mount)"
fi
# ---- view 5: a Go program's goroutines, live and replayed, at 80x24 without colour ----
gofix=
for v in 1.23 1.22 1.21 1.19; do
	[ -x "$FLAMETOP_WORKLOADS/gofix-$v" ] && gofix="$FLAMETOP_WORKLOADS/gofix-$v" && break
done
if [ -n "$gofix" ]; then
	T resize-window -t t -x 80 -y 24
	rec=$(mktemp -u /tmp/flametop-go-XXXXXX.ftr)
	bytes=$(mktemp)
	T send-keys -t t "clear; NO_COLOR=1 '$FLAMETOP' --record '$rec' -- '$gofix' -seconds 60 -grow 0; echo \"rc=\$?\"" Enter
	wait_for 'PID +TID' 20 || fail "Go: the live view did not start"
	T pipe-pane -t t -o "cat >>'$bytes'"
	T send-keys -t t 5
	wait_for 'Goroutines +gofix' 15 || fail "Go: 5 does not show the goroutines view"
	wait_for ' 1000 .* chan receive .*main\.chanWaiter' 15 ||
		fail "Go: the 1000 goroutines in a channel receive are not a group"
	screen | grep -qE 'sync\.Mutex\.Lock|semacquire' || fail "Go: the mutex waiters are missing"
	wait_for 'EnterFlame sStack cSort' 5 || fail "Go: the key bar does not offer Enter Flame, s Stack"
	# the biggest group (the 1000 chanWaiters) is selected: Enter opens the process's goroutines
	# in wall time with its [chan receive] selected, most of the process's goroutine time
	T send-keys -t t Enter
	wait_for '^\[wall\] goroutines of gofix[^ ]* \([0-9]+\) +\[chan receive\] +[0-9.]+% +[0-9.]+k?s' 10 ||
		fail "Go: Enter does not open the goroutines' wall flame on the group"
	screen | grep -q 'main\.chanWaiter' || fail "Go: the goroutine flame has no main.chanWaiter"
	share=$(screen | sed -n '1,5s/^\[wall\] goroutines of .*\[chan receive\] *\([0-9]*\)\..*/\1/p')
	[ -n "$share" ] && [ "$share" -ge 80 ] ||
		fail "Go: the chanWaiters are ${share:-?}% of the goroutine time, not most of it"
	T send-keys -t t m
	wait_for '^\[count\] goroutines of gofix[^ ]* \([0-9]+\) +\[chan receive\] +[0-9.]+% +1000 goroutines' 10 ||
		fail "Go: m does not count the group's 1000 goroutines"
	T send-keys -t t s
	wait_for 'Created by main\.startWaiters' 10 ||
		fail "Go: s does not open the group's stack with its creator"
	T send-keys -t t Escape
	wait_for '^\[count\] goroutines of gofix' 10 || fail "Go: Esc does not go back to the flame"
	T send-keys -t t Escape
	wait_for 'CHANGE/m' 10 || fail "Go: Esc does not go back to the goroutines view"
	T send-keys -t t s
	wait_for 'Created by main\.startWaiters' 10 ||
		fail "Go: s in view 5 does not open the group's stack with its creator"
	[ "$(screen | LC_ALL=C.UTF-8 wc -L)" -le 80 ] || fail "Go: lines wider than 80 columns"
	T pipe-pane -t t
	if LC_ALL=C grep -qE $'\x1b\\[[0-9;]*(3[0-9]|4[0-9])[0-9;]*m' "$bytes"; then
		rm -f "$bytes"
		fail "Go: colours were written with NO_COLOR=1"
	fi
	rm -f "$bytes"
	T send-keys -t t q
	wait_for '^rc=0$' 15 || fail "Go: q did not quit"
	step "Go: view 5 shows the goroutine groups; Enter opens the goroutines' wall flame on the group (chanWaiters $share%), m counts them, s the stack (80x24, no colour)"
	T send-keys -t t "clear; NO_COLOR=1 '$FLAMETOP' replay '$rec'; echo \"rc=\$?\"" Enter
	wait_for 'PID +TID' 20 || fail "Go: the replay did not start"
	T send-keys -t t 5
	wait_for ' 1000 .* chan receive' 15 || fail "Go: the replay's view 5 has no groups"
	T send-keys -t t Enter
	wait_for '^\[wall\] goroutines of gofix' 10 || fail "Go: the replay's Enter has no goroutine flame"
	T send-keys -t t q
	wait_for '^rc=0$' 15 || fail "Go: q did not quit the replay"
	rm -f "$rec"
	step "Go: the recording replays view 5 and the goroutine flame"
else
	echo "skip: no Go fixture built (no Go toolchain under /usr/lib/go-1.NN)"
fi

# ---- where a blocked thread's time goes: metrics and the wall flame, 80x24, no colour ----
# The wallsplit workload's workers spend a quarter of each 200 ms on a mutex (wait_turn), run at
# SCHED_FIFO so that the machine's other work does not shift it (tests/workloads/wallsplit.c).
T resize-window -t t -x 80 -y 24
io_dir=$(mktemp -d "${FLAMETOP_TEST_BUILD:-/tmp}/tmux-wall-XXXXXX")
trap 'T kill-server >/dev/null 2>&1; rm -rf "$io_dir"
	[ -n "${mnt:-}" ] && { umount -l "$mnt" 2>/dev/null; rmdir "$mnt"; }' EXIT
T send-keys -t t "clear; NO_COLOR=1 '$FLAMETOP' --min-block 20 -- '$FLAMETOP_WORKLOADS/wallsplit' 120 '$io_dir' 2 rt" Enter
wait_for 'worker-0' 15 || fail "threads view does not show wallsplit's workers"
bytes=$(mktemp)
T pipe-pane -t t -o "cat >>'$bytes'"
# 2, then m: cpu, off-cpu (the mutex wait is a [lock] leaf under wait_turn), wall, cpu
T send-keys -t t 2
wait_for '^\[cpu\]' 5 || fail "the flame view does not say its metric is cpu"
wait_for 'EnterZoom EscOut mMetric' 5 || fail "the key bar does not show m Metric"
T send-keys -t t m
wait_for '^\[off-cpu\]' 5 || fail "m did not switch the flame to off-cpu"
T send-keys -t t / wait_turn Enter n
wait_for '^\[off-cpu\] +wait_turn +[0-9.]+%' 5 || fail "no wait_turn in the off-cpu flame"
screen | grep -q '\[lock\]' || fail "the off-cpu flame has no [lock] leaf"
T send-keys -t t m
wait_for '^\[wall\] +wait_turn +[0-9.]+%' 5 || fail "m did not switch the flame to wall"
wait_for '\[running\]' 5 || fail "the wall flame has no [running] leaf"
T send-keys -t t m
wait_for '^\[cpu\]' 5 || fail "m did not cycle back to cpu"
step "m cycles the flame's metric: cpu, off-cpu ([lock] under wait_turn), wall, cpu"
# The threads, filtered to a worker: Enter opens its wall flame; the title says where its time
# went, a quarter of it on the lock.
T send-keys -t t Escape 1 / worker-0 Enter
wait_for '^ *[0-9]+ +[0-9]+ +(wallsplit +)?worker-0' 10 || fail "the filter does not show worker-0"
T send-keys -t t Enter
wait_for '^\[wall\] thread worker-0 \([0-9]+\) +[0-9.]+m?s: ' 10 ||
	fail "Enter on worker-0 did not open its wall flame"
sleep 3
title=$(screen | grep -m1 '^\[wall\] thread worker-0')
lock=$(echo "$title" | sed -n 's/.* lock \([0-9]*\)%.*/\1/p')
[ -n "$lock" ] && [ "$lock" -ge 15 ] && [ "$lock" -le 35 ] ||
	fail "worker-0 spends ${lock:-?}% on the lock, not ~25%: $title"
screen | grep -q '\[lock\]' || fail "the wall flame of worker-0 has no [lock]"
screen | grep -q 'wait_turn' || fail "the wall flame of worker-0 has no wait_turn"
[ "$(screen | LC_ALL=C.UTF-8 wc -L)" -le 80 ] || fail "lines wider than 80 columns"
T pipe-pane -t t
if LC_ALL=C grep -qE $'\x1b\\[[0-9;]*(3[0-9]|4[0-9])[0-9;]*m' "$bytes"; then
	rm -f "$bytes"
	fail "colours were written with NO_COLOR=1"
fi
rm -f "$bytes"
step "Enter on the blocked worker-0 opens its wall flame: lock $lock% ($title)"
T send-keys -t t q
prompt_back 10 || fail "q did not bring the shell prompt back"
echo "PASS"
