#!/bin/bash
# ctr-netlock: the network lock of `ferry migrate --container`
# (user/ctr/ctr_netlock.c) sets down the host's end of each of the
# container's veth pairs, and nothing else on the host, without Podman.
# A container here is a network namespace with a process in it.
#
# Must hold, and how it is checked:
#  - a namespace with a veth whose other end is here: find names that end;
#    lock sets it (and only it) down; TCP streams between the host and the
#    namespace (tcp_stream, 4 connections) stop moving but are not reset;
#    unlock sets it up and every connection moves again, byte-exact;
#  - a process in the host's own namespace (--network host): refused
#    (ENOTSUP), nothing set down;
#  - a namespace with an interface that is not a veth (dummy): refused;
#  - a namespace whose veth's other end lives in a third namespace, under
#    an ifindex that the host also uses (2, the host's first interface):
#    refused, and the host's interface with that index stays up. Taking
#    the peer's ifindex as the host's would set the host's link down.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/stream.sh"
L=$FERRY_PROGS/ctr_netlock
N=4
PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for n in nl1 nl2 nl3 nl4; do ip netns del $n 2>/dev/null; done
	ip link del nlv1 2>/dev/null
	return 0
}
trap cleanup EXIT
# a process in netns $1 (its PID in $!), killed at the end
in_ns() { ip netns exec "$1" sleep 1000 </dev/null >/dev/null 2>&1 & PIDS+=($!); disown $!; }
up() { ip -o link show "$1" | grep -q "<[^>]*\bUP\b"; }
links_up() { ip -o link show up | awk -F': ' '{print $2}' | sort | tr '\n' ' '; }

ip netns add nl1; ip netns add nl2; ip netns add nl3; ip netns add nl4
ip link set lo up
ip link add nlv1 type veth peer name eth0 netns nl1
ip addr add 10.77.1.1/24 dev nlv1; ip link set nlv1 up
ip -n nl1 addr add 10.77.1.2/24 dev eth0
ip -n nl1 link set eth0 up; ip -n nl1 link set lo up
ip -n nl2 link add eth0 type dummy
ip -n nl3 link add eth0 type veth peer name far netns nl4
in_ns nl1; p1=$!; in_ns nl2; p2=$!; in_ns nl3; p3=$!
sleep 1

out=$("$L" find "$p1")
echo "find (veth): $out"
assert_eq "$out" "nlv1 $(cat /sys/class/net/nlv1/ifindex)" "the host's end of nl1's veth"

before=$(links_up)
for case in "host:$$" "dummy:$p2" "third namespace:$p3"; do
	rc=0
	msg=$("$L" lock "${case#*:}" 2>&1) || rc=$?
	echo "lock (${case%%:*}): exit $rc: $msg"
	assert_eq "$rc" 1 "lock of a namespace it must refuse (${case%%:*})"
	case $msg in ENOTSUP:*) ;; *) fail "${case%%:*}: not ENOTSUP: $msg" ;; esac
	assert_eq "$(links_up)" "$before" "the host's links that are up, after refusing (${case%%:*})"
done
far=$(ip -n nl4 -o link show far | cut -d: -f1)
echo "the third namespace's end has ifindex $far on its side; here it is $(ip -o link | awk -F': ' -v i="$far" '$1 == i {print $2}')"

# TCP through the lock
rm -f /tmp/nl-srv.pid
ip netns exec nl1 "$FERRY_PROGS/tcp_stream" server 10.77.1.2 7970 $N /tmp/nl-srv.st /tmp/nl-srv.pid \
	</dev/null >/dev/null 2>&1 &
SP=$!; PIDS+=($SP); disown $SP
sleep 1
"$FERRY_PROGS/tcp_stream" client 10.77.1.2 7970 $N /tmp/nl-cli.st </dev/null >/dev/null 2>&1 &
CP=$!; PIDS+=($CP); disown $CP
for i in $(seq 100); do [ -s /tmp/nl-srv.pid ] && break; sleep 0.1; done
sleep 2
s=$(status "$CP" /tmp/nl-cli.st); echo "clients: $s"; check_ok "$s" "clients before the lock"
"$L" lock "$p1"
up nlv1 && fail "nlv1 is still up after lock"
ip -n nl1 -o link show eth0 | grep -q NO-CARRIER || fail "nl1's eth0 has a carrier under the lock"
sleep 2	# what was in flight is dropped or queued
status "$CP" /tmp/nl-cli.st >/dev/null; cp /tmp/nl-cli.st /tmp/nl-cli.1
sleep 3
s=$(status "$CP" /tmp/nl-cli.st); echo "clients, locked: $s"; check_ok "$s" "clients under the lock"
assert_eq "$(field "$s" rx)" "$(field "$(head -n1 /tmp/nl-cli.1)" rx)" "bytes received under the lock"
"$L" unlock "$p1"
up nlv1 || fail "nlv1 is not up after unlock"
sleep 4
s=$(status "$CP" /tmp/nl-cli.st); echo "clients, unlocked: $s"; check_ok "$s" "clients after unlock"
progress /tmp/nl-cli.1 /tmp/nl-cli.st "clients after unlock"
kill -USR2 "$SP" "$CP"
prev=
for i in $(seq 30); do
	sleep 1
	status "$CP" /tmp/nl-cli.st >/dev/null; status "$SP" /tmp/nl-srv.st >/dev/null
	cur=$(cat /tmp/nl-cli.st /tmp/nl-srv.st | md5sum)
	[ "$cur" = "$prev" ] && break
	prev=$cur
done
byte_exact /tmp/nl-cli.st /tmp/nl-srv.st
