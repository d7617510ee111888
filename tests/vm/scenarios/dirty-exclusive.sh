#!/bin/bash
# dirty-exclusive: a process's soft-dirty bits have one ferry user at a
# time. A second clearing tracker of the same process (here `ferry dirty
# --clear` every 50 ms, as an operator watching a dirty rate would run it,
# and a second `ferry checkpoint` into another store) would re-arm pages
# the checkpoint has not copied, and CRIU's final dump would then take the
# checkpoint's stale copy of them from its parent images: a lost write.
# Must hold: while `ferry checkpoint` runs, every other clearing tracker of
# the process is refused, saying who holds it; the checkpoint's version,
# restored after the process is killed, has memory that verifies (every
# page's generation matches the table, the total matches the counter); and
# once the checkpoint ended, `ferry dirty --clear` works again.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
W=$FERRY_PROGS/mig_workload
S=/var/tmp/dirty-exclusive

echo 30000 >/proc/sys/kernel/ns_last_pid
cd /
rm -rf "$S" /tmp/dx.pid
mkdir -p "$S"
setsid "$W" 32 256 /tmp/dx.pid </dev/null >/dev/null 2>&1 &
for i in $(seq 300); do [ -s /tmp/dx.pid ] && break; sleep 0.1; done
pid=$(cat /tmp/dx.pid)
sleep 1
"$FERRY_BIN" checkpoint "$pid" --dir "$S/store" --max-rounds 8 --max-downtime 0 --json \
	>"$FERRY_OUT/ckpt.json" 2>"$FERRY_OUT/ckpt.log" &
ck=$!
# once it tracks the process, the other tracker starts
for i in $(seq 600); do grep -q "tracking" "$FERRY_OUT/ckpt.log" && break; sleep 0.1; done
grep -q "tracking" "$FERRY_OUT/ckpt.log" || { cat "$FERRY_OUT/ckpt.log"; fail "the checkpoint did not start"; }
(
	while [ ! -e "$S/stop" ]; do
		if "$FERRY_BIN" dirty "$pid" --clear >/dev/null 2>>"$S/clear.err"; then
			echo ok >>"$S/clear.ok"
		else
			echo refused >>"$S/clear.refused"
		fi
		sleep 0.05
	done
) &
loop=$!
for i in $(seq 600); do grep -q "round 1:" "$FERRY_OUT/ckpt.log" && break; sleep 0.1; done
# a second checkpoint waits up to 5 s for the first to let go: the first
# is held (SIGSTOP, its claim with it) for longer than that, as a
# checkpoint of a large process would be, so the refusal does not depend on
# how fast this guest copies
kill -STOP "$ck"
other=0
"$FERRY_BIN" checkpoint "$pid" --dir "$S/other" 2>"$FERRY_OUT/ckpt-other.log" || other=$?
kill -CONT "$ck"
rc=0
wait "$ck" || rc=$?
touch "$S/stop"
wait "$loop" || true
cat "$FERRY_OUT/ckpt.log"
assert_eq "$rc" 0 "ferry checkpoint exit status"
echo "clearing scans during and around the checkpoint: $(wc -l <"$S/clear.ok" 2>/dev/null || echo 0) ran," \
	"$(wc -l <"$S/clear.refused" 2>/dev/null || echo 0) refused"
# the version holds what the process held: restore it and let it check
kill -9 "$pid"
for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
rc=0
"$FERRY_BIN" restore --dir "$S/store" 2>"$FERRY_OUT/restore.log" || rc=$?
cat "$FERRY_OUT/restore.log"
assert_eq "$rc" 0 "ferry restore exit status"
v=$(workload_verify "$pid" /tmp/dx.pid.verify)
echo "restored: $v"
case $v in OK*) ;; *) fail "the checkpoint lost writes: $v" ;; esac
cat "$FERRY_OUT/ckpt-other.log"
assert_eq "$other" 1 "a second checkpoint of the process into another store"
grep -q "being tracked by another ferry (pid $ck: ferry checkpoint)" "$FERRY_OUT/ckpt-other.log" ||
	fail "the second checkpoint was not told who tracks the process"
[ -s "$S/clear.refused" ] || fail "no \`ferry dirty --clear\` was refused while the checkpoint ran"
grep -m1 "being tracked by another ferry" "$S/clear.err" ||
	fail "the refused \`ferry dirty --clear\` did not say why"
# the claim went with the checkpoint
"$FERRY_BIN" dirty "$pid" --clear >/dev/null || fail "ferry dirty --clear refused after the checkpoint"
kill -9 "$pid"
rm -rf "$S"
echo "ok: other trackers refused during the checkpoint; its version verifies"
