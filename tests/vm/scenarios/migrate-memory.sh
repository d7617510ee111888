#!/bin/bash
# ferry-vm: hosts=2
# migrate-memory: `ferry migrate` moves a running process with 32 MiB of
# known content (a 1 MiB hot window rewritten continuously) from host a to
# host b. Checked: the process verifies itself on b (every page's header,
# generation and body match its own generation table, the generations sum
# to its write counter: no page lost or stale), it keeps running and
# writing on b, the copy on a is gone, ferry's JSON report has the integer
# fields the issue asks for, and CRIU's final dump took pages from ferry's
# parent images (pages_skipped_parent > 0) instead of dumping everything.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
PORT=7900
W=$FERRY_PROGS/mig_workload

if [ "$FERRY_ROLE" = b ]; then
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT" --once --dir /var/tmp \
		2>"$FERRY_OUT/receive.log" &
	rpid=$!
	wait_port "$PORT"
	barrier ready
	barrier migrated 600
	rc=0
	wait $rpid || rc=$?
	cat "$FERRY_OUT/receive.log"
	assert_eq "$rc" 0 "ferry receive --once exit status"
	grep -q "restored by the waiting CRIU worker" "$FERRY_OUT/receive.log" ||
		fail "the restore did not go through the CRIU worker (criu swrk)"
	pid=$(cat "$FERRY_SHARED/pid")
	kill -0 "$pid" || fail "migrated process $pid does not run on b"
	v=$(workload_verify "$pid" /tmp/mig.pid.verify)
	echo "after migration: $v"
	case $v in OK*) ;; *) fail "verification on b: $v" ;; esac
	before=$(sed -n 's/.*writes=\([0-9]*\).*/\1/p' "$FERRY_SHARED/verify.before")
	after=$(echo "$v" | sed -n 's/.*writes=\([0-9]*\).*/\1/p')
	[ "$after" -gt "$before" ] || fail "writes did not advance: $before -> $after"
	# still writing on b
	sleep 1
	v2=$(workload_verify "$pid" /tmp/mig.pid.verify)
	case $v2 in OK*) ;; *) fail "second verification on b: $v2" ;; esac
	after2=$(echo "$v2" | sed -n 's/.*writes=\([0-9]*\).*/\1/p')
	[ "$after2" -gt "$after" ] || fail "process does not run on b: $after -> $after2"
	echo "ok: still running on b ($after -> $after2 writes)"
	kill -9 "$pid"
	barrier checked
	exit 0
fi

# role a: the source. High PIDs so the restored PID is free on b.
echo 30000 >/proc/sys/kernel/ns_last_pid
cd /
rm -f /tmp/mig.pid /tmp/mig.pid.verify	# nothing of an earlier scenario
setsid "$W" 32 256 /tmp/mig.pid </dev/null >/dev/null 2>&1 &
for i in $(seq 300); do [ -s /tmp/mig.pid ] && break; sleep 0.1; done
pid=$(cat /tmp/mig.pid)
v=$(workload_verify "$pid" /tmp/mig.pid.verify)
echo "before migration: $v"
case $v in OK*) ;; *) fail "verification before migration: $v" ;; esac
cp /tmp/mig.pid.verify "$FERRY_SHARED/verify.before"
echo "$pid" >"$FERRY_SHARED/pid"
sleep 1
barrier ready
rc=0
"$FERRY_BIN" migrate "$pid" --to "$FERRY_PEER_IP:$PORT" --max-downtime 300 --max-rounds 6 \
	--json >"$FERRY_OUT/report.json" 2>"$FERRY_OUT/migrate.log" || rc=$?
cat "$FERRY_OUT/migrate.log"
cat "$FERRY_OUT/report.json"
barrier migrated
assert_eq "$rc" 0 "ferry migrate exit status"
for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "source process $pid still exists on a"
r=$(cat "$FERRY_OUT/report.json")
for k in downtime_ms total_ms rounds precopy_wire_bytes final.pages_skipped_parent; do
	val=$(jq_get "$r" "$k")
	[[ "$val" =~ ^[0-9]+$ ]] || fail "report field $k is not an integer: '$val'"
	echo "ok: $k = $val"
done
[ "$(jq_get "$r" final.pages_skipped_parent)" -gt 1000 ] ||
	fail "CRIU did not use ferry's parent images (pages_skipped_parent too small)"
barrier checked
