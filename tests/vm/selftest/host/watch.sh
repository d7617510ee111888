#!/bin/bash
# The console watcher (tests/vm/lib/watch.py) against consoles written here
# as a guest would write them, no QEMU: a stand-in process plays each
# guest, writes its console piece by piece (lines cut in the middle, escape
# sequences, CR LF) and then ends or waits like a hung guest. Checks that
# a crash is found with its cause, that a crashed job ends within seconds
# (a waiting peer stopped too), that a WARN's trace is extracted from "cut
# here" to "end trace", and that a guest whose peer ended gets only its
# grace period, that a guest that never starts a script is stopped as a
# boot hang, and that a CPU stuck past 120 s counts as a crash. Run by make check; prints "watch-selftest: N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
watch=$here/../../lib/watch.py
tmp=$(mktemp -d)
guests=()
trap 'for p in "${guests[@]}"; do kill "$p" 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
check() {	# check WHAT CMD...
	local what=$1; shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}

# feed FILE: copy lines from stdin to FILE with CR LF, every 5th in colour
# codes, every 10th cut in two writes far enough apart for the watcher to
# read the first half alone (it must join partial lines).
feed() {
	local out=$1 line i=0
	while IFS= read -r line; do
		i=$((i + 1))
		[ $((i % 5)) = 0 ] && line=$'\e[1;31m'"$line"$'\e[0m'
		if [ $((i % 10)) = 3 ]; then
			printf '%s' "${line:0:12}" >>"$out"
			sleep 0.7
			line=${line:12}
		fi
		printf '%s\r\n' "$line" >>"$out"
	done
}

# guest JOB ROLE THEN <lines: a stand-in guest that writes its console from
# stdin, then ends (THEN=end) or waits to be stopped (THEN=hang); its pid
# is in $gpid.
guest() {
	local job=$1 role=$2 then=$3
	cat >"$job/feed-$role"	# an async list's stdin would be /dev/null
	(
		feed "$job/console-$role.log" <"$job/feed-$role"
		[ "$then" = hang ] && exec sleep 300
	) &
	gpid=$!
	guests+=("$gpid")
}

# run_watch JOB ARGS...: the watcher, its output in JOB/out, its exit status
# in $wrc and how long it ran in $wsecs.
run_watch() {
	local job=$1 t0; shift
	t0=$(date +%s)
	python3 "$watch" --kver test --job "$job" "$@" >"$job/out" 2>&1
	wrc=$?
	wsecs=$(( $(date +%s) - t0 ))
}
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); exec("print(" + sys.argv[2] + ")")' "$@"; }

echo "== a recorded Oops (6.12 demo crash), the guest hangs afterwards"
job=$tmp/oops; mkdir -p "$job"
guest "$job" a hang <"$here/oops-6.12.console"
run_watch "$job" --scripts 1 a="$gpid"
check "exit status 3 (crash)" [ "$wrc" = 3 ]
check "crash-a.txt starts with the Oops line" \
	grep -qx 'Oops: general protection fault, probably for non-canonical address 0xa76ee0d800000b3: 0000 \[#1\] PREEMPT SMP NOPTI' <(head -n1 "$job/crash-a.txt")
check "crash-a.txt has the call trace and the panic" \
	grep -q 'skb_copy_bits+0x136/0x250' "$job/crash-a.txt"
check "... and the panic line" grep -q 'Kernel panic - not syncing: Fatal exception in interrupt' "$job/crash-a.txt"
check "no escape sequence or CR left in the trace" bash -c "! grep -q \$'[\\e\\r]' '$job/crash-a.txt'"
check "the trace was printed with kernel and role" grep -q '^vm\[test a\] | \[   56.270266\]  skb_copy_bits' "$job/out"
check "the crash was announced with its scenario" grep -q '^vm\[test a\] KERNEL CRASH during demo: Oops: general protection fault' "$job/out"
check "the hung guest was stopped" bash -c "! kill -0 $gpid 2>/dev/null"
check "the job ended within 10 s of the crash" \
	[ "$(json "$job/watch.json" 'd["crash_to_end_s"] <= 10')" = True ]
check "the watcher ran less than 30 s (console written in ~6 s)" [ "$wsecs" -lt 30 ]

