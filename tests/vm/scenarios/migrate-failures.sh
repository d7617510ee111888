#!/bin/bash
# ferry-vm: hosts=2
# migrate-failures: a migration that cannot finish leaves exactly one live
# copy -- the source, running and unchanged. Three cases, each with a
# process holding 8 MiB of known content on host a:
#  1. its executable is missing on b: pre-flight fails before anything is
#     frozen, exit status 3, the message names the missing file;
#  2. the receiver on b is killed during pre-copy: ferry migrate fails;
#  3. CRIU restore fails on b (an invalid restore option, so `criu restore`
#     runs): the tree, which CRIU left stopped after the dump, is resumed;
#  4. the tree's PID is taken on b during pre-copy, so the restore through
#     the CRIU worker (criu swrk) fails: the source is resumed, CRIU's
#     reason reaches the user, the worker is gone from b afterwards;
#  5. the receiver is killed (SIGKILL, server and session) while CRIU
#     restores on b, held there by a CRIU action script at pre-resume:
#     `criu restore` dies with its session, the guard kills the restored
#     tree and records "not restored"; the source, which lost its
#     connection after COMMIT, asks again and resumes once a restarted
#     receiver answers from that record;
#  6. the link is cut during pre-copy (b's interface goes down): both ends
#     give up within their timeouts instead of hanging, the source runs on;
#  7. ferry migrate gets SIGINT (Ctrl-C) while b restores (held at
#     pre-resume by an action script until the source has asked): it asks
#     b to undo, b kills the restored tree, the source resumes;
#  8. the tree's PID is already in use on b: pre-flight names it (exit 3)
#     before anything is frozen.
# After each case the process on a must run (state not T, its write counter
# advances) and pass its own page verification, and no copy runs on b.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
W=$FERRY_PROGS/mig_workload

