#!/bin/bash
# ferry-vm: hosts=2
# ferry-move-tcp-remote6: ferry-move-tcp-remote over IPv6. A Podman
# container on a dual-stack network serving clients on another machine
# over IPv6 moves from a to b with `ferry migrate --container`, and those
# clients do not notice, although b masquerades what leaves its containers
# over IPv6 too.
#
# Topology: network "ferry6" (10.89.7.0/24 and fd99:7::/64, --ipv6), made
# alike on both hosts; the container (runc, its addresses on a's bridge of
# that network) runs tests/progs/tcp_stream's server on "::". The clients
# are a third machine on the LAN: network namespace "cli" (fd00:99::50 on
# a link where a is fd00:99::1 and b fd00:99::2) on host a, bridged onto
# the link (lib/lan.sh), reaching the container's IPv6 address through a
# route via a, switched to b once the container runs there (as a network
# fabric would move the address).
#
# The hazard: on b, the restored container's first packet of a connection
# is the first b's conntrack sees of it; taken for a new outgoing
# connection, netavark's IPv6 masquerade rule rewrites it to b's address,
# the client answers with a reset, and the connection dies. ferry carries
# the connections' IPv6 conntrack entries (CONNTRACK6) from a to b before
# the restore.
#
# Must stay unchanged: every connection alive and making progress at both
# ends, no reset (the applications' counts, RST packets in and out of
# "cli"), both byte streams exact. Also: ferry migrate said it carries one
# IPv6 conntrack entry per connection, and none of IPv4 (the container has
# no IPv4 connection), and b made them.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/podman.sh"
. "$FERRY_SRC/tests/vm/lib/lan.sh"
. "$FERRY_SRC/tests/vm/lib/stream.sh"
ctr_setup
S=$FERRY_SHARED
PORT=7968
SPORT=7100
NET=ferry6
NET4=10.89.7.0/24
NET6=fd99:7::/64
CLI_IP=10.99.0.50
CLI_IP6=fd00:99::50
# this host's and the peer's IPv6 address on the LAN: fd00:99:: and the
# last byte of the IPv4 one (a ::1, b ::2)
MY_IP6=fd00:99::${FERRY_MY_IP##*.}
PEER_IP6=fd00:99::${FERRY_PEER_IP##*.}
N=8
RATE=32768
spid() { pgrep -f "tcp_stream server" | head -1; }
# net6_up: IPv6 forwarding on (netavark turns it on too, but only once a
# container of the network starts) and the network, alike on both hosts:
# both subnets given, or Podman would pick the IPv4 one by what it finds
# free (one an earlier script of this boot left goes first)
FWD6=$(cat /proc/sys/net/ipv6/conf/all/forwarding)
net6_up() {
	sysctl -qw net.ipv6.conf.all.forwarding=1
	podman network rm -f "$NET" >/dev/null 2>&1 || true
	podman network create --ipv6 --subnet "$NET4" --subnet "$NET6" "$NET" >/dev/null
}
# shellcheck disable=SC2317 # the EXIT traps'
net6_down() {
	podman network rm -f "$NET" >/dev/null 2>&1
	sysctl -qw net.ipv6.conf.all.forwarding="$FWD6"
	return 0
}

if [ "$FERRY_ROLE" = a ]; then
	CP=
	# shellcheck disable=SC2317 # the EXIT trap's
	cleanup() {
		set +e
		[ -n "$CP" ] && kill -9 "$CP" 2>/dev/null
		podman rm -f -t 0 c1 >/dev/null 2>&1
		net6_down
		lan_client_down cli
		return 0
	}
	trap cleanup EXIT
	lan_client_up cli "$CLI_IP"
	ip addr add "$MY_IP6/64" dev br0 nodad
	ip -n cli addr add "$CLI_IP6/64" dev vc0 nodad
	net6_up
	step "image"
	ctr_image_build "$CTR_DIR/rootfs.tar" "$FERRY_PROGS/tcp_stream"
	podman import -q "$CTR_DIR/rootfs.tar" localhost/ferry-tcp:1 >/dev/null
	podman save -q -o "$S/image.tar" localhost/ferry-tcp:1
	step "run"
	podman run -d -q --name c1 --network "$NET" localhost/ferry-tcp:1 \
		/w/tcp_stream server :: $SPORT $N /tmp/srv.st /tmp/srv.pid $RATE >/dev/null
	for _ in $(seq 300); do [ -n "$(spid)" ] && break; sleep 0.2; done
	[ -n "$(spid)" ] || fail "tcp_stream does not run in the container"
	CIP6=$(podman inspect --format "{{(index .NetworkSettings.Networks \"$NET\").GlobalIPv6Address}}" c1)
	case $CIP6 in fd99:7::*) ;; *) fail "the container's IPv6 address is '$CIP6', not one of $NET6" ;; esac
	step "the container's IPv6 address: $CIP6"
	echo "$CIP6" >"$S/cip6"
	ip -n cli -6 route add "$CIP6/128" via "$MY_IP6"
	stream_remote_clients "$CIP6" $SPORT $N $RATE
	barrier image 600
	barrier ready 900
	step "migrate"
	ctr_migrate c1 $PORT 3
	# the container runs on b: the fabric moves its address there
	ip -n cli -6 route replace "$CIP6/128" via "$PEER_IP6"
	sleep 5
	s=$(status "$CP" /tmp/cli.st); step "clients after: $s"
	check_ok "$s" "clients after the migration"
	progress /tmp/cli.1 /tmp/cli.st "clients after the migration"
	stream_drain_clients
	n=$(sed -n 's/.*: \([0-9]*\) IPv6 conntrack entr.* of its connections to carry.*/\1/p' "$FERRY_OUT/migrate.log")
	assert_eq "${n:-none}" "$N" "IPv6 conntrack entries ferry migrate carries"
	n=$(sed -n 's/.*: \([0-9]*\) conntrack entr.* of its connections to carry.*/\1/p' "$FERRY_OUT/migrate.log")
	assert_eq "${n:-none}" none "IPv4 conntrack entries ferry migrate carries"
	if grep -E "conntrack entries are not carried|takes no (IPv6 )?conntrack entries|connections are NATed by this host" \
		"$FERRY_OUT/migrate.log"; then
		fail "ferry migrate warned about the conntrack entries"
	fi
	barrier checked 900
	exit 0
