#!/bin/bash
# ferry-vm: hosts=2
# checkpoint-slow-store: `ferry checkpoint --to` sends a version to a
# receiver that stops reading for 40 s in the middle of it (the whole
# `ferry receive` is stopped, SIGSTOP, as a receiver stuck writing to a
# slow store would be: its kernel still answers, its window stays shut).
# The sender must wait for it, not take it for a dead link: with the 20 s
# TCP user timeout of a migration, the kernel gave up on the shut window
# and the version never reached the store.
# Must hold: the stop fell inside the transfer (the version was still a
# .tmp on b when the receiver went on); `ferry checkpoint` exits 0 and
# says the version is stored on b; b lists it complete (its checksums
# verified before it was published); the process ran on throughout.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
PORT=7933
W=$FERRY_PROGS/mig_workload
STORE=/var/tmp/slow-store
CHAIN=$STORE/app
STOP_S=40

if [ "$FERRY_ROLE" = b ]; then
	rm -rf "$STORE"
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT" --store "$STORE" \
		2>"$FERRY_OUT/receive.log" &
	rpid=$!
	cleanup() {
		set +e
		kill -CONT "$rpid" 2>/dev/null
		pkill -CONT -P "$rpid" 2>/dev/null
		kill "$rpid" 2>/dev/null
		return 0
	}
	trap cleanup EXIT
	wait_port "$PORT"
	barrier ready
	for i in $(seq 6000); do
		ls -d "$CHAIN"/.v-1.tmp >/dev/null 2>&1 && break
		[ -e "$FERRY_SHARED/failed.a" ] && fail "a failed: $(cat "$FERRY_SHARED/failed.a")"
		sleep 0.05
	done
	[ -d "$CHAIN/.v-1.tmp" ] || fail "version 1 did not begin arriving within 300 s"
	# the listener and its session: nothing of the receiver reads on
	kill -STOP "$rpid"
	pkill -STOP -P "$rpid" || true
	echo "b: receiver stopped for $STOP_S s while version 1 arrives"
	sleep $STOP_S
	[ -d "$CHAIN/.v-1.tmp" ] || fail "version 1 was no longer arriving at the end of the stop: the test proves nothing"
	pkill -CONT -P "$rpid" || true
	kill -CONT "$rpid"
	echo "b: receiver goes on"
	barrier sent 600
	cat "$FERRY_OUT/receive.log"
	"$FERRY_BIN" versions --dir "$CHAIN" | tee "$FERRY_OUT/versions.txt"
	grep -q '^1 .* complete$' "$FERRY_OUT/versions.txt" || fail "version 1 is not complete on b"
	grep -q "chain app: version 1 stored" "$FERRY_OUT/receive.log" ||
		fail "the receiver did not say it stored version 1"
	barrier checked
	exit 0
fi

cd /
rm -f /tmp/slow.pid /tmp/slow.pid.verify
rm -rf /var/tmp/slow-local
# 96 MiB of pages that do not compress: far more than both ends' socket
# buffers hold, so the sender has to wait on the shut window
setsid "$W" 96 256 /tmp/slow.pid </dev/null >/dev/null 2>&1 &
for i in $(seq 300); do [ -s /tmp/slow.pid ] && break; sleep 0.1; done
pid=$(cat /tmp/slow.pid)
trap 'kill -9 "$pid" 2>/dev/null; true' EXIT
barrier ready
echo "a: ferry checkpoint --to b"
rc=0
"$FERRY_BIN" checkpoint "$pid" --to "$FERRY_PEER_IP:$PORT" --name app --dir /var/tmp/slow-local \
	--max-rounds 2 2>"$FERRY_OUT/checkpoint.log" || rc=$?
cat "$FERRY_OUT/checkpoint.log"
assert_eq "$rc" 0 "ferry checkpoint --to a receiver that stopped reading: exit status"
grep -q "version 1 stored on $FERRY_PEER_IP:$PORT as app/v-1" "$FERRY_OUT/checkpoint.log" ||
	fail "ferry checkpoint did not say version 1 is stored on b"
kill -0 "$pid" || fail "the process does not run on"
v=$(workload_verify "$pid" /tmp/slow.pid.verify)
case $v in OK*) ;; *) fail "verification on a: $v" ;; esac
barrier sent 600
barrier checked 600
echo "ok: version 1 reached b through a $STOP_S s stop of its receiver"
