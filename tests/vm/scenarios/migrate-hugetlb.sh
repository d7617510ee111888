#!/bin/bash
# ferry-vm: hosts=2
# migrate-hugetlb: a process whose memory is hugetlb (MAP_HUGETLB, 8 MiB of
# known content, a window rewritten continuously) cannot move live with
# CRIU 3.17: soft-dirty never shows its writes after clear_refs, so CRIU's
# incremental dump wants its pages in the parent images, and CRIU's
# restorer cannot read hugetlb pages from parent images. Sending them in a
# pre-copy round made the dump "succeed" with whatever the round copied.
# `ferry migrate` must refuse it before freezing anything, saying why.
# What must be unchanged: migrate exits 1 with the reason; the process
# runs on a, untouched (it verifies every page); nothing of it runs on b.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
PORT=7900
W=$FERRY_PROGS/mig_workload

if [ "$FERRY_ROLE" = b ]; then
	echo 16 >/proc/sys/vm/nr_hugepages
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT" --once --dir /var/tmp \
		2>"$FERRY_OUT/receive.log" &
	rpid=$!
	wait_port "$PORT"
	barrier ready
	barrier migrated 600
	rc=0
	wait $rpid || rc=$?
	cat "$FERRY_OUT/receive.log"
	assert_ne "$rc" 0 "ferry receive reports the refused migration"
	pid=$(cat "$FERRY_SHARED/pid")
	kill -0 "$pid" 2>/dev/null && fail "process $pid runs on b"
	echo "ok: nothing of $pid runs on b"
	barrier checked
	exit 0
fi

# role a: the source. High PIDs so the restored PID is free on b.
echo 30000 >/proc/sys/kernel/ns_last_pid
cd /
rm -f /tmp/hugetlb.pid /tmp/hugetlb.pid.verify
# a failed check must not leave the workload to the next scenario
# (under set -e a failing last command of an && list in the trap would be
# the script's exit status: the workload is already gone when all went well)
trap 'kill -9 "$(cat /tmp/hugetlb.pid 2>/dev/null)" 2>/dev/null || true' EXIT
echo 16 >/proc/sys/vm/nr_hugepages
[ "$(cat /proc/sys/vm/nr_hugepages)" -ge 4 ] || fail "no huge pages for the workload"
setsid "$W" 8 64 /tmp/hugetlb.pid H </dev/null >/dev/null 2>"$FERRY_OUT/workload.err" &
for i in $(seq 300); do [ -s /tmp/hugetlb.pid ] && break; sleep 0.1; done
pid=$(cat /tmp/hugetlb.pid)
v=$(workload_verify "$pid" /tmp/hugetlb.pid.verify)
echo "before migration: $v"
case $v in OK*) ;; *) fail "verification before migration: $v" ;; esac
cp /tmp/hugetlb.pid.verify "$FERRY_SHARED/verify.before"
echo "$pid" >"$FERRY_SHARED/pid"
sleep 1
barrier ready
rc=0
"$FERRY_BIN" migrate "$pid" --to "$FERRY_PEER_IP:$PORT" --max-downtime 300 --max-rounds 6 \
	>"$FERRY_OUT/report.txt" 2>"$FERRY_OUT/migrate.log" || rc=$?
cat "$FERRY_OUT/migrate.log"
barrier migrated
assert_eq "$rc" 1 "ferry migrate exit status"
grep -q "hugetlb memory" "$FERRY_OUT/migrate.log" || fail "the refusal does not say why"
grep -q "freezing" "$FERRY_OUT/migrate.log" && fail "the tree was frozen before the refusal"
kill -0 "$pid" || fail "the source process $pid is gone"
v=$(workload_verify "$pid" /tmp/hugetlb.pid.verify)
echo "after the refusal: $v"
case $v in OK*) ;; *) fail "verification on a after the refusal: $v" ;; esac
kill -9 "$pid"
barrier checked