if [ "$FERRY_ROLE" = b ]; then
	# a failing case must not leave the link down for the next scenario
	trap 'ip link set "$FERRY_NETDEV" up 2>/dev/null || true' EXIT
	# case 1
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:7911" --once 2>"$FERRY_OUT/r1.log" &
	r=$!; wait_port 7911; barrier c1
	wait $r || true
	cat "$FERRY_OUT/r1.log"
	grep -q "missing" "$FERRY_OUT/r1.log" || fail "receiver did not report the missing file"
	# case 2
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:7912" --once 2>"$FERRY_OUT/r2.log" &
	r=$!; wait_port 7912; barrier c2
	# at once: the source's `criu check` and a 32 MiB first round follow
	# (seconds under TCG); a second's wait here once let a loaded machine
	# reach the restore first (then the outcome is unknown: exit 7)
	for i in $(seq 600); do grep -q "pre-flight passed" "$FERRY_OUT/r2.log" && break; sleep 0.1; done
	kill_receiver $r
	echo "receiver killed during pre-copy"
	barrier c2done
	# case 3 (the receiver killed in case 2 could not clean up after itself)
	ls /var/tmp >/tmp/before3
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:7913" --once \
		--criu-arg=--no-such-criu-option 2>"$FERRY_OUT/r3.log" &
	r=$!; wait_port 7913; barrier c3
	rc=0; wait $r || rc=$?
	cat "$FERRY_OUT/r3.log"
	assert_eq "$rc" 1 "receive exit status after a failed restore"
	pid=$(cat "$FERRY_SHARED/pid")
	kill -0 "$pid" 2>/dev/null && fail "a copy of $pid runs on b"
	ls /var/tmp | diff /tmp/before3 - || fail "receiver left its directory behind"
	# case 4: take the tree's PID once pre-copy has begun
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:7914" --once 2>"$FERRY_OUT/r4.log" &
	r=$!; wait_port 7914; barrier c4
	pid=$(cat "$FERRY_SHARED/pid")
	for i in $(seq 600); do grep -q "pre-flight" "$FERRY_OUT/r4.log" && break; sleep 0.1; done
	# the receiver starts its worker after pre-flight: let that fork first
	for i in $(seq 300); do pgrep -f "criu swrk" >/dev/null && break; sleep 0.1; done
	echo $((pid - 1)) >/proc/sys/kernel/ns_last_pid
	sleep 600 &
	taker=$!
	[ "$taker" = "$pid" ] || fail "could not take pid $pid on b (got $taker)"
	# b's own processes go back far below a's (from 30000), whose next
	# trees must find their PIDs free here
	echo 5000 >/proc/sys/kernel/ns_last_pid
	rc=0; wait $r || rc=$?
	cat "$FERRY_OUT/r4.log"
	assert_eq "$rc" 1 "receive exit status after a failed worker restore"
	grep -q "criu restore failed" "$FERRY_OUT/r4.log" || fail "receiver did not report CRIU's failure"
	assert_eq "$(cat /proc/$pid/comm)" sleep "pid $pid on b still the process that took it"
	pgrep -f "criu swrk" && fail "a CRIU worker outlived the receiver"
	ls /var/tmp | diff /tmp/before3 - || fail "receiver left its directory behind"
	kill "$taker"
	# case 5: kill the receiver while CRIU restores. A CRIU action script
	# holds the restore at pre-resume (the tree restored here, not yet
	# running) until the test has killed the receiver: no race with the
	# restore's end. (--criu-arg makes the receiver run `criu restore`,
	# which must die with its session.)
	hold_hook c5
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:7915" --once --no-lazy \
		--criu-arg=--action-script=/tmp/c5-hook.sh 2>"$FERRY_OUT/r5.log" &
	r=$!; wait_port 7915; barrier c5
	pid=$(cat "$FERRY_SHARED/pid")
	wait_held c5 "$r" "$FERRY_OUT/r5.log"
	[ -e "/proc/$pid" ] || fail "CRIU is at pre-resume, but no process $pid on b"
	echo "restore held at pre-resume; the receiver's processes:"
	ps -eo pid,ppid,pgid,stat,args | grep -E "[f]erry|[c]riu|^ *$pid "
	kill_receiver $r
	kill -0 "$r" 2>/dev/null && fail "the receiver's server ($r) survived SIGKILL"
	echo "receiver killed during the restore"
	for i in $(seq 100); do grep -q "restored tree was killed" "$FERRY_OUT/r5.log" && break; sleep 0.1; done
	cat "$FERRY_OUT/r5.log"
	grep -q "restored tree was killed" "$FERRY_OUT/r5.log" || fail "the guard did not act"
	sleep 1
	kill -0 "$pid" 2>/dev/null && fail "a copy of $pid runs on b after the receiver died"
	pgrep -a criu && fail "a CRIU process outlived the receiver"
	pgrep -f c5-hook.sh && fail "CRIU's action script outlived CRIU"
	# restarted (as a service manager would): it answers the source's
	# outcome query from the record the guard left
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:7915" 2>"$FERRY_OUT/r5b.log" &
	r=$!
	barrier c5done 120
	kill $r; wait $r || true
	cat "$FERRY_OUT/r5b.log"
	grep -q "outcome query .* answered not restored" "$FERRY_OUT/r5b.log" ||
		fail "the restarted receiver did not answer 'not restored'"
	# case 6: cut the link once pre-copy runs
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:7916" --once 2>"$FERRY_OUT/r6.log" &
	r=$!; wait_port 7916; barrier c6
	for i in $(seq 600); do grep -q "pre-flight" "$FERRY_OUT/r6.log" && break; sleep 0.1; done
	sleep 1
	ip link set "$FERRY_NETDEV" down
	echo "link down at $(date +%T)"
	rc=0; wait $r || rc=$?
	echo "receiver ended at $(date +%T)"
	cat "$FERRY_OUT/r6.log"
	assert_eq "$rc" 1 "receive exit status after the link was cut"
	barrier c6a 300
	ip link set "$FERRY_NETDEV" up
	# case 7: hold the restore at pre-resume (as in case 5) until the
	# source, interrupted meanwhile, has asked for the undo
	hold_hook c7
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:7917" --once --no-lazy \
		--criu-arg=--action-script=/tmp/c7-hook.sh 2>"$FERRY_OUT/r7.log" &
	r=$!; wait_port 7917; barrier c7
	pid=$(cat "$FERRY_SHARED/pid")
	wait_held c7 "$r" "$FERRY_OUT/r7.log"
	: >"$FERRY_SHARED/restoring"
	barrier c7asked 120
	touch /tmp/c7-release
	rc=0; wait $r || rc=$?
	cat "$FERRY_OUT/r7.log"
	assert_eq "$rc" 1 "receive exit status when the source aborts during the restore"
	grep -q "source aborted during the restore" "$FERRY_OUT/r7.log" ||
		fail "the receiver did not undo the restore on the source's request"
	sleep 1
	kill -0 "$pid" 2>/dev/null && fail "a copy of $pid runs on b after the abort"
	# case 8: the PID is taken before the migration starts
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:7918" --once 2>"$FERRY_OUT/r8.log" &
	r=$!; wait_port 7918
	barrier c8pid
	pid=$(cat "$FERRY_SHARED/pid")
	echo $((pid - 1)) >/proc/sys/kernel/ns_last_pid
	sleep 600 &
	taker=$!
	[ "$taker" = "$pid" ] || fail "could not take pid $pid on b (got $taker)"
	# b's own processes go back far below a's (from 30000), whose next
	# trees must find their PIDs free here
	echo 5000 >/proc/sys/kernel/ns_last_pid
	barrier c8
	rc=0; wait $r || rc=$?
	cat "$FERRY_OUT/r8.log"
	grep -q "PID $pid of the tree is in use here" "$FERRY_OUT/r8.log" ||
		fail "the receiver did not name the taken PID"
	kill "$taker"
	barrier done
	exit 0
