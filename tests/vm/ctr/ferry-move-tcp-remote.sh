#!/bin/bash
# ferry-vm: hosts=2
# ferry-move-tcp-remote: a Podman container serving clients on another
# machine moves from a to b with `ferry migrate --container`, and those
# clients do not notice, although b masquerades what leaves its containers.
#
# Topology: the container (runc, Podman's bridge network, its address on
# a's podman0) runs tests/progs/tcp_stream's server. The clients are a
# third machine on the LAN: network namespace "cli" (10.99.0.50) on host a,
# bridged onto the link (lib/lan.sh), reaching the container's address
# through a route via a, switched to b once the container runs there (as
# a network fabric would move the address).
#
# The hazard: on b, the restored container's first packet of a connection
# is the first b's conntrack sees of it; taken for a new outgoing
# connection, Podman's masquerade rule rewrites it to b's address, the
# client answers with a reset, and the connection dies. ferry carries the
# connections' conntrack entries from a to b before the restore.
#
# Must stay unchanged: every connection alive and making progress at both
# ends, no reset (the applications' counts, RST packets in and out of
# "cli"), both byte streams exact. Also: ferry migrate said it carries one
# conntrack entry per connection, and b made them.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/podman.sh"
. "$FERRY_SRC/tests/vm/lib/lan.sh"
. "$FERRY_SRC/tests/vm/lib/stream.sh"
ctr_setup
S=$FERRY_SHARED
PORT=7967
SPORT=7100
CLI_IP=10.99.0.50
N=8
RATE=32768
spid() { pgrep -f "tcp_stream server" | head -1; }

if [ "$FERRY_ROLE" = a ]; then
	CP=
	cleanup() {
		set +e
		[ -n "$CP" ] && kill -9 "$CP" 2>/dev/null
		podman rm -f -t 0 c1 >/dev/null 2>&1
		lan_client_down cli
		return 0
	}
	trap cleanup EXIT
	lan_client_up cli "$CLI_IP"
	step "image"
	ctr_image_build $CTR_DIR/rootfs.tar "$FERRY_PROGS/tcp_stream"
	podman import -q $CTR_DIR/rootfs.tar localhost/ferry-tcp:1 >/dev/null
	podman save -q -o "$S/image.tar" localhost/ferry-tcp:1
	step "run"
	podman run -d -q --name c1 --network bridge localhost/ferry-tcp:1 \
		/w/tcp_stream server 0.0.0.0 $SPORT $N /tmp/srv.st /tmp/srv.pid $RATE >/dev/null
	for i in $(seq 300); do [ -n "$(spid)" ] && break; sleep 0.2; done
	[ -n "$(spid)" ] || fail "tcp_stream does not run in the container"
	CIP=$(podman inspect --format '{{.NetworkSettings.IPAddress}}' c1)
	echo "$CIP" >"$S/cip"
	ip -n cli route add "$CIP/32" via "$FERRY_MY_IP"
	stream_remote_clients "$CIP" $SPORT $N $RATE
	barrier image 600
	barrier ready 900
	step "migrate"
	ctr_migrate c1 $PORT 3
	# the container runs on b: the fabric moves its address there
	ip -n cli route replace "$CIP/32" via "$FERRY_PEER_IP"
	sleep 5
	s=$(status "$CP" /tmp/cli.st); step "clients after: $s"
	check_ok "$s" "clients after the migration"
	progress /tmp/cli.1 /tmp/cli.st "clients after the migration"
	stream_drain_clients
	n=$(sed -n 's/.*: \([0-9]*\) conntrack entr.* of its connections to carry.*/\1/p' "$FERRY_OUT/migrate.log")
	assert_eq "${n:-none}" "$N" "conntrack entries ferry migrate carries"
	barrier checked 900
	exit 0
fi

trap 'podman rm -f -t 0 c1 >/dev/null 2>&1; true' EXIT
barrier image 600
podman load -q -i "$S/image.tar" >/dev/null
ctr_receive $PORT
SP=$(spid)
[ -n "$SP" ] || fail "tcp_stream does not run on b"
stream_publish_server "$SP"
grep "conntrack:" "$FERRY_OUT/receive.log" || fail "ferry receive made no conntrack entries"
grep -q "conntrack: $N of $N entries made" "$FERRY_OUT/receive.log" ||
	fail "ferry receive did not make one conntrack entry per connection"
barrier checked 900
