#!/bin/bash
# ferry-vm: hosts=2
# ferry-vm: own-boot
# migrate-postcopy-loss: post-copy's window, broken on purpose. The tree
# runs on b while some of its pages are still on a; then the link or a
# dies. Each fault is set up while b's restore is held at CRIU's
# pre-resume action (restored, not running, RESTORED not yet sent), so it
# always lands inside the window: every page of the final dump is then
# still on a (a pushes only once it hears RESTORED).
#  L1. b drops its own packets on the migration connection; the tree
#      (64 MiB of self-checking memory, no socket, no file open for
#      writing) runs on b without its pages. b gives up within its stall
#      limit, kills it, and records that it reached nothing outside; a
#      learns that on a new connection and resumes its own copy.
#  L2. the same with a tree that holds a UDP socket: it may have told the
#      world something while it ran on b, so a must NOT resume it: ferry
#      migrate exits 7 with the tree frozen and says so; `ferry settle`
#      without a choice does nothing (exit 7); `--resume` brings it back.
#  L4. the tree with the UDP socket again, the link cut as in L1, and b's
#      receiver killed (SIGKILL) once the tree runs there: its guard kills
#      the tree and records LOST; a, asking the restarted receiver, stays
#      frozen (exit 7); `ferry settle --resume` brings it back.
#  L3. host a is killed outright (its QEMU): b gives up, kills its tree
#      and says so; the receiver serves on.
# What must hold each time: never two live copies. L1 and L2: exactly one
# live copy in the end, on a, and it verifies (every page's header,
# generation and body; generations summing to its write counter: nothing
# lost, nothing from the dead copy). L3: nothing of the tree left on b.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
W=$FERRY_PROGS/mig_workload
PORT=7907


if [ "$FERRY_ROLE" = b ]; then
	hold_hook pcl
	echo "action-script /tmp/pcl-hook.sh" >/tmp/pcl-criu.conf
	export CRIU_CONFIG_FILE=/tmp/pcl-criu.conf
	nft add table inet pcltest
	nft add chain inet pcltest out '{ type filter hook output priority 0; }'
	r=
	trap 'nft delete table inet pcltest 2>/dev/null || true; [ -z "$r" ] || kill "$r" 2>/dev/null || true' EXIT
	serve() {
		"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT" --dir /var/tmp \
			2>>"$FERRY_OUT/receive.log" &
		r=$!
		wait_port "$PORT"
	}
	serve
	failed_count() { grep -c "post-copy failed after the tree ran here" "$FERRY_OUT/receive.log" || true; }
	runs_count() { grep -c "post-copy: the tree runs here" "$FERRY_OUT/receive.log" || true; }
	n=0 nrun=0
	for t in L1 L2 L4 L3; do
		hold_hook pcl
		barrier "$t-go" 300
		wait_held pcl "$r" "$FERRY_OUT/receive.log" 600
		pid=$(cat "$FERRY_SHARED/pid-$t")
		nrun=$((nrun + 1))
		if [ "$t" = L4 ]; then
			# the window held open: no page reaches the tree (a
			# guest this slow once had every page before the kill)
			drop_session pcltest $PORT "$t"
			: >/tmp/pcl-release
			for i in $(seq 1200); do [ "$(runs_count)" -ge "$nrun" ] && break; sleep 0.1; done
			[ "$(runs_count)" -ge "$nrun" ] || fail "L4: the tree never ran on b"
			kill_receiver "$r"
			echo "L4: receiver killed while the tree ran here in post-copy"
			for i in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -0 "$pid" 2>/dev/null && fail "L4: the guard did not kill the tree (PID $pid)"
			serve	# answers a's queries from the record
			nft flush chain inet pcltest out
			echo 0 >"$FERRY_SHARED/b-$t"
			barrier "$t-done" 600
			continue
		fi
		n=$((n + 1))	# the receiver's own give-ups (L4's is its guard's)
		if [ "$t" = L3 ]; then
			touch "$FERRY_SHARED/kill-host-a"
			for i in $(seq 3000); do [ -s "$FERRY_SHARED/killed-host-a" ] && break; sleep 0.1; done
			[ -s "$FERRY_SHARED/killed-host-a" ] || fail "L3: host a was not killed within 300 s"
			echo "L3: host a killed with the restore held at pre-resume"
		else
			drop_session pcltest $PORT "$t"
		fi
		: >/tmp/pcl-release
		t0=$(date +%s)
		for i in $(seq 1800); do [ "$(failed_count)" -ge "$n" ] && break; sleep 0.1; done
		[ "$(failed_count)" -ge "$n" ] || { tail -n 30 "$FERRY_OUT/receive.log"; fail "$t: b did not give up its tree within 180 s"; }
		echo "$t: b gave up its tree $(( $(date +%s) - t0 )) s after the restore went on"
		for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && fail "$t: the tree (PID $pid) still exists on b"
		case $t in
		L1) grep -q "it had reached nothing outside" "$FERRY_OUT/receive.log" ||
			fail "L1: b does not say the quiet tree reached nothing outside" ;;
		L2) grep -q "may have reached the outside world (process $pid has a network socket" \
			"$FERRY_OUT/receive.log" || fail "L2: b does not name the tree's socket" ;;
		esac
		nft flush chain inet pcltest out
		[ "$t" = L3 ] && break
		echo 0 >"$FERRY_SHARED/b-$t"
		barrier "$t-done" 600
	done
	kill -0 "$r" || fail "the receiver did not serve on"
	tail -n 40 "$FERRY_OUT/receive.log"
	exit 0