fi

# role a
echo 30000 >/proc/sys/kernel/ns_last_pid
cd /
check_source() {	# PID CASE: running, not stopped, verifies, advancing
	local pid=$1 st v w1 w2
	kill -0 "$pid" || fail "$2: source process is gone"
	st=$(awk '{print $3}' "/proc/$pid/stat")
	[ "$st" != T ] || fail "$2: source process left stopped"
	v=$(workload_verify "$pid" "$3.verify"); case $v in OK*) ;; *) fail "$2: verification: $v" ;; esac
	w1=$(echo "$v" | sed -n 's/.*writes=\([0-9]*\).*/\1/p')
	sleep 1
	w2=$(workload_verify "$pid" "$3.verify" | sed -n 's/.*writes=\([0-9]*\).*/\1/p')
	[ "$w2" -gt "$w1" ] || fail "$2: source does not run ($w1 -> $w2 writes)"
	echo "ok: $2: source runs unchanged ($v)"
}
start() {	# BINARY PIDFILE MIB: a workload; prints its pid, shares it with b
	rm -f "$2"
	# compressible content ("z"): pre-copy is quicker than with random
	setsid "$1" "$3" 64 "$2" z </dev/null >/dev/null 2>&1 &
	for i in $(seq 600); do [ -s "$2" ] && break; sleep 0.1; done
	cat "$2" | tee "$FERRY_SHARED/pid"
}
# CASE PORT PID STATUS WHAT [TEXT...]: ferry migrate exits with STATUS and
# its output holds every TEXT (grep patterns)
migrate_fails() {
	local n=$1 port=$2 pid=$3 want=$4 what=$5 rc=0
	shift 5
	"$FERRY_BIN" migrate "$pid" --to "$FERRY_PEER_IP:$port" 2>"$FERRY_OUT/m$n.log" || rc=$?
	cat "$FERRY_OUT/m$n.log"
	assert_eq "$rc" "$want" "migrate exit status when $what"
	for t in "$@"; do
		grep -q "$t" "$FERRY_OUT/m$n.log" || fail "case $n: no '$t' in ferry migrate's output"
	done
}

