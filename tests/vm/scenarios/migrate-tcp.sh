#!/bin/bash
# ferry-vm: hosts=2
# migrate-tcp: a server with 20 established TCP connections moves from host
# a to host b with `ferry migrate --move-addr`, its clients streaming
# sequence-numbered data both ways all along, and no connection notices.
#
# Topology: the service address 10.99.0.100/24 is on a's link interface.
# The clients (tests/progs/tcp_stream client, one process, 20 connections)
# run on b in their own network namespace "cli" (10.99.0.50/24), a separate
# TCP stack bridged onto the link (b's link interface and a veth into "cli"
# are ports of br0): they reach the service address over the link and
# resolve it with ARP like any host on the LAN, before and after the move.
# The server (tcp_stream server) is not their parent: it is the migrated
# tree, started on a.
#
# Must stay unchanged, and how it is checked:
#  - no connection is reset: each end counts EOF/ECONNRESET/EPIPE per
#    connection (must be 0), an nftables counter in "cli" counts TCP RST
#    packets in and out of the clients' stack (must be 0), and the clients'
#    TcpEstabResets (must be 0);
#  - both byte streams are exact: every byte each end receives is checked
#    against the stream it must carry (id, direction, offset); after the
#    migration both ends stop sending, the queues drain, and for every
#    connection the bytes the client sent equal those the server received,
#    and the other way round, with 0 mismatches;
#  - all 20 connections stay alive and make progress: after each step every
#    connection's received byte counts grow at both ends;
#  - the report says tcp_connections_kept = tcp_connections_dumped = 20 (the
#    server-side sockets; the clients are not migrated);
#  - exactly one server runs, on b, and the address is on b only; no lock
#    table (CRIU's inet CRIU-PID on a, ferry's on b) is left behind;
#  - the real migration runs with --postcopy: the server runs on b, its
#    connections live, before the pages it changed last are there; the
#    report's post-copy counts add up (pages = on fault + pushed > 0).
# Failure first: a migration to a receiver whose `criu restore` fails (an
# invalid CRIU option) runs after the freeze, dump and address removal: the
# source must get the address back, unlock its connections and resume, and
# the same checks (alive, progress, no reset) must hold before the real
# migration starts.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/lan.sh"
. "$FERRY_SRC/tests/vm/lib/stream.sh"
S=$FERRY_PROGS/tcp_stream
VIP=10.99.0.100
CLI_IP=10.99.0.50
PORT=7940
N=20
dev=$FERRY_NETDEV

if [ "$FERRY_ROLE" = b ]; then
	CP=
	cleanup() {	# put b's network back as the test bed made it
		set +e
		[ -n "$CP" ] && kill -9 "$CP" 2>/dev/null
		[ -s "$FERRY_SHARED/srv.pid" ] && kill -9 "$(cat "$FERRY_SHARED/srv.pid")" 2>/dev/null
		lan_client_down cli
		for t in $(nft list tables 2>/dev/null | awk '/ferry_move_/ {print $3}'); do
			nft delete table inet "$t"
		done
		return 0
	}
	trap cleanup EXIT
	lan_client_up cli "$CLI_IP"
	lan_rst_watch cli

	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:7931" --once --allow-addr "$VIP/24" \
		--criu-arg=--no-such-criu-option 2>"$FERRY_OUT/receive-fail.log" &
	r1=$!
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:7932" --once --allow-addr "$VIP/24" \
		2>"$FERRY_OUT/receive.log" &
	r2=$!
	wait_port 7931; wait_port 7932
	barrier netready
	barrier listening 300
	stream_clients_start "$VIP" $PORT
	ip -n cli neigh show "$VIP"
	barrier clients-up

	# 1. a migration whose restore fails: the source keeps its connections
	rc=0; wait $r1 || rc=$?
	cat "$FERRY_OUT/receive-fail.log"
	assert_eq "$rc" 1 "receive exit status after a failed restore"
	ip -4 addr show | grep -q "inet $VIP/" && fail "$VIP left on b after the failed restore"
	nft list tables | grep -q ferry_move_ && fail "b kept its lock table after the failed restore"
	barrier failed
	barrier resumed 300
	sleep 4
	s=$(status "$CP" /tmp/cli.st); echo "clients after the failed migration: $s"
	check_ok "$s" "clients after the failed migration"
	progress /tmp/cli.0 /tmp/cli.st "clients after the failed migration"
	cp /tmp/cli.st /tmp/cli.1
	ip -n cli neigh show "$VIP"
	barrier checked1

	# 2. the real migration
	barrier migrated 900
	# the receiver may still be filling in pages (lazy restore): check
	# the tree meanwhile, its exit status at the end
	for i in $(seq 300); do
		grep -q "migration done\|migration failed" "$FERRY_OUT/receive.log" && break
		sleep 0.1
	done
	grep -q "migration done" "$FERRY_OUT/receive.log" ||
		{ cat "$FERRY_OUT/receive.log"; fail "the receiver did not restore the tree"; }
	# the worker path: CRIU's post-restore notification unlocked the address
	grep -q "restored by the waiting CRIU worker" "$FERRY_OUT/receive.log" ||
		fail "the restore did not go through the CRIU worker"
	grep -q "hook did not unlock" "$FERRY_OUT/receive.log" &&
		fail "CRIU's post-restore notification did not unlock the address"
	SP=$(cat "$FERRY_SHARED/srv.pid")
	kill -0 "$SP" || fail "server $SP does not run on b"
	ip -4 addr show br0 | grep -q "inet $VIP/" || fail "$VIP is not on b's br0"
	nft list tables | grep -q ferry_move_ && fail "b kept its lock table"
	sleep 4
	s=$(status "$CP" /tmp/cli.st); echo "clients after the migration: $s"
	check_ok "$s" "clients after the migration"
	progress /tmp/cli.1 /tmp/cli.st "clients after the migration"
	cp /tmp/cli.st /tmp/cli.2
	v=$(status "$SP" /tmp/srv.st); echo "server on b: $v"; check_ok "$v" "server on b"
	cp /tmp/srv.st /tmp/srv.2
	sleep 3
	s=$(status "$CP" /tmp/cli.st); v=$(status "$SP" /tmp/srv.st)
	check_ok "$s" "clients, later"; check_ok "$v" "server on b, later"
	progress /tmp/cli.2 /tmp/cli.st "clients, later"
	progress /tmp/srv.2 /tmp/srv.st "server on b, later"
	ip -n cli neigh show "$VIP"

	# byte-exact: stop sending, let the queues drain, compare both ends
	kill -USR2 "$SP" "$CP"
	prev=
	for i in $(seq 60); do
		sleep 1
		status "$CP" /tmp/cli.st >/dev/null; status "$SP" /tmp/srv.st >/dev/null
		cur=$(cat /tmp/cli.st /tmp/srv.st | md5sum)
		[ "$cur" = "$prev" ] && break
		prev=$cur
	done
	byte_exact /tmp/cli.st /tmp/srv.st
	s=$(head -n1 /tmp/cli.st)
	# informational: the longest time a client connection received nothing
	# (the freeze, plus TCP's retransmission back-off, plus ARP)
	echo "clients' longest stall: $(field "$s" max_stall_ms) ms"
	assert_eq "$(lan_rsts cli)" 0 "TCP RST packets seen by the clients' stack"
	assert_eq "$(lan_estab_resets cli)" 0 "clients' TcpEstabResets"
	for i in $(seq 600); do kill -0 $r2 2>/dev/null || break; sleep 0.1; done
	if kill -0 $r2 2>/dev/null; then
		ps -eo pid,stat,args | grep -E "criu|ferry" | grep -v grep || true
		cat "$FERRY_OUT/receive.log"
		fail "ferry receive still runs a minute after the checks"
	fi
	rc=0; wait $r2 || rc=$?
	cat "$FERRY_OUT/receive.log"
	assert_eq "$rc" 0 "ferry receive exit status"
	barrier checked
	exit 0
