#!/bin/bash
# ferry-vm: hosts=2
# ferry-vm: own-boot
# checkpoint-remote: `ferry ha --to` keeps the versions of a running
# process (64 MiB of self-checking memory, a hot window rewritten all the
# time) on host b, `ferry receive --store`, every 2 s, keeping 2; host a is
# then killed outright (its QEMU, SIGKILL) while b receives a version, and
# b brings the process back from its own store.
# Checked on b before the kill: versions arrive over TLS, incremental after
# the first, and retention folds and removes there too (never more than 2
# complete versions once the third is in). At the kill: the version in
# transfer is only a .tmp, listed incomplete, and its session ends by its
# phase timeout, removing it. Then `ferry restore` restores the newest
# complete version; the process runs on b, its memory verifies (every
# page's header, body and generation, and the generations sum to its write
# counter: one consistent instant), and that instant is not older than a
# verification a made before that version began (no older version came
# back). own-boot: host a runs nothing after this.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
PORT=7931
W=$FERRY_PROGS/mig_workload
STORE=/var/tmp/store
CHAIN=$STORE/app

now_ns() { date +%s%N; }

if [ "$FERRY_ROLE" = b ]; then
	rm -rf "$STORE"
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT" --store "$STORE" --phase-timeout 30 \
		2>"$FERRY_OUT/receive.log" &
	rpid=$!
	wait_port "$PORT"
	barrier ready
	# the kill goes in while a version is being received: after version
	# 3, once the next one's temporary directory exists here
	for i in $(seq 9000); do
		[ -d "$CHAIN/v-3" ] && ls -d "$CHAIN"/.v-*.tmp >/dev/null 2>&1 && break
		[ -e "$FERRY_SHARED/failed.a" ] && fail "a failed: $(cat "$FERRY_SHARED/failed.a")"
		sleep 0.05
	done
	tmp=$(ls -d "$CHAIN"/.v-*.tmp 2>/dev/null | head -1)
	if [ -z "$tmp" ] || [ ! -d "$CHAIN/v-3" ]; then
		fail "no version after 3 began arriving within 450 s"
	fi
	touch "$FERRY_SHARED/kill-host-a"
	n=${tmp##*/.v-}; n=${n%.tmp}
	echo "b: version $n was arriving; host a is being killed"
	for i in $(seq 3000); do [ -s "$FERRY_SHARED/killed-host-a" ] && break; sleep 0.1; done
	[ -s "$FERRY_SHARED/killed-host-a" ] || fail "host a was not killed within 300 s"
	cat "$FERRY_SHARED/ha.log" || true

	"$FERRY_BIN" versions --dir "$CHAIN" | tee "$FERRY_OUT/versions.txt"
	last=$(awk '/ complete$/ {v=$1} END {print v}' "$FERRY_OUT/versions.txt")
	[ -n "$last" ] || fail "no complete version on b"
	[ "$(grep -c ' complete$' "$FERRY_OUT/versions.txt")" -le 2 ] ||
		fail "more than --keep 2 complete versions on b"
	if [ -d "$tmp" ]; then
		grep -q "^$n .*incomplete$" "$FERRY_OUT/versions.txt" ||
			fail "version $n, cut short, is not listed as incomplete"
	fi
	[ -e "$CHAIN/v-$n" ] && fail "version $n, cut short, was published"
	grep -q "folded into version\|removed (--keep 2)" "$FERRY_OUT/receive.log" ||
		fail "no retention on b"
	grep -q "version [0-9]* stored (.*incremental)" "$FERRY_OUT/receive.log" ||
		fail "no incremental version arrived"

	# the process comes back from b's own store
	pid=$(cat "$FERRY_SHARED/pid")
	kill -0 "$pid" 2>/dev/null && fail "PID $pid is taken on b before the restore"
	rc=0
	"$FERRY_BIN" restore --dir "$CHAIN" --json >"$FERRY_OUT/restore.json" \
		2>"$FERRY_OUT/restore.log" || rc=$?
	cat "$FERRY_OUT/restore.log" "$FERRY_OUT/restore.json"
	assert_eq "$rc" 0 "ferry restore exit status"
	r=$(cat "$FERRY_OUT/restore.json")
	assert_eq "$(jq_get "$r" version)" "$last" "version restored"
	kill -0 "$pid" || fail "restored process $pid does not run on b"
	v=$(workload_verify "$pid" /tmp/mig.pid.verify)
	echo "b: restored version $last: $v"
	case $v in OK*) ;; *) fail "verification on b: $v" ;; esac
	got=$(echo "$v" | sed -n 's/.*writes=\([0-9]*\).*/\1/p')
	# the newest verification on a that ended before version $last began
	began=$(awk -v l="version $last of " 'index($0, l) && /writing/ {print $1; exit}' \
		"$FERRY_SHARED/ha.log")
	[ -n "$began" ] || fail "ha.log does not show version $last beginning"
	floor=0
	while read -r t w; do
		[ "$t" -lt "$began" ] && floor=$w
	done <"$FERRY_SHARED/verified"
	echo "b: writes $got; a verified $floor before version $last began"
	[ "$floor" -gt 0 ] || fail "no verification on a before version $last began"
	[ "$got" -gt "$floor" ] || fail "restored memory is older than version $last ($got <= $floor)"
	sleep 1
	v2=$(workload_verify "$pid" /tmp/mig.pid.verify)
	got2=$(echo "$v2" | sed -n 's/.*writes=\([0-9]*\).*/\1/p')
	case $v2 in OK*) ;; *) fail "second verification on b: $v2" ;; esac
	[ "$got2" -gt "$got" ] || fail "the restored process does not run: $got -> $got2"

	# the dead source's session times out and leaves nothing half-written
	for i in $(seq 600); do
		ls -d "$CHAIN"/.v-*.tmp >/dev/null 2>&1 || break
		sleep 0.1
	done
	ls -d "$CHAIN"/.v-*.tmp 2>/dev/null && fail "the cut-short version's .tmp stays after 60 s"
	grep -q "checkpoint store session failed" "$FERRY_OUT/receive.log" ||
		fail "the cut-off session did not end with a reason"
	cat "$FERRY_OUT/receive.log"
	kill -9 "$pid" "$rpid" 2>/dev/null || true
	echo "ok: version $last restored on b after host a died during version $n"
	exit 0