fi

# shellcheck disable=SC2317 # the EXIT trap's
cleanup() {
	set +e
	podman rm -f -t 0 c1 >/dev/null 2>&1
	net6_down
	ip addr del "$MY_IP6/64" dev "$FERRY_NETDEV" 2>/dev/null
	return 0
}
trap cleanup EXIT
ip addr add "$MY_IP6/64" dev "$FERRY_NETDEV" nodad
net6_up
barrier image 600
podman load -q -i "$S/image.tar" >/dev/null
ctr_receive $PORT
SP=$(spid)
[ -n "$SP" ] || fail "tcp_stream does not run on b"
CIP6=$(podman inspect --format "{{(index .NetworkSettings.Networks \"$NET\").GlobalIPv6Address}}" c1)
assert_eq "$CIP6" "$(cat "$S/cip6")" "the container's IPv6 address on b"
# what makes the entries needed (for the log: a run without a masquerade
# rule here would pass without them)
step "b's IPv6 masquerade rules: $(ip6tables -t nat -S 2>&1 | grep -c MASQUERADE || true)"
stream_publish_server "$SP"
grep "conntrack:" "$FERRY_OUT/receive.log" || fail "ferry receive made no conntrack entries"
grep -q "conntrack: $N of $N IPv6 entries made" "$FERRY_OUT/receive.log" ||
	fail "ferry receive did not make one IPv6 conntrack entry per connection"
barrier checked 900