fi

cd /
last=30800
for t in L1 L2 L4 L3; do
	echo $last >/proc/sys/kernel/ns_last_pid
	last=$((last + 100))
	pf=/tmp/pcl-$t.pid
	rm -f "$pf" "$pf.verify"
	if [ "$t" = L2 ] || [ "$t" = L4 ]; then
		# a UDP socket (connected: no peer needed) held by the workload
		setsid bash -c "exec 3<>/dev/udp/127.0.0.1/9; exec $W 64 4096 $pf" \
			</dev/null >/dev/null 2>&1 &
	else
		setsid "$W" 64 4096 "$pf" </dev/null >/dev/null 2>&1 &
	fi
	for i in $(seq 300); do [ -s "$pf" ] && break; sleep 0.1; done
	pid=$(cat "$pf")
	echo "$pid" >"$FERRY_SHARED/pid-$t"
	sleep 1
	barrier "$t-go" 300
	rc=0
	"$FERRY_BIN" migrate "$pid" --to "$FERRY_PEER_IP:$PORT" --postcopy --max-rounds 2 \
		--settle-timeout 150 2>"$FERRY_OUT/m-$t.log" || rc=$?
	echo "== $t: ferry migrate exit $rc"
	cat "$FERRY_OUT/m-$t.log"
	case $t in
	L1)	[ "$rc" != 0 ] && [ "$rc" != 7 ] ||
			fail "L1: exit $rc; the destination gave up and a must resume (a failure, not 0 or 7)"
		grep -q "answers: not restored" "$FERRY_OUT/m-$t.log" ||
			fail "L1: a does not say b did not keep the tree" ;;
	L2|L4)	assert_eq "$rc" 7 "$t: ferry migrate exit status (frozen)"
		grep -q "may have reached the outside world" "$FERRY_OUT/m-$t.log" ||
			fail "$t: a does not say why it stays frozen"
		[ "$(live "$pid")" = 0 ] && kill -0 "$pid" ||
			fail "$t: exit 7, but the tree is not frozen here"
		dir=$(sed -n 's/^  ferry settle \([^ ]*\) --resume.*/\1/p' "$FERRY_OUT/m-$t.log" | head -n1)
		[ -n "$dir" ] || fail "$t: no settle command printed"
		src=0; "$FERRY_BIN" settle "$dir" --settle-timeout 20 || src=$?
		assert_eq "$src" 7 "$t: ferry settle without --kill/--resume (nothing to decide by itself)"
		[ "$(live "$pid")" = 0 ] || fail "$t: a bare ferry settle resumed the tree"
		"$FERRY_BIN" settle "$dir" --resume || fail "$t: ferry settle --resume failed" ;;
	esac
	sleep 1
	a=$(live "$pid" "$pf")
	barrier "$t-done" 600
	b=$(cat "$FERRY_SHARED/b-$t")
	echo "$t: live on a: $a, on b: $b"
	assert_eq "$a" 1 "$t: the copy on a runs and verifies"
	kill -9 "$pid" 2>/dev/null || true
done