fi

# role a
echo 30000 >/proc/sys/kernel/ns_last_pid
cd /
cleanup() {
	set +e
	[ -s /tmp/srv.pid ] && kill -9 "$(cat /tmp/srv.pid)" 2>/dev/null
	ip addr del "$VIP/24" dev "$dev" 2>/dev/null
	return 0
}
trap cleanup EXIT
ip neigh flush dev "$dev"	# no stale entry for the clients' address
barrier netready
stream_server_start "$VIP" $PORT

# 1. the destination's restore fails: everything must be as before
rc=0
"$FERRY_BIN" migrate "$SP" --to "$FERRY_PEER_IP:7931" --move-addr "$VIP/24" \
	2>"$FERRY_OUT/migrate-fail.log" || rc=$?
cat "$FERRY_OUT/migrate-fail.log"
assert_eq "$rc" 1 "migrate exit status when the restore fails"
grep -q "runs here again" "$FERRY_OUT/migrate-fail.log" || fail "source not reported resumed"
grep -q "$N TCP connections unlocked" "$FERRY_OUT/migrate-fail.log" ||
	fail "the $N connections were not reported unlocked"
ip -4 addr show "$dev" | grep -q "inet $VIP/" || fail "$VIP not back on a"
nft list tables | grep -q "CRIU-$SP" && fail "CRIU's lock table left on a"
[ "$(awk '{print $3}' /proc/$SP/stat)" != T ] || fail "server left stopped"
barrier failed
barrier resumed
sleep 4
v=$(status "$SP" /tmp/srv.st); echo "server after the failed migration: $v"
check_ok "$v" "server after the failed migration"
progress /tmp/srv.0 /tmp/srv.st "server after the failed migration"
barrier checked1

# 2. the real migration, with post-copy: the server's pages changed since
# the last round stay on a until it runs on b with its connections
rc=0
"$FERRY_BIN" migrate "$SP" --to "$FERRY_PEER_IP:7932" --move-addr "$VIP/24" --postcopy --json \
	>"$FERRY_OUT/report.json" 2>"$FERRY_OUT/migrate.log" || rc=$?
cat "$FERRY_OUT/migrate.log" "$FERRY_OUT/report.json"
barrier migrated
assert_eq "$rc" 0 "ferry migrate exit status"
r=$(cat "$FERRY_OUT/report.json")
assert_eq "$(jq_get "$r" tcp_connections_dumped)" $N "connections dumped"
assert_eq "$(jq_get "$r" tcp_connections_kept)" $N "connections kept (server side)"
assert_eq "$(jq -r .postcopy.used <<<"$r")" true "report: postcopy.used"
pcp=$(jq .postcopy.pages <<<"$r")
[ "$pcp" -gt 0 ] || fail "post-copy left no page behind"
assert_eq "$(( $(jq .postcopy.pages_on_fault <<<"$r") + $(jq .postcopy.pages_pushed <<<"$r") ))" \
	"$pcp" "post-copy: pages on fault + pushed"
echo "downtime_ms=$(jq_get "$r" downtime_ms) total_ms=$(jq_get "$r" total_ms)"
for i in $(seq 50); do kill -0 "$SP" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SP" 2>/dev/null && fail "server still runs on a"
ip -4 addr show | grep -q "inet $VIP/" && fail "$VIP still on a"
nft list tables | grep -q "CRIU-$SP" && fail "CRIU's lock table left on a"
rm -f /tmp/srv.pid
barrier checked 300
