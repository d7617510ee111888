#!/bin/bash
# ferry-vm: hosts=2
# The demo job of `make demo`: two guests (host a = 10.99.0.1, host b =
# 10.99.0.2) on a virtual link. Host a runs a workload that keeps
# rewriting 32 MiB of self-checking memory; `ferry migrate` moves it live
# to host b, where `ferry receive` restores it. The workload then checks
# every page on b and keeps running there.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
PORT=7900
W=$FERRY_PROGS/mig_workload

if [ "$FERRY_ROLE" = b ]; then
	echo "== host b: ferry check"
	"$FERRY_BIN" check --no-criu || true
	echo "== host b: ferry receive --listen $FERRY_MY_IP:$PORT --once"
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT" --once --dir /var/tmp &
	rpid=$!
	for i in $(seq 100); do ss -ltn | grep -q ":$PORT " && break; sleep 0.1; done
	barrier ready
	barrier migrated 600
	wait $rpid
	pid=$(cat "$FERRY_SHARED/pid")
	echo "== host b: the workload (pid $pid) checks all of its memory"
	rm -f /tmp/mig.pid.verify
	kill -USR1 "$pid"
	for i in $(seq 300); do [ -s /tmp/mig.pid.verify ] && break; sleep 0.1; done
	echo "   $(cat /tmp/mig.pid.verify)"
	grep -q '^OK' /tmp/mig.pid.verify || fail "workload found damaged memory on b"
	barrier checked
	kill -9 "$pid"
	exit 0
fi

echo 30000 >/proc/sys/kernel/ns_last_pid	# keep its PID free on b
cd /
setsid "$W" 32 256 /tmp/mig.pid </dev/null >/dev/null 2>&1 &
for i in $(seq 300); do [ -s /tmp/mig.pid ] && break; sleep 0.1; done
pid=$(cat /tmp/mig.pid)
echo "$pid" >"$FERRY_SHARED/pid"
echo "== host a: workload pid $pid rewrites 32 MiB; ferry dirty shows its writes"
"$FERRY_BIN" dirty "$pid" --interval 500 --count 2 | tail -n 6 || true
barrier ready
echo "== host a: ferry migrate $pid --to $FERRY_PEER_IP:$PORT"
"$FERRY_BIN" migrate "$pid" --to "$FERRY_PEER_IP:$PORT" --max-downtime 300 --max-rounds 6
barrier migrated
kill -0 "$pid" 2>/dev/null && sleep 1
kill -0 "$pid" 2>/dev/null && fail "the source copy still runs on a"
echo "== host a: the source copy is gone; the workload now runs on host b"
barrier checked
