#!/bin/bash
# ferry-vm: hosts=2
# migrate-hugetlb: `ferry migrate` moves a running process whose 8 MiB of
# known content live in hugetlb memory (MAP_HUGETLB), a 256 KiB window of
# it rewritten continuously. Soft-dirty cannot track hugetlb writes once
# clear_refs has run, and CRIU's restorer cannot take hugetlb pages from
# parent images: pre-copy must leave that memory to CRIU's final, frozen
# dump. What must be unchanged: the process verifies itself on b (every
# page's header, generation and body match its generation table: no page
# lost or stale), keeps running there, and the copy on a is gone.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
PORT=7900
W=$FERRY_PROGS/mig_workload

if [ "$FERRY_ROLE" = b ]; then
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT" --once --dir /var/tmp \
		2>"$FERRY_OUT/receive.log" &
	rpid=$!
	echo 16 >/proc/sys/vm/nr_hugepages
	for i in $(seq 100); do
		ss -ltn | grep -q ":$PORT " && break
		sleep 0.1
	done
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
	rm -f /tmp/mig.pid.verify
	kill -USR1 "$pid"
	for i in $(seq 300); do [ -s /tmp/mig.pid.verify ] && break; sleep 0.1; done
	v=$(cat /tmp/mig.pid.verify)
	echo "after migration: $v"
	case $v in OK*) ;; *) fail "verification on b: $v" ;; esac
	before=$(sed -n 's/.*writes=\([0-9]*\).*/\1/p' "$FERRY_SHARED/verify.before")
	after=$(echo "$v" | sed -n 's/.*writes=\([0-9]*\).*/\1/p')
	[ "$after" -gt "$before" ] || fail "writes did not advance: $before -> $after"
	# still writing on b
	sleep 1
	rm -f /tmp/mig.pid.verify
	kill -USR1 "$pid"
	for i in $(seq 300); do [ -s /tmp/mig.pid.verify ] && break; sleep 0.1; done
	v2=$(cat /tmp/mig.pid.verify)
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
echo 16 >/proc/sys/vm/nr_hugepages
[ "$(cat /proc/sys/vm/nr_hugepages)" -ge 4 ] || fail "no huge pages for the workload"
setsid "$W" 8 64 /tmp/mig.pid H </dev/null >/dev/null 2>"$FERRY_OUT/workload.err" &
for i in $(seq 300); do [ -s /tmp/mig.pid ] && break; sleep 0.1; done
pid=$(cat /tmp/mig.pid)
kill -USR1 "$pid"
for i in $(seq 300); do [ -s /tmp/mig.pid.verify ] && break; sleep 0.1; done
v=$(cat /tmp/mig.pid.verify)
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
for k in downtime_ms total_ms rounds final.pages_written final.pages_skipped_parent; do
	val=$(jq_get "$r" "$k")
	[[ "$val" =~ ^[0-9]+$ ]] || fail "report field $k is not an integer: '$val'"
	echo "ok: $k = $val"
done
# the 8 MiB (2048 pages) of hugetlb memory came with the final dump
[ "$(jq_get "$r" final.pages_written)" -ge 2048 ] ||
	fail "CRIU's final dump did not copy the hugetlb memory (pages_written too small)"
barrier checked