echo "== a WARN in role a, both guests pass and end"
job=$tmp/warn; mkdir -p "$job"
guest "$job" a end <<'EOF'
[    3.000000] virtio_net virtio0 eth0: renamed
guest[a]: running s1
[    9.100000] ------------[ cut here ]------------
[    9.100001] WARNING: CPU: 1 PID: 99 at kmod/dirty.c:123 ferry_scan+0x12/0x40 [ferry]
[    9.100002] Modules linked in: ferry(OE)
[    9.100003] Call Trace:
[    9.100004]  <TASK>
[    9.100005]  ferry_scan+0x12/0x40 [ferry]
[    9.100006]  </TASK>
[    9.100007] ---[ end trace 0000000000000000 ]---
[    9.200000] ferry: harmless line after the trace
guest[a]: FAIL s1 (4s) kernel log: WARNING: CPU: 1 PID: 99 at kmod/dirty.c:123
guest[a]: running s2
guest[a]: PASS s2 (1s)
[   12.000000] reboot: Power down
EOF
ga=$gpid
guest "$job" b end <<'EOF'
guest[b]: running s1
guest[b]: PASS s1 (4s)
guest[b]: running s2
guest[b]: PASS s2 (1s)
EOF
run_watch "$job" --scripts 2 a="$ga" b="$gpid"
check "exit status 0 (no crash)" [ "$wrc" = 0 ]
check "no crash file" [ ! -e "$job/crash-a.txt" -a ! -e "$job/crash-b.txt" ]
check "traces-a.txt is the trace from 'cut here' to 'end trace'" \
	bash -c "grep -o '\\] .*' '$job/traces-a.txt' | sed -n '1p;\$p' | tr '\\n' '|' | grep -qx '\\] ------------\\[ cut here \\]------------|\\] ---\\[ end trace 0000000000000000 \\]---|'"
check "the line after the trace is not in it" bash -c "! grep -q harmless '$job/traces-a.txt'"
check "the WARN was announced during s1" grep -q '^vm\[test a\] kernel trace (WARNING) during s1, console-a.log:' "$job/out"
check "verdicts printed as they came" grep -q '^vm\[test b\] PASS s2 (1s)' "$job/out"
check "the guest's own FAIL line did not count as a trace" \
	[ "$(grep -c 'kernel trace' "$job/out")" = 1 ]

echo "== a panic in role a while role b waits at a barrier"
job=$tmp/panic; mkdir -p "$job"
guest "$job" a end <<'EOF'
guest[a]: running xfail-kernel-panic
[   20.000000] sysrq: Trigger a crash
[   20.000001] Kernel panic - not syncing: sysrq triggered crash
[   20.000002] CPU: 0 UID: 0 PID: 1 Comm: bash Not tainted 6.12.0 #1
[   20.000003] Kernel Offset: 0x1000000 from 0xffffffff81000000
EOF
ga=$gpid
guest "$job" b hang <<'EOF'
guest[b]: running xfail-kernel-panic
EOF
run_watch "$job" --scripts 1 a="$ga" b="$gpid"
check "exit status 3" [ "$wrc" = 3 ]
check "cause: the panic line" grep -qx 'Kernel panic - not syncing: sysrq triggered crash' <(head -n1 "$job/crash-a.txt")
check "the waiting peer was stopped for it" \
	[ "$(json "$job/watch.json" 'd["roles"]["b"]["stopped"]')" = "the guest kernel crashed on a" ]
check "the job ended within 10 s of the crash" [ "$(json "$job/watch.json" 'd["crash_to_end_s"] <= 10')" = True ]
check "the scenario cut short is known" [ "$(json "$job/watch.json" 'd["roles"]["a"]["running"]')" = xfail-kernel-panic ]

echo "== role a ends, role b hangs: grace period, status lines"
job=$tmp/grace; mkdir -p "$job"
guest "$job" a end <<'EOF'
guest[a]: running s1
guest[a]: PASS s1 (1s)
EOF
ga=$gpid
guest "$job" b hang <<'EOF'
guest[b]: running s1
EOF
run_watch "$job" --scripts 1 --grace 3 --every 1 a="$ga" b="$gpid"
check "exit status 0" [ "$wrc" = 0 ]
check "b stopped after the grace period" grep -q '^vm\[test b\] stopping the guest: still running 3s after its peer ended' "$job/out"
check "status lines name what runs" grep -Eq '^vm\[test\] [0-9]+s: a: ended, b: s1 for [0-9]+s \(1 of 1\)' "$job/out"
check "the watcher ended within 15 s" [ "$wsecs" -lt 15 ]

