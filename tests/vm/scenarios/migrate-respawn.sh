#!/bin/bash
# ferry-vm: hosts=2
# migrate-respawn: the tree changes while ferry pre-copies it
# (tests/progs/mig_respawn.c). During the first round (made to last seconds
# by a child with 96 MiB of random bytes, read last), after the pages of the
# root's 4 writer children went, the root, on host a:
#  - kills each writer and forks an inheritor under its PID, holding the
#    root's pages, clean for soft-dirty: given the pages sent for the PID's
#    previous owner, it would run on b with a wrong region;
#  - forks 6 newcomers under PIDs the pre-copy never saw.
# What must be unchanged: on b the root and all 11 children run, every
# child with the region it had (bad=0, checks growing), the respawn done on
# a before the freeze; on a no process of the tree is left, running or
# stopped (the newcomers were stopped by the dump like the rest and must be
# killed too), the pre-copy stops reading the 4 reused PIDs (an unrelated
# process could hold one), and the report counts 12 processes migrated,
# 6 tracked.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
PORT=7922
R=$FERRY_PROGS/mig_respawn
ST=/tmp/respawn.st

field() { echo "$1" | sed -n "s/.*$2=\([^ ]*\).*/\1/p"; }

if [ "$FERRY_ROLE" = b ]; then
	receive_once "$PORT"
	P=$(cat "$FERRY_SHARED/root")
	kill -0 "$P" || fail "the root ($P) does not run on b"
	sleep 1
	s1=$(cat "$ST"); sleep 2; s2=$(cat "$ST")
	echo "b: $s1"
	echo "b: $s2"
	assert_eq "$(field "$s2" host)" ferry-b "the state's writer (the restored root)"
	assert_eq "$(field "$s2" respawned_on)" ferry-a \
		"where the respawn happened"
	assert_eq "$(field "$s2" children)" 11 "children"
	assert_eq "$(field "$s2" alive)" 11 "children alive on b"
	for c in $(field "$s2" pids | tr , ' '); do
		[ "$(awk '{print $4}' "/proc/$c/stat")" = "$P" ] || fail "child $c's parent is not the root"
	done
	[ "$(field "$s2" checks)" -gt "$(field "$s1" checks)" ] || fail "the children stopped checking"
	assert_eq "$(field "$s2" bad)" 0 "region checks that failed on b (a child got another's pages)"
	echo "ok: the root and its 11 children run on b with their own regions"
	kill -9 "$P" $(field "$s2" pids | tr , ' ')
	barrier checked
	exit 0
fi

echo 25000 >/proc/sys/kernel/ns_last_pid	# (below pid_max, 32768 here)
cd /
rm -f "$ST" "$ST.done"
setsid "$R" "$ST" </dev/null >/dev/null 2>"$FERRY_OUT/respawn.err" &
P=$!
echo "$P" >"$FERRY_SHARED/root"
for i in $(seq 100); do [ "$(field "$(cat "$ST" 2>/dev/null)" alive)" = 5 ] && break; sleep 0.1; done
sleep 1
s=$(cat "$ST")
echo "a: $s"
assert_eq "$(field "$s" alive)" 5 "writers and ballast before the migration"
assert_eq "$(field "$s" bad)" 0 "region checks before the migration"
barrier ready
"$FERRY_BIN" migrate "$P" --to "$FERRY_PEER_IP:$PORT" --json \
	>"$FERRY_OUT/report.json" 2>"$FERRY_OUT/migrate.log" &
mp=$!
for i in $(seq 600); do grep -q "^ferry: tracking" "$FERRY_OUT/migrate.log" && break; sleep 0.1; done
grep -q "^ferry: tracking" "$FERRY_OUT/migrate.log" || fail "ferry migrate did not start tracking"
sleep 1.5	# the root's and the writers' pages went; the ballast's go on
kill -USR1 "$P"
for i in $(seq 300); do [ -e "$ST.done" ] && break; sleep 0.1; done
[ -e "$ST.done" ] || fail "the root did not respawn its children"
echo "a: respawned: $(cat "$ST")"
r0=$(grep -c "^ferry: round 0:" "$FERRY_OUT/migrate.log" || true)	# ended before the respawn?
grep "^ferry: round" "$FERRY_OUT/migrate.log" || true
if grep -q "freezing and dumping" "$FERRY_OUT/migrate.log"; then
	wait $mp || true
	fail "NOT TESTED: the pre-copy ended before the respawn (make the ballast larger)"
fi
rc=0; wait $mp || rc=$?
cat "$FERRY_OUT/migrate.log" "$FERRY_OUT/report.json"
barrier migrated
assert_eq "$rc" 0 "ferry migrate exit status"
# nothing of the tree may be left here: not the root, not a child (the
# newcomers' PIDs are new since the pre-copy began), running or stopped
sleep 1
left=$(ps -eo pid=,stat=,comm= | awk '$3 == "mig_respawn" && $2 !~ /^Z/')
if [ -n "$left" ]; then
	echo "processes of the tree left on a:"; echo "$left"
	kill -9 $(echo "$left" | awk '{print $1}') 2>/dev/null || true
	fail "$(echo "$left" | wc -l) process(es) of the migrated tree left on a"
fi
echo "ok: nothing of the tree left on a"
# the inheritors hold their predecessors' PIDs: not to be read as them
n=$(grep -c "exited and its PID now belongs to another process" "$FERRY_OUT/migrate.log" || true)
if [ "$r0" = 0 ] && grep -q "^ferry: round 1:" "$FERRY_OUT/migrate.log"; then
	assert_eq "$n" 4 "reused PIDs that ferry stopped reading"
else
	echo "note: no round after the respawn: the reused PIDs' reads not checked"
fi
assert_eq "$(jq_get "$(cat "$FERRY_OUT/report.json")" processes)" 12 "processes migrated"
assert_eq "$(jq_get "$(cat "$FERRY_OUT/report.json")" processes_tracked)" 6 "processes tracked"
barrier checked
