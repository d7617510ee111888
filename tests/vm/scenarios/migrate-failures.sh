#!/bin/bash
# ferry-vm: hosts=2
# migrate-failures: a migration that cannot finish leaves exactly one live
# copy -- the source, running and unchanged. Three cases, each with a
# process holding 8 MiB of known content on host a:
#  1. its executable is missing on b: pre-flight fails before anything is
#     frozen, exit status 3, the message names the missing file;
#  2. the receiver on b is killed during pre-copy: ferry migrate fails;
#  3. CRIU restore fails on b (an invalid restore option): the tree, which
#     CRIU left stopped after the dump, is resumed.
# After each case the process on a must run (state not T, its write counter
# advances) and pass its own page verification, and no copy runs on b.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
W=$FERRY_PROGS/mig_workload

wait_port() {
	for i in $(seq 100); do ss -ltn | grep -q ":$1 " && return 0; sleep 0.1; done
	fail "nothing listens on port $1"
}

if [ "$FERRY_ROLE" = b ]; then
	# case 1
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:7911" --once 2>"$FERRY_OUT/r1.log" &
	r=$!; wait_port 7911; barrier c1
	wait $r || true
	cat "$FERRY_OUT/r1.log"
	grep -q "missing" "$FERRY_OUT/r1.log" || fail "receiver did not report the missing file"
	# case 2
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:7912" --once 2>"$FERRY_OUT/r2.log" &
	r=$!; wait_port 7912; barrier c2
	for i in $(seq 600); do grep -q "pre-flight" "$FERRY_OUT/r2.log" && break; sleep 0.1; done
	sleep 1
	kill -9 $r
	wait $r || true
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
	rm -f "$3.verify"; kill -USR1 "$pid"
	for i in $(seq 300); do [ -s "$3.verify" ] && break; sleep 0.1; done
	v=$(cat "$3.verify"); case $v in OK*) ;; *) fail "$2: verification: $v" ;; esac
	w1=$(echo "$v" | sed -n 's/.*writes=\([0-9]*\).*/\1/p')
	sleep 1; rm -f "$3.verify"; kill -USR1 "$pid"
	for i in $(seq 300); do [ -s "$3.verify" ] && break; sleep 0.1; done
	w2=$(sed -n 's/.*writes=\([0-9]*\).*/\1/p' "$3.verify")
	[ "$w2" -gt "$w1" ] || fail "$2: source does not run ($w1 -> $w2 writes)"
	echo "ok: $2: source runs unchanged ($v)"
}
start() {	# BINARY PIDFILE
	rm -f "$2"
	setsid "$1" 8 64 "$2" </dev/null >/dev/null 2>&1 &
	for i in $(seq 300); do [ -s "$2" ] && break; sleep 0.1; done
	cat "$2"
}

# 1. executable missing on b
cp "$W" /tmp/mig_wl_copy
pid=$(start /tmp/mig_wl_copy /tmp/c1.pid)
barrier c1
rc=0
"$FERRY_BIN" migrate "$pid" --to "$FERRY_PEER_IP:7911" 2>"$FERRY_OUT/m1.log" || rc=$?
cat "$FERRY_OUT/m1.log"
assert_eq "$rc" 3 "migrate exit status with a missing executable"
grep -q "missing: /tmp/mig_wl_copy" "$FERRY_OUT/m1.log" || fail "missing file not named"
check_source "$pid" case1 /tmp/c1.pid
kill -9 "$pid"

# 2. receiver killed during pre-copy (32 MiB so that round 0 takes a while)
rm -f /tmp/c2.pid
setsid "$W" 32 64 /tmp/c2.pid </dev/null >/dev/null 2>&1 &
for i in $(seq 300); do [ -s /tmp/c2.pid ] && break; sleep 0.1; done
pid=$(cat /tmp/c2.pid)
barrier c2
rc=0
"$FERRY_BIN" migrate "$pid" --to "$FERRY_PEER_IP:7912" 2>"$FERRY_OUT/m2.log" || rc=$?
cat "$FERRY_OUT/m2.log"
assert_eq "$rc" 1 "migrate exit status when the receiver dies"
barrier c2done
check_source "$pid" case2 /tmp/c2.pid
kill -9 "$pid"

# 3. restore fails on b: the frozen source is resumed
pid=$(start "$W" /tmp/c3.pid)
echo "$pid" >"$FERRY_SHARED/pid"
barrier c3
rc=0
"$FERRY_BIN" migrate "$pid" --to "$FERRY_PEER_IP:7913" 2>"$FERRY_OUT/m3.log" || rc=$?
cat "$FERRY_OUT/m3.log"
assert_eq "$rc" 1 "migrate exit status when the restore fails"
grep -q "criu restore failed" "$FERRY_OUT/m3.log" || fail "restore failure not reported"
grep -q "runs here again" "$FERRY_OUT/m3.log" || fail "source not reported resumed"
check_source "$pid" case3 /tmp/c3.pid
kill -9 "$pid"
ls /tmp | grep -q ferry-migrate && fail "migrate left its work directory behind"
barrier done
