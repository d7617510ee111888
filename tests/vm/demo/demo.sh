#!/bin/bash
# ferry-vm: hosts=2
# The demo job of `make demo`: two guests (host a = 10.99.0.1, host b =
# 10.99.0.2) on a virtual link. Host a runs a small service on the service
# address 10.99.0.100: tests/progs/tcp_stream, streaming self-checking data
# both ways over 4 TCP connections to a client. The client is a separate
# TCP stack: a network namespace "client" on host b (10.99.0.50), bridged
# onto the link, reaching the service over the network. `ferry migrate
# --move-addr` moves the running service, its connections and its address
# live to host b; the client never reconnects. At the end the client
# reports that every byte arrived in order, with no reset.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/lan.sh"
. "$FERRY_SRC/tests/vm/lib/stream.sh"
S=$FERRY_PROGS/tcp_stream
VIP=10.99.0.100
CLI_IP=10.99.0.50
PORT=7940 FPORT=7900
N=4
dev=$FERRY_NETDEV

if [ "$FERRY_ROLE" = b ]; then
	CP=
	cleanup() {
		set +e
		[ -n "$CP" ] && kill -9 "$CP" 2>/dev/null
		[ -s "$FERRY_SHARED/srv.pid" ] && kill -9 "$(cat "$FERRY_SHARED/srv.pid")" 2>/dev/null
		lan_client_down client
	}
	trap cleanup EXIT
	lan_client_up client "$CLI_IP"	# the client's own TCP stack, on the LAN
	echo "== host b: ferry check"
	"$FERRY_BIN" check --no-criu || true
	echo "== host b: ferry receive --listen $FERRY_MY_IP:$FPORT --once --allow-addr $VIP/24"
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$FPORT" --once --allow-addr "$VIP/24" \
		--dir /var/tmp &
	rpid=$!
	wait_port "$FPORT"
	barrier netready
	barrier listening 300
	echo "== client (netns on host b, $CLI_IP): $N connections to $VIP:$PORT"
	setsid ip netns exec client "$S" client "$VIP" $PORT $N /tmp/cli.st </dev/null \
		>/dev/null 2>/tmp/client.err &
	disown	# its end is the cleanup's business, not a job report
	for i in $(seq 100); do CP=$(pgrep -f "tcp_stream client $VIP" || true); [ -n "$CP" ] && break; sleep 0.1; done
	[ -n "$CP" ] || fail "client did not start"
	sleep 3
	echo "   client before: $(status "$CP" /tmp/cli.st)"
	barrier clients-up
	barrier migrated 900
	wait $rpid || fail "ferry receive failed"
	sleep 3
	s=$(status "$CP" /tmp/cli.st)
	echo "== client after the migration: $s"
	case $s in OK*) ;; *) fail "the client saw a broken stream: $s" ;; esac
	sp=$(cat "$FERRY_SHARED/srv.pid")
	kill -0 "$sp" || fail "the service does not run on b"
	echo "== host b: the service (pid $sp) runs here and owns $VIP:"
	ip -4 -br addr show br0
	barrier checked
	exit 0
fi

echo 30000 >/proc/sys/kernel/ns_last_pid	# keep its PID free on b
cd /
trap 'ip addr del "$VIP/24" dev "$dev" 2>/dev/null || true' EXIT
ip neigh flush dev "$dev"
barrier netready
ip addr add "$VIP/24" dev "$dev"
echo "== host a: service on $VIP:$PORT (tcp_stream server, $N connections)"
setsid "$S" server "$VIP" $PORT $N /tmp/srv.st /tmp/srv.pid </dev/null >/dev/null 2>&1 &
disown	# ferry ends this copy once it runs on b
wait_port "$PORT"
barrier listening
for i in $(seq 300); do [ -s /tmp/srv.pid ] && break; sleep 0.1; done
[ -s /tmp/srv.pid ] || fail "the service did not get its $N connections"
pid=$(cat /tmp/srv.pid)
cp /tmp/srv.pid "$FERRY_SHARED/srv.pid"
barrier clients-up
echo "   service before: $(status "$pid" /tmp/srv.st)"
echo "== host a: ferry tcp $pid (the connections, as ferry.ko exports them)"
"$FERRY_BIN" tcp "$pid" | grep -E '^(State|LISTEN|ESTAB)' || true
echo "== host a: ferry migrate $pid --to $FERRY_PEER_IP:$FPORT --move-addr $VIP/24"
"$FERRY_BIN" migrate "$pid" --to "$FERRY_PEER_IP:$FPORT" --move-addr "$VIP/24" \
	--max-downtime 300 --max-rounds 6
barrier migrated
kill -0 "$pid" 2>/dev/null && sleep 1
kill -0 "$pid" 2>/dev/null && fail "the source copy still runs on a"
echo "== host a: the source copy is gone; the service and $VIP now live on host b"
barrier checked
