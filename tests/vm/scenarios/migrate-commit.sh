#!/bin/bash
# ferry-vm: hosts=2
# migrate-commit: the commit protocol under loss. Exactly one live copy,
# or a frozen one that `ferry settle` resolves to exactly one -- never two,
# never none -- in every trial (FERRY_TRIALS of each case, default 2, or
# the number in build/vm/commit-trials; the issue's count is 20):
# Each fault is set up while b's restore is held at CRIU's pre-resume
# action (the tree restored, not yet running, RESTORED not yet sent), so
# it lands at the same moment in every trial:
#  A. b drops its own packets on the migration connection (nftables,
#     output, that connection's ports): the RESTORED frame never reaches
#     a, which asks b on a new connection what became of the migration
#     and kills its copy;
#  B. b's link goes down: on odd trials for 25 s, which
#     a's outcome queries outlast (--settle-timeout 60): restored there,
#     killed here; on even trials for longer than a's --settle-timeout 10:
#     a exits 7 with its tree frozen, and `ferry settle DIR`, once the link
#     is back, asks again and kills it;
#  C. b drops its packets on the migration connection as in A, and the
#     receiver (server and session) is killed right after it recorded the
#     restore, so a never hears RESTORED: on odd trials it is restarted at once and answers a's
#     query from its record; on even trials only after a gave up (exit 7,
#     frozen), and `ferry settle DIR` resolves it.
# A live copy: the process exists, is not stopped, and (on b) passes its
# own page verification.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
W=$FERRY_PROGS/mig_workload
PORT=7950
# the guest's environment is the test bed's: a count can also come from
# build/vm/commit-trials on the host (`echo 20 >build/vm/commit-trials`)
TRIALS=${FERRY_TRIALS:-$(cat "$FERRY_SRC/build/vm/commit-trials" 2>/dev/null || echo 2)}
# and the cases to run from build/vm/commit-cases (default: all three)
CASES=$(cat "$FERRY_SRC/build/vm/commit-cases" 2>/dev/null || echo A B C)
OUTC=/run/ferry/outcomes


