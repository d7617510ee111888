#!/bin/bash
# ferry-vm: hosts=2
# migrate-tree: a process tree -- a parent with two writer threads, a child
# fed through a pipe, an open log file -- moves from host a to host b with
# `ferry migrate`. Checked on b: both processes run, the parent still has
# its three threads, each thread's memory region is consistent and its
# generation keeps advancing, the child received every pipe counter without
# a gap before and after the move (and keeps receiving), its own pages are
# intact, and the log file (on the share both hosts see) keeps growing.
# On a: neither process is left.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
PORT=7920
T=$FERRY_PROGS/mig_tree
LOG=$FERRY_SHARED/tree.log

field() { echo "$1" | sed -n "s/.*$2=\([0-9]*\).*/\1/p"; }

if [ "$FERRY_ROLE" = b ]; then
	receive_once "$PORT"
	read -r P C <"$FERRY_SHARED/pids"
	kill -0 "$P" && kill -0 "$C" || fail "tree not running on b"
	assert_eq "$(ls /proc/$P/task | wc -l)" 3 "threads of the parent"
	assert_eq "$(awk '{print $4}' /proc/$C/stat)" "$P" "child's parent"
	lines=$(wc -l <"$LOG")
	v1=$(workload_verify "$P" /tmp/tree.pid.parent); c1=$(workload_verify "$C" /tmp/tree.pid.child)
	echo "b: parent $v1; child $c1"
	case "$v1 $c1" in OK*OK*) ;; *) fail "verification on b: $v1 / $c1" ;; esac
	sleep 2
	v2=$(workload_verify "$P" /tmp/tree.pid.parent); c2=$(workload_verify "$C" /tmp/tree.pid.child)
	echo "b: parent $v2; child $c2"
	case "$v2 $c2" in OK*OK*) ;; *) fail "second verification on b: $v2 / $c2" ;; esac
	before=$(cat "$FERRY_SHARED/before")
	[ "$(field "$c2" got)" -gt "$(field "$c1" got)" ] || fail "child stopped receiving"
	[ "$(field "$c1" got)" -gt "$(field "$before" got)" ] || fail "child counter went back"
	g1=$(echo "$v1" | sed -n 's/.*gens=\([0-9]*\),\([0-9]*\).*/\1 \2/p')
	g2=$(echo "$v2" | sed -n 's/.*gens=\([0-9]*\),\([0-9]*\).*/\1 \2/p')
	set -- $g1 $g2
	[ "$3" -gt "$1" ] && [ "$4" -gt "$2" ] || fail "threads stopped: $g1 -> $g2"
	[ "$(wc -l <"$LOG")" -gt "$lines" ] || fail "log file stopped growing"
	echo "ok: tree runs on b: threads, pipe, child, log file"
	kill -9 "$P" "$C"
	barrier checked
	exit 0
fi

echo 30000 >/proc/sys/kernel/ns_last_pid
cd /
rm -f "$LOG"
# a pid file left by an earlier script in this guest would be read at once
rm -f /tmp/tree.pid /tmp/tree.pid.*
setsid "$T" /tmp/tree.pid "$LOG" </dev/null >/dev/null 2>&1 &
for i in $(seq 300); do [ -s /tmp/tree.pid ] && break; sleep 0.1; done
read -r P C </tmp/tree.pid
echo "$P $C" >"$FERRY_SHARED/pids"
sleep 1
v=$(workload_verify "$P" /tmp/tree.pid.parent); c=$(workload_verify "$C" /tmp/tree.pid.child)
echo "a: parent $v; child $c"
case "$v $c" in OK*OK*) ;; *) fail "verification before migration: $v / $c" ;; esac
echo "$c" >"$FERRY_SHARED/before"
barrier ready
rc=0
"$FERRY_BIN" migrate "$P" --to "$FERRY_PEER_IP:$PORT" --json >"$FERRY_OUT/report.json" \
	2>"$FERRY_OUT/migrate.log" || rc=$?
cat "$FERRY_OUT/migrate.log" "$FERRY_OUT/report.json"
barrier migrated
assert_eq "$rc" 0 "ferry migrate exit status"
assert_eq "$(jq_get "$(cat "$FERRY_OUT/report.json")" processes)" 2 "processes migrated"
for i in $(seq 50); do kill -0 "$P" 2>/dev/null || kill -0 "$C" 2>/dev/null || break; sleep 0.1; done
kill -0 "$P" 2>/dev/null && fail "parent still on a"
kill -0 "$C" 2>/dev/null && fail "child still on a"
barrier checked
