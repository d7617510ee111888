#!/bin/bash
# ferry-vm: hosts=2
# checkpoint-failover: `ferry checkpoint` keeps versions of a running tree
# (a parent with two writer threads, a child fed through a pipe, a log
# file) in a store on storage both hosts see; host a then "dies" and host
# b restores the tree from the store with `ferry restore`.
# Checked on a: each checkpoint exits 0 and publishes the next version;
# CRIU's final dump took pages from the rounds' parent images; the tree
# runs on after each one (its memory consistent, its threads and child
# advancing); a checkpoint killed during its copy rounds publishes nothing,
# leaves only a .tmp, and does not stop the tree; a second writer is
# refused while one writes.
# Checked on b: `ferry versions` shows three complete versions and the
# incomplete one; a byte changed in the newest version's page data makes
# it damaged, with the place named; `ferry restore --version` of it fails
# before CRIU runs; `ferry restore` skips it and restores the version
# before it, whose tree runs on b with both processes, three threads,
# memory that verifies, and a child whose pipe counter continues.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
T=$FERRY_PROGS/mig_tree
LOG=$FERRY_SHARED/tree.log
STORE=$FERRY_SHARED/store

field() { echo "$1" | sed -n "s/.*$2=\([0-9]*\).*/\1/p"; }

if [ "$FERRY_ROLE" = b ]; then
	barrier ready
	barrier a-died 900
	read -r P C <"$FERRY_SHARED/pids"
	kill -0 "$P" 2>/dev/null && fail "PID $P is taken on b before the restore"
	rc=0
	"$FERRY_BIN" versions --dir "$STORE" >"$FERRY_OUT/versions.txt" 2>&1 || rc=$?
	cat "$FERRY_OUT/versions.txt"
	assert_eq "$rc" 0 "ferry versions exit status"
	assert_eq "$(grep -c ' complete$' "$FERRY_OUT/versions.txt")" 3 "complete versions"
	grep -q '^4 .*incomplete$' "$FERRY_OUT/versions.txt" ||
		fail "the killed checkpoint's version 4 is not listed as incomplete"

	# the newest version's page data damaged: one byte in 2nd MiB of a pages file
	pages=$(ls -S "$STORE"/v-3/r0/pages-*.img | head -1)
	[ "$(stat -c %s "$pages")" -gt 2097152 ] || fail "$pages is smaller than 2 MiB"
	printf 'X' | dd of="$pages" bs=1 seek=1500000 conv=notrunc status=none
	rc=0
	"$FERRY_BIN" versions --dir "$STORE" --json >"$FERRY_OUT/versions.json" || rc=$?
	cat "$FERRY_OUT/versions.json"
	j=$(cat "$FERRY_OUT/versions.json")
	assert_eq "$(jq_get "$j" versions.2.state)" damaged "state of version 3"
	case "$(jq_get "$j" versions.2.reason)" in
	*"pages-"*".img: bytes 1048576-2097152 differ"*) ;;
	*) fail "the damage is not located: $(jq_get "$j" versions.2.reason)" ;;
	esac
	assert_eq "$(jq_get "$j" versions.1.state)" complete "state of version 2"

	rc=0
	"$FERRY_BIN" restore --dir "$STORE" --version 3 2>"$FERRY_OUT/restore-v3.log" || rc=$?
	cat "$FERRY_OUT/restore-v3.log"
	assert_eq "$rc" 1 "ferry restore --version 3 (damaged) exit status"
	grep -q "version 3 is damaged" "$FERRY_OUT/restore-v3.log" || fail "no reason given"
	kill -0 "$P" 2>/dev/null && fail "a damaged version was restored"

	rc=0
	"$FERRY_BIN" restore --dir "$STORE" --json >"$FERRY_OUT/restore.json" \
		2>"$FERRY_OUT/restore.log" || rc=$?
	cat "$FERRY_OUT/restore.log" "$FERRY_OUT/restore.json"
	assert_eq "$rc" 0 "ferry restore exit status"
	r=$(cat "$FERRY_OUT/restore.json")
	assert_eq "$(jq_get "$r" version)" 2 "version restored"
	assert_eq "$(jq_get "$r" skipped.0.version)" 3 "version skipped"
	assert_eq "$(jq_get "$r" root_pid)" "$P" "restored root PID"
	grep -q "version 3 is damaged.*trying the version before it" "$FERRY_OUT/restore.log" ||
		fail "the fallback was not said"

	kill -0 "$P" && kill -0 "$C" || fail "restored tree not running on b"
	assert_eq "$(ls /proc/$P/task | wc -l)" 3 "threads of the restored parent"
	assert_eq "$(awk '{print $4}' /proc/$C/stat)" "$P" "restored child's parent"
	v1=$(workload_verify "$P" /tmp/tree.pid.parent); c1=$(workload_verify "$C" /tmp/tree.pid.child)
	echo "b: parent $v1; child $c1"
	case "$v1 $c1" in OK*OK*) ;; *) fail "verification on b: $v1 / $c1" ;; esac
	sleep 2
	v2=$(workload_verify "$P" /tmp/tree.pid.parent); c2=$(workload_verify "$C" /tmp/tree.pid.child)
	echo "b: parent $v2; child $c2"
	case "$v2 $c2" in OK*OK*) ;; *) fail "second verification on b: $v2 / $c2" ;; esac
	[ "$(field "$c2" got)" -gt "$(field "$c1" got)" ] || fail "child stopped receiving"
	at_v1=$(cat "$FERRY_SHARED/child.v1")
	[ "$(field "$c1" got)" -gt "$(field "$at_v1" got)" ] ||
		fail "child counter older than version 1's: $(field "$c1" got)"
	g1=$(echo "$v1" | sed -n 's/.*gens=\([0-9]*\),\([0-9]*\).*/\1 \2/p')
	g2=$(echo "$v2" | sed -n 's/.*gens=\([0-9]*\),\([0-9]*\).*/\1 \2/p')
	set -- $g1 $g2
	[ "$3" -gt "$1" ] && [ "$4" -gt "$2" ] || fail "threads stopped: $g1 -> $g2"
	echo "ok: version 2 restored on b after version 3 was found damaged; the tree runs"
	kill -9 "$P" "$C"
	barrier checked
	exit 0