echo "== role b hangs in its boot (never starts a script), role a runs one"
job=$tmp/boothang; mkdir -p "$job"
guest "$job" a hang <<'EOF'
guest[a]: running s1
EOF
ga=$gpid
guest "$job" b hang <<'EOF'
[    0.020000] tsc: Unable to calibrate against PIT
[   22.857171] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
EOF
run_watch "$job" --scripts 1 --boot-limit 3 a="$ga" b="$gpid"
check "exit status 4 (boot hang)" [ "$wrc" = 4 ]
check "the hung role is named" [ "$(json "$job/watch.json" 'd["boot_hang"]')" = b ]
check "both guests were stopped for it" \
	[ "$(json "$job/watch.json" 'd["roles"]["a"]["stopped"]')" = "b did not come up within 3s (boot hang)" ]
check "the watcher ended within 15 s" [ "$wsecs" -lt 15 ]

echo "== a CPU stuck for good (soft lockup reported past 120 s): as good as a crash"
job=$tmp/wedged; mkdir -p "$job"
guest "$job" a hang <<'EOF'
guest[a]: running s1
[  352.649446] watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [dirty_untracked:810]
[  352.650922] RIP: 0010:smp_call_function_many_cond+0xf1/0x330
[  380.651048] watchdog: BUG: soft lockup - CPU#1 stuck for 52s! [dirty_untracked:810]
[  408.648901] watchdog: BUG: soft lockup - CPU#1 stuck for 78s! [dirty_untracked:810]
[  436.649031] watchdog: BUG: soft lockup - CPU#1 stuck for 104s! [dirty_untracked:810]
[  464.648948] watchdog: BUG: soft lockup - CPU#1 stuck for 130s! [dirty_untracked:810]
[  464.650000] RIP: 0010:smp_call_function_many_cond+0xf1/0x330
EOF
run_watch "$job" --scripts 1 a="$gpid"
check "exit status 3 (crashed)" [ "$wrc" = 3 ]
check "cause: the 130 s soft lockup" grep -q 'soft lockup - CPU#1 stuck for 130s' <(head -n1 "$job/crash-a.txt")
check "the earlier reports did not end the job" [ "$(grep -c 'KERNEL CRASH' "$job/out")" = 1 ]
check "the watcher ended within 25 s" [ "$wsecs" -lt 25 ]

echo "== a double fault (CI, 6.12, migrate-tcp): the trace starts at its PANIC line"
# Written here in 6.12's format (arch/x86/kernel/traps.c): the "PANIC:
# double fault" line with the error code comes before die()'s Oops line,
# and the error code is lost if the trace starts at the Oops.
job=$tmp/dfault; mkdir -p "$job"
guest "$job" a hang <<'CONSOLE'
guest[a]: running migrate-tcp
[  812.401122] traps: PANIC: double fault, error_code: 0x0
[  812.401530] Oops: double fault: 0000 [#1] PREEMPT SMP NOPTI
[  812.401871] CPU: 0 UID: 0 PID: 30072 Comm: tcp_stream Tainted: G           OE      6.12.118+deb12-amd64 #1  Debian 6.12.118-1~deb12u1
[  812.402310] RIP: 0010:asm_exc_page_fault+0x0/0x30
[  812.402711] RSP: 0018:ffffb3d5c0f47ff8 EFLAGS: 00010046
[  812.403900] Call Trace:
[  812.404011]  <#DF>
[  812.404102]  </#DF>
[  812.404399] Kernel panic - not syncing: Fatal exception in interrupt
[  812.404901] ---[ end Kernel panic - not syncing: Fatal exception in interrupt ]---
CONSOLE
run_watch "$job" --scripts 1 a="$gpid"
check "exit status 3 (crash)" [ "$wrc" = 3 ]
check "the cause is the die() line" grep -qx 'Oops: double fault: 0000 \[#1\] PREEMPT SMP NOPTI' <(head -n1 "$job/crash-a.txt")
check "the trace starts at the PANIC line, with the error code" \
	grep -qx '\[  812.401122\] traps: PANIC: double fault, error_code: 0x0' <(sed -n 3p "$job/crash-a.txt")
check "... and has the RIP" grep -q 'RIP: 0010:asm_exc_page_fault' "$job/crash-a.txt"

echo "watch-selftest: $passed passed, $failed failed"
[ $failed = 0 ]