# 1. executable missing on b
cp "$W" /tmp/mig_wl_copy
pid=$(start /tmp/mig_wl_copy /tmp/c1.pid 8)
barrier c1
migrate_fails 1 7911 "$pid" 3 "an executable is missing" "missing: /tmp/mig_wl_copy"
check_source "$pid" case1 /tmp/c1.pid
kill -9 "$pid"

# 2. receiver killed during pre-copy (32 MiB so that round 0 takes a while)
pid=$(start "$W" /tmp/c2.pid 32)
barrier c2
migrate_fails 2 7912 "$pid" 1 "the receiver dies"
barrier c2done
check_source "$pid" case2 /tmp/c2.pid
kill -9 "$pid"

# 3. restore fails on b: the frozen source is resumed
pid=$(start "$W" /tmp/c3.pid 8)
barrier c3
migrate_fails 3 7913 "$pid" 1 "the restore fails" "criu restore failed" "runs here again"
check_source "$pid" case3 /tmp/c3.pid
kill -9 "$pid"

# 4. the PID is taken on b during pre-copy: the worker's restore fails
pid=$(start "$W" /tmp/c4.pid 32)
barrier c4
migrate_fails 4 7914 "$pid" 1 "the worker's restore fails" "criu restore failed" \
	"runs here again"
check_source "$pid" case4 /tmp/c4.pid
kill -9 "$pid"

# 5. the receiver is killed during the restore
pid=$(start "$W" /tmp/c5.pid 32)
barrier c5
migrate_fails 5 7915 "$pid" 1 "the receiver dies in the restore" "runs here again"
barrier c5done
check_source "$pid" case5 /tmp/c5.pid
kill -9 "$pid"

# 6. the link is cut during pre-copy
pid=$(start "$W" /tmp/c6.pid 128)
barrier c6
t0=$(date +%s)
migrate_fails 6 7916 "$pid" 1 "the link is cut" "stopped answering"
echo "migrate gave up after $(( $(date +%s) - t0 )) s"
check_source "$pid" case6 /tmp/c6.pid
kill -9 "$pid"
barrier c6a

# 7. Ctrl-C while b restores
pid=$(start "$W" /tmp/c7.pid 8)
barrier c7
"$FERRY_BIN" migrate "$pid" --to "$FERRY_PEER_IP:7917" 2>"$FERRY_OUT/m7.log" &
mp=$!
for i in $(seq 6000); do [ -e "$FERRY_SHARED/restoring" ] && break; sleep 0.05; done
kill -INT "$mp"
for i in $(seq 300); do grep -q "asking .* to undo the restore" "$FERRY_OUT/m7.log" && break; sleep 0.1; done
barrier c7asked
rc=0; wait "$mp" || rc=$?
cat "$FERRY_OUT/m7.log"
assert_eq "$rc" 1 "migrate exit status when interrupted during the restore"
grep -q "asking .* to undo the restore" "$FERRY_OUT/m7.log" || fail "no undo request reported"
grep -q "runs here again" "$FERRY_OUT/m7.log" || fail "source not reported resumed"
check_source "$pid" case7 /tmp/c7.pid
kill -9 "$pid"

# 8. the PID is in use on b from the start: pre-flight refuses
pid=$(start "$W" /tmp/c8.pid 8)
barrier c8pid
barrier c8
migrate_fails 8 7918 "$pid" 3 "the tree's PID is taken on b" "PID taken: PID $pid of the tree"
check_source "$pid" case8 /tmp/c8.pid
kill -9 "$pid"
ls /tmp | grep -q ferry-migrate && fail "migrate left its work directory behind"
barrier done
