#!/bin/bash
# ferry-vm: hosts=2
# The main job of `make demo`: a live migration of a Podman container. Host
# a (10.99.0.1) runs a container "web" on Podman's bridge network, with its
# own address: tests/progs/tcp_stream's server, streaming self-checking data
# both ways over 4 TCP connections to a client on host b (10.99.0.2), which
# reaches the container's address through a route via host a. `ferry
# migrate --container web` moves it live to host b: ferry.ko copies its
# memory while it serves, Podman checkpoints only what changed since, and
# host b's Podman restores it with its ID, name, address and connections.
# Then b takes the route over (a network fabric would move the address);
# the client never reconnects and reports every byte in order, no reset.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/podman.sh"
. "$FERRY_SRC/tests/vm/lib/stream.sh"
ctr_setup
S=$FERRY_SHARED
SPORT=7100 FPORT=7901
N=4
trap 'podman rm -f -t 0 web >/dev/null 2>&1; true' EXIT

if [ "$FERRY_ROLE" = a ]; then
	echo "== host a: a test image from this machine's binaries (no registry here)"
	ctr_image_build $CTR_DIR/rootfs.tar "$FERRY_PROGS/tcp_stream"
	podman import -q $CTR_DIR/rootfs.tar localhost/ferry-demo:1 >/dev/null
	podman save -q -o "$S/image.tar" localhost/ferry-demo:1	# b gets the same image ID
	barrier image 600
	echo "== host a: podman run --name web (tcp_stream server, $N connections; about a minute under TCG)"
	podman run -d -q --name web --network bridge localhost/ferry-demo:1 \
		/w/tcp_stream server 0.0.0.0 $SPORT $N /tmp/srv.st /tmp/srv.pid >/dev/null
	podman ps --format '   {{.Names}}  {{.ID}}  {{.Status}}'
	podman inspect --format '{{.NetworkSettings.IPAddress}}' web >"$S/cip"
	echo "   its address: $(cat "$S/cip")"
	barrier started 600
	barrier clients-up 600
	sp=$(pgrep -f "tcp_stream server" | head -1)
	echo "   the service in it, before: $(status "$sp" /proc/$sp/root/tmp/srv.st)"
	echo "== host a: ferry migrate --container web --to $FERRY_PEER_IP:$FPORT"
	"$FERRY_BIN" migrate --container web --to "$FERRY_PEER_IP:$FPORT" --max-rounds 4
	barrier migrated 900
	[ -z "$(podman ps -aq)" ] || fail "a container is left on a: $(podman ps -a)"
	echo "== host a: podman ps shows nothing: web lives on host b now"
	barrier checked 900
	exit 0
fi

CP=
cleanup() {
	set +e
	[ -n "$CP" ] && kill -9 "$CP" 2>/dev/null
	[ -s "$S/cip" ] && ip route del "$(cat "$S/cip")/32" 2>/dev/null
	podman rm -f -t 0 web >/dev/null 2>&1
	return 0
}
trap cleanup EXIT
barrier image 600
echo "== host b: podman load of the same image"
podman load -q -i "$S/image.tar" >/dev/null
barrier started 600
CIP=$(cat "$S/cip")
ip route add "$CIP/32" via "$FERRY_PEER_IP"	# the container's address lives on a
echo "== client on host b: $N connections to $CIP:$SPORT (via host a)"
setsid "$FERRY_PROGS/tcp_stream" client "$CIP" $SPORT $N /tmp/ctr-cli.st </dev/null \
	>/dev/null 2>"$FERRY_OUT/client.err" &
disown $!	# its end is the cleanup's business
for i in $(seq 100); do CP=$(pgrep -f "tcp_stream client $CIP" || true); [ -n "$CP" ] && break; sleep 0.1; done
[ -n "$CP" ] || fail "the client did not start"
sleep 3
echo "   client before: $(status "$CP" /tmp/ctr-cli.st)"
echo "== host b: ferry receive --listen $FERRY_MY_IP:$FPORT --once"
"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$FPORT" --once --dir /var/tmp --phase-timeout 900 &
rpid=$!
wait_port "$FPORT" 30
barrier clients-up
rc=0
wait $rpid || rc=$?
ip route del "$CIP/32"	# the fabric moves the address: b delivers it to its podman0
barrier migrated 900
assert_eq "$rc" 0 "ferry receive exit status"
echo "== host b: podman ps"
podman ps --format '   {{.Names}}  {{.ID}}  {{.Status}}'
assert_eq "$(podman inspect --format '{{.NetworkSettings.IPAddress}}' web)" "$CIP" "the container's address on b"
sleep 3
s=$(status "$CP" /tmp/ctr-cli.st)
echo "== client after the migration: $s"
check_ok "$s" "the client"
sp=$(pgrep -f "tcp_stream server" | head -1)
[ -n "$sp" ] || fail "the service does not run in web on b"
echo "   the service in web on b: $(status "$sp" /proc/$sp/root/tmp/srv.st)"
barrier checked 900