fi

echo 30000 >/proc/sys/kernel/ns_last_pid
cd /
rm -rf "$LOG" "$STORE"
# a pid file left by an earlier script in this guest would be read at once
rm -f /tmp/tree.pid /tmp/tree.pid.*
setsid "$T" /tmp/tree.pid "$LOG" </dev/null >/dev/null 2>&1 &
for i in $(seq 300); do [ -s /tmp/tree.pid ] && break; sleep 0.1; done
read -r P C </tmp/tree.pid
echo "$P $C" >"$FERRY_SHARED/pids"
sleep 1
barrier ready
check_runs() {
	local v c
	v=$(workload_verify "$P" /tmp/tree.pid.parent); c=$(workload_verify "$C" /tmp/tree.pid.child)
	echo "a ($1): parent $v; child $c"
	case "$v $c" in OK*OK*) ;; *) fail "verification on a $1: $v / $c" ;; esac
	echo "$c" >"$FERRY_SHARED/child.$2"
}
for n in 1 2 3; do
	rc=0
	"$FERRY_BIN" checkpoint "$P" --dir "$STORE" --max-rounds 4 --json \
		>"$FERRY_OUT/ckpt-$n.json" 2>"$FERRY_OUT/ckpt-$n.log" || rc=$?
	cat "$FERRY_OUT/ckpt-$n.log" "$FERRY_OUT/ckpt-$n.json"
	assert_eq "$rc" 0 "ferry checkpoint $n exit status"
	j=$(cat "$FERRY_OUT/ckpt-$n.json")
	assert_eq "$(jq_get "$j" version)" "$n" "version published"
	for k in final.frozen_time final.pages_written pages_precopied bytes rounds; do
		[[ "$(jq_get "$j" $k)" =~ ^[0-9]+$ ]] || fail "report field $k: $(jq_get "$j" $k)"
	done
	[ "$(jq_get "$j" final.pages_skipped_parent)" -gt 500 ] ||
		fail "CRIU did not dump on top of the rounds (pages_skipped_parent)"
	[ -f "$STORE/v-$n/MANIFEST" ] || fail "no $STORE/v-$n/MANIFEST"
	check_runs "after checkpoint $n" "v$n"
	sleep 1
done

# a second writer is refused while one writes
"$FERRY_BIN" checkpoint "$P" --dir "$STORE" --max-rounds 8 --max-downtime 0 \
	2>"$FERRY_OUT/ckpt-4.log" &
k=$!
for i in $(seq 600); do grep -q "round 0:" "$FERRY_OUT/ckpt-4.log" && break; sleep 0.1; done
grep -q "round 0:" "$FERRY_OUT/ckpt-4.log" || fail "checkpoint 4 never finished round 0"
rc=0
"$FERRY_BIN" checkpoint "$P" --dir "$STORE" 2>"$FERRY_OUT/ckpt-concurrent.log" || rc=$?
cat "$FERRY_OUT/ckpt-concurrent.log"
assert_eq "$rc" 1 "a second concurrent checkpoint's exit status"
grep -q "another ferry checkpoint is writing" "$FERRY_OUT/ckpt-concurrent.log" ||
	fail "the second writer was not told why"
# the writer dies during its copy rounds
kill -9 "$k"
wait "$k" 2>/dev/null || true
cat "$FERRY_OUT/ckpt-4.log"
[ -d "$STORE/.v-4.tmp" ] || fail "the killed checkpoint left no .v-4.tmp (did it finish?)"
[ -e "$STORE/v-4" ] && fail "the killed checkpoint published v-4"
check_runs "after a killed checkpoint" v4
echo "ok: 3 versions, a killed checkpoint left only .v-4.tmp, the tree runs"
# host a dies: its tree with it
kill -9 "$P" "$C"
barrier a-died
barrier checked 900