if [ "$FERRY_ROLE" = b ]; then
	r=
	serve() {	# the receiver, for the whole case
		"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT" --no-lazy \
			2>>"$FERRY_OUT/receive.log" &
		r=$!
		wait_port "$PORT"
	}
	restoring() {	# N: wait for the Nth restore to begin
		local i
		for i in $(seq 6000); do
			[ "$(grep -c "final images received" "$FERRY_OUT/receive.log")" -ge "$1" ] && return
			sleep 0.02
		done
		fail "restore $1 never began"
	}
	# The hold (hold_hook): every restore waits at pre-resume until the
	# trial's fault is in place. (Setting faults up when the log said the
	# restore began raced it: a small tree is restored and RESTORED sent in
	# well under a second, and most "link cut after COMMIT" trials cut it
	# after RESTORED had arrived.) Installed through CRIU's configuration
	# file, not --criu-arg, so that the receiver's usual `criu swrk` runs.
	hold_hook commit
	echo "action-script /tmp/commit-hook.sh" >/tmp/commit-criu.conf
	export CRIU_CONFIG_FILE=/tmp/commit-criu.conf
	nft add table inet ferrytest
	nft add chain inet ferrytest out '{ type filter hook output priority 0; }'
	# (|| true, not "; true": under set -e a failing kill, of a receiver
	# already gone, would end the trap and make a passing run exit 1)
	trap 'nft delete table inet ferrytest 2>/dev/null || true; [ -z "$r" ] || kill "$r" 2>/dev/null || true' EXIT
	: >"$FERRY_OUT/receive.log"
	serve
	n=0
	for c in $CASES; do
		for i in $(seq "$TRIALS"); do
			t=$c$i
			hold_hook commit	# (again: the next restore is held)
			barrier "$t-go" 300
			n=$((n + 1))
			restoring "$n"
			wait_held commit "$r" "$FERRY_OUT/receive.log" 120
			case $c in
			A)	drop_session ferrytest $PORT "$t"
				: >/tmp/commit-release
				barrier "$t-back" 600
				nft flush chain inet ferrytest out ;;
			B)	cut=25; [ $((i % 2)) = 0 ] && cut=45
				ip link set "$FERRY_NETDEV" down
				: >/tmp/commit-release
				echo "$t: link down at pre-resume, for $cut s"
				sleep $cut
				ip link set "$FERRY_NETDEV" up
				barrier "$t-back" 600 ;;
			C)	drop_session ferrytest $PORT "$t"
				: >/tmp/commit-release
				for k in $(seq 3000); do
					[ "$(grep -l '^1 ' $OUTC/* 2>/dev/null | wc -l)" -ge "$((i))" ] && break
					sleep 0.01
				done
				kill_receiver "$r"
				echo "$t: receiver killed after recording the restore"
				if [ $((i % 2)) = 1 ]; then serve; barrier "$t-back" 600
				else barrier "$t-gaveup" 600; serve; barrier "$t-back" 600; fi
				nft flush chain inet ferrytest out ;;
			esac
			barrier "$t-migrated" 600
			pid=$(cat "$FERRY_SHARED/pid")
			echo "$(live "$pid" /tmp/commit.pid)" >"$FERRY_SHARED/b-$t"
			barrier "$t-checked" 120
			kill -9 "$pid" 2>/dev/null || true
			barrier "$t-clean" 120
		done
		# C counts records: each case starts with none
		rm -f $OUTC/*
	done
	kill "$r"; wait "$r" || true
	tail -n 40 "$FERRY_OUT/receive.log"
	barrier done 120
	exit 0
fi

echo 30000 >/proc/sys/kernel/ns_last_pid
cd /
counts=""
for c in $CASES; do
	ok=0 frozen=0
	for i in $(seq "$TRIALS"); do
		t=$c$i
		rm -f /tmp/commit.pid
		setsid "$W" 4 64 /tmp/commit.pid z </dev/null >/dev/null 2>&1 &
		for k in $(seq 600); do [ -s /tmp/commit.pid ] && break; sleep 0.1; done
		pid=$(cat /tmp/commit.pid)
		echo "$pid" >"$FERRY_SHARED/pid"
		st=60; [ "$c" != A ] && [ $((i % 2)) = 0 ] && st=10
		barrier "$t-go" 300
		rc=0
		"$FERRY_BIN" migrate "$pid" --to "$FERRY_PEER_IP:$PORT" --settle-timeout $st \
			2>"$FERRY_OUT/m-$t.log" || rc=$?
		echo "== $t: ferry migrate exit $rc"
		cat "$FERRY_OUT/m-$t.log"
		[ "$c" = C ] && [ $((i % 2)) = 0 ] && barrier "$t-gaveup" 600
		[ "$c" = A ] && barrier "$t-back" 600
		if [ "$rc" = 7 ]; then
			frozen=$((frozen + 1))
			[ "$(live "$pid")" = 0 ] || fail "$t: exit 7 but the tree runs here"
			kill -0 "$pid" || fail "$t: exit 7 but the tree is gone here"
			dir=$(sed -n 's/^  ferry settle \([^ ]*\) .*/\1/p' "$FERRY_OUT/m-$t.log" | head -n1)
			[ -n "$dir" ] || fail "$t: no settle command printed"
			barrier "$t-back" 600
			src=0; "$FERRY_BIN" settle "$dir" --settle-timeout 60 || src=$?
			assert_eq "$src" 0 "$t: ferry settle exit status"
		else
			assert_eq "$rc" 0 "$t: ferry migrate exit status"
			barrier "$t-back" 600	# (a barrier may be passed twice)
		fi
		barrier "$t-migrated" 600
		sleep 1
		a=$(live "$pid")
		barrier "$t-checked" 120
		b=$(cat "$FERRY_SHARED/b-$t")
		echo "$t: live on a: $a, on b: $b"
		[ $((a + b)) = 1 ] || fail "$t: $((a + b)) live copies"
		ok=$((ok + 1))
		kill -9 "$pid" 2>/dev/null || true
		barrier "$t-clean" 120
	done
	counts="$counts $c: $ok/$TRIALS with one live copy ($frozen settled after exit 7);"
done
echo "trials:$counts"
barrier done 120
