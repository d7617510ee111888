#!/bin/bash
# ferry-vm: hosts=2
# migrate-postcopy: `ferry migrate --postcopy` moves a process with 128 MiB
# of known content and a 16 MiB hot window it rewrites all the time. The
# final dump's own pages (what changed since the last pre-copy round, the
# hot set) stay on a; the tree runs on b at once and gets them on fault or
# from a's push. What must hold: the process verifies on b (every page's
# header, generation and body against its own table, generations summing
# to its write counter: no page lost or stale) and keeps writing; the copy
# on a is gone only after b had every page; the report's post-copy counts
# add up (pages = taken on fault + pushed, and pages > 0).
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
PORT=7905
W=$FERRY_PROGS/mig_workload

if [ "$FERRY_ROLE" = b ]; then
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT" --once --dir /var/tmp \
		2>"$FERRY_OUT/receive.log" &
	rpid=$!
	wait_port "$PORT"
	barrier ready
	barrier migrated 900
	rc=0
	wait $rpid || rc=$?
	cat "$FERRY_OUT/receive.log"
	assert_eq "$rc" 0 "ferry receive --once exit status"
	grep -q "post-copy: every page in place" "$FERRY_OUT/receive.log" ||
		fail "the receiver does not say every page came"
	pid=$(cat "$FERRY_SHARED/pid")
	kill -0 "$pid" || fail "migrated process $pid does not run on b"
	v=$(workload_verify "$pid" /tmp/pc.pid.verify)
	echo "after migration: $v"
	case $v in OK*) ;; *) fail "verification on b: $v" ;; esac
	sleep 1
	v2=$(workload_verify "$pid" /tmp/pc.pid.verify)
	case $v2 in OK*) ;; *) fail "second verification on b: $v2" ;; esac
	kill -9 "$pid"
	barrier checked
	exit 0
fi

echo 30500 >/proc/sys/kernel/ns_last_pid
cd /
rm -f /tmp/pc.pid /tmp/pc.pid.verify
setsid "$W" 128 4096 /tmp/pc.pid </dev/null >/dev/null 2>&1 &
for i in $(seq 300); do [ -s /tmp/pc.pid ] && break; sleep 0.1; done
pid=$(cat /tmp/pc.pid)
v=$(workload_verify "$pid" /tmp/pc.pid.verify)
echo "before migration: $v"
case $v in OK*) ;; *) fail "verification before migration: $v" ;; esac
echo "$pid" >"$FERRY_SHARED/pid"
sleep 2
barrier ready
rc=0
"$FERRY_BIN" migrate "$pid" --to "$FERRY_PEER_IP:$PORT" --max-rounds 3 --postcopy \
	--json >"$FERRY_OUT/report.json" 2>"$FERRY_OUT/migrate.log" || rc=$?
cat "$FERRY_OUT/migrate.log"
cat "$FERRY_OUT/report.json"
barrier migrated
assert_eq "$rc" 0 "ferry migrate --postcopy exit status"
for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "source process $pid still exists on a"
r=$(cat "$FERRY_OUT/report.json")
assert_eq "$(jq -r .postcopy.used <<<"$r")" true "report: postcopy.used"
pages=$(jq .postcopy.pages <<<"$r") fault=$(jq .postcopy.pages_on_fault <<<"$r")
pushed=$(jq .postcopy.pages_pushed <<<"$r")
echo "post-copy: $pages pages, $fault on fault, $pushed pushed, $(jq .postcopy.ms <<<"$r") ms"
[ "$pages" -gt 0 ] || fail "post-copy left no page behind"
assert_eq "$((fault + pushed))" "$pages" "pages on fault + pushed"
barrier checked