fi

# role a: high PIDs, so that the restored PID is free on b
echo 30000 >/proc/sys/kernel/ns_last_pid
cd /
rm -f /tmp/mig.pid /tmp/mig.pid.verify
rm -rf /var/tmp/local
setsid "$W" 64 256 /tmp/mig.pid </dev/null >/dev/null 2>&1 &
for i in $(seq 300); do [ -s /tmp/mig.pid ] && break; sleep 0.1; done
pid=$(cat /tmp/mig.pid)
echo "$pid" >"$FERRY_SHARED/pid"
: >"$FERRY_SHARED/verified"
barrier ready
# every line of ferry ha, time-stamped, where b reads it after a is gone
( "$FERRY_BIN" ha "$pid" --to "$FERRY_PEER_IP:$PORT" --name app --dir /var/tmp/local \
	--interval 2 --keep 2 --max-rounds 4 2>&1 >/dev/null |
  while IFS= read -r l; do printf '%s %s\n' "$(now_ns)" "$l"; done >"$FERRY_SHARED/ha.log" ) &
# verifications while it runs: "END_NS WRITES" for each that passed
while :; do
	v=$(workload_verify "$pid" /tmp/mig.pid.verify)
	case $v in OK*) ;; *) fail "verification on a: $v" ;; esac
	echo "$(now_ns) $(echo "$v" | sed -n 's/.*writes=\([0-9]*\).*/\1/p')" >>"$FERRY_SHARED/verified"
	grep -q "failed\|error" "$FERRY_SHARED/ha.log" && fail "ferry ha: $(grep "failed\|error" "$FERRY_SHARED/ha.log" | head -3)"
	sleep 0.7
done
