#!/bin/bash
# ferry-vm: hosts=2
# ferry-move-tcp: a Podman container with established TCP connections
# and a process tree of its own moves from a to b with `ferry migrate
# --container`, and its clients do not notice.
#
# Topology: the container (runc, Podman's bridge network, its own IP on
# a's podman0) runs tests/progs/tcp_stream's server. The clients (one
# tcp_stream client process, $N connections) run on b, in b's own network
# namespace, and reach the container's address through a host route via a
# (the link). After the migration the container is on b's podman0 with the
# same address; the test removes that route, as a network fabric would
# move the address (ferry does not route).
#
# Must stay unchanged, and how it is checked:
#  - no connection is reset: each end counts EOF/ECONNRESET/EPIPE (0), and
#    an nftables counter on b counts TCP RST packets of the streams (from
#    or to the container's address and port) in and out of b's stack (0);
#  - both byte streams are exact: after the migration both ends stop
#    sending, the queues drain, and per connection the bytes one end sent
#    are the bytes the other received, with 0 mismatching bytes;
#  - all $N connections stay alive and every one makes progress after the
#    migration, at both ends;
#  - the container runs on b under Podman with its ID, name, IP and MAC,
#    and a file it wrote into its /dev/shm (a tmpfs of its own) is there;
#    nothing of it is left on a;
#  - its rootfs changes: a file it wrote is there, a file of the image it
#    deleted is not;
#  - its process tree (tests/progs/mig_tree beside the server): a parent
#    with two writer threads and a child it feeds through a pipe, with an
#    open log file. On b the parent has its 3 threads, the child is still
#    its child, each thread's region verifies and its generation advances,
#    the child got every counter without a gap, before the migration and
#    after (and goes on getting them), and the log file keeps growing;
#  - its memory: mig_workload (32 MiB, a hot window rewritten all the time)
#    verifies every page on b, with more writes than before;
#  - the report counts $N connections (tcp_connections_dumped).
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/podman.sh"
. "$FERRY_SRC/tests/vm/lib/stream.sh"
ctr_setup
S=$FERRY_SHARED
PORT=7962
SPORT=7100
N=${FERRY_CTR_CONNS:-20}
RATE=$(( 327680 / N ))	# bytes/s per connection and direction: 320 KiB/s in all
# long enough for every connection to receive something: with many
# connections tcp_stream sends 1 KiB chunks (3 s apart at 1000)
WINDOW=$(( N > 64 ? 10 : 3 ))
fmt='{{.Id}} {{.Name}} {{.NetworkSettings.IPAddress}} {{.NetworkSettings.MacAddress}}'
# the server's host PID (one runs on a host at a time)
spid() { pgrep -f "tcp_stream server" | head -1; }
# the memory workload's; mig_tree's parent (the one with a mig_tree child:
# a restored tree's start times may tie) and its child
tpid() {
	local p
	for p in $(pgrep -x mig_tree); do
		[ -n "$(pgrep -x -P "$p" mig_tree)" ] && { echo "$p"; return; }
	done
	true
}
tchild() { pgrep -x -P "$1" mig_tree | head -1; }
# tree_verify P C WHAT: both of mig_tree's verdicts, "PARENT / CHILD"
tree_verify() {
	local v c
	v=$(workload_verify "$1" /proc/$1/root/tmp/tree.pid.parent)
	c=$(workload_verify "$2" /proc/$2/root/tmp/tree.pid.child)
	case "$v $c" in OK*OK*) ;; *) fail "$3: mig_tree: $v / $c" ;; esac
	echo "$v / $c"
}
# TCP RST packets of the streams, in and out of b's stack
rst_watch() {
	nft -f - <<-EOF
	table inet ctr_rstwatch {
		chain in { type filter hook input priority 0; ip saddr $1 tcp sport $SPORT tcp flags & rst == rst counter; }
		chain out { type filter hook output priority 0; ip daddr $1 tcp dport $SPORT tcp flags & rst == rst counter; }
	}
	EOF
}
rsts() {
	nft list table inet ctr_rstwatch | sed -n 's/.*packets \([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}'
}

if [ "$FERRY_ROLE" = a ]; then
	# a failed run must not leave c1 to the next script
	trap 'podman rm -f -t 0 c1 >/dev/null 2>&1; true' EXIT
	step "image"
	ctr_image_build $CTR_DIR/rootfs.tar "$FERRY_PROGS/tcp_stream" "$FERRY_PROGS/mig_workload" \
		"$FERRY_PROGS/mig_tree"
	podman import -q $CTR_DIR/rootfs.tar localhost/ferry-tcp:1 >/dev/null
	podman save -q -o "$S/image.tar" localhost/ferry-tcp:1
	step "run"
	podman run -d -q --name c1 --network bridge --ulimit nofile=4096:4096 localhost/ferry-tcp:1 \
		/bin/sh -c "echo in-shm >/dev/shm/mark; echo before >/tmp/mark; rm /etc/gone
			/w/mig_workload 32 256 /tmp/w.pid & /w/mig_tree /tmp/tree.pid /tmp/tree.log &
			exec /w/tcp_stream server 0.0.0.0 $SPORT $N /tmp/srv.st /tmp/srv.pid $RATE" >/dev/null
	for i in $(seq 300); do [ -n "$(spid)" ] && [ -n "$(wpid)" ] && [ -n "$(tpid)" ] && break; sleep 0.2; done
	[ -n "$(spid)" ] || fail "tcp_stream does not run in the container"
	w=$(wpid) tp=$(tpid)
	[ -n "$w" ] && [ -n "$tp" ] || fail "mig_workload or mig_tree (a parent with its child) does not run in the container"
	for i in $(seq 300); do [ -s "/proc/$w/root/tmp/w.pid" ] && [ -s "/proc/$tp/root/tmp/tree.pid" ] && break; sleep 0.1; done
	tc=$(tchild "$tp")
	v=$(workload_verify "$w" "/proc/$w/root/tmp/w.pid.verify"); step "memory before: $v"
	case $v in OK*) ;; *) fail "memory before: $v" ;; esac
	echo "$v" >"$S/verify.before"
	v=$(tree_verify "$tp" "$tc" "before"); step "tree before: $v"
	echo "$v" >"$S/tree.before"
	podman inspect --format "$fmt" c1 >"$S/ident"
	podman inspect --format '{{.NetworkSettings.IPAddress}}' c1 >"$S/cip"
	barrier image 600
	barrier connected 600
	sp=$(spid)
	for i in $(seq 300); do [ -s /proc/$sp/root/tmp/srv.pid ] && break; sleep 0.2; done
	v=$(status "$sp" /proc/$sp/root/tmp/srv.st); step "server before: $v"
	check_ok "$v" "server before"
	barrier ready 900
	step "migrate ($(cat "$S/ident"))"
	ctr_migrate c1 $PORT 3
	[ -z "$(spid)" ] || fail "tcp_stream still runs on a"
	[ -z "$(pgrep -x mig_workload; pgrep -x mig_tree)" ] || fail "mig_workload or mig_tree still runs on a"
	r=$(cat "$FERRY_OUT/report.json")
	assert_eq "$(jq_get "$r" tcp_connections_dumped)" "$N" "report: connections"
	dt=$(jq_get "$r" downtime_ms)
	echo "downtime: $dt ms with $N connections"
	# ferry-move-tcp-many (1000 connections) and this one (20), in the
	# same job, in either order: the second compares them. (Each script
	# has a shared directory of its own: the job's is its parent.) A
	# ratio, not a timed assertion: printed, for the README and the note.
	J=$(dirname "$S")
	jq -c '{downtime_ms, dump_ms: .final.dump_ms, criu_frozen_us: .final.frozen_time_us,
		restore_ms: .final.remote_restore_ms}' "$FERRY_OUT/report.json" >"$J/downtime-$N.json"
	if [ -s "$J/downtime-20.json" ] && [ -s "$J/downtime-1000.json" ]; then
		echo "1000 connections against 20, the same job:"
		for k in downtime_ms dump_ms criu_frozen_us restore_ms; do
			a=$(jq -r ".$k" "$J/downtime-1000.json"); b=$(jq -r ".$k" "$J/downtime-20.json")
			echo "  $k: $a / $b = $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
		done
	else
		echo "NOTE: no comparison of 1000 and 20 connections: run ferry-move-tcp.sh and" \
			"ferry-move-tcp-many.sh in one job (make check-containers does)"
	fi
	barrier checked 1200
	exit 0
fi

CP=
cleanup() {
	set +e
	[ -n "$CP" ] && kill -9 "$CP" 2>/dev/null
	[ -s "$S/cip" ] && ip route del "$(cat "$S/cip")/32" 2>/dev/null
	nft delete table inet ctr_rstwatch 2>/dev/null
	# a failed run must not leave c1 to refuse the next script's
	podman rm -f -t 0 c1 >/dev/null 2>&1
	return 0
}
trap cleanup EXIT
barrier image 600
ulimit -n 4096
podman load -q -i "$S/image.tar" >/dev/null
CIP=$(cat "$S/cip")
# the container's address lives on a: reach it over the link
ip route add "$CIP/32" via "$FERRY_PEER_IP"
rst_watch "$CIP"
setsid "$FERRY_PROGS/tcp_stream" client "$CIP" $SPORT "$N" /tmp/cli.st $RATE </dev/null \
	>/dev/null 2>"$FERRY_OUT/client.err" &
disown $!	# killed at the end, silently
for i in $(seq 100); do CP=$(pgrep -f "tcp_stream client $CIP" || true); [ -n "$CP" ] && break; sleep 0.1; done
[ -n "$CP" ] || fail "the client did not start"
sleep $WINDOW
s=$(status "$CP" /tmp/cli.st); step "clients before: $s"
check_ok "$s" "clients before"
cp /tmp/cli.st /tmp/cli.1
barrier connected 600
"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT" --once --dir /var/tmp --phase-timeout 900 \
	2>"$FERRY_OUT/receive.log" &
rpid=$!
wait_port "$PORT" 30
barrier ready 900
rc=0
wait $rpid || rc=$?
# the container runs here now: its address too
ip route del "$CIP/32"
step "received (exit $rc)"
cat "$FERRY_OUT/receive.log"
barrier migrated 900
assert_eq "$rc" 0 "ferry receive --once exit status"
assert_eq "$(podman inspect --format "$fmt" c1)" "$(cat "$S/ident")" "ID, name, IP and MAC on b"
assert_eq "$(podman inspect --format '{{.State.Status}}' c1)" running "state on b"
assert_eq "$(podman exec c1 cat /dev/shm/mark)" in-shm "a file in the container's /dev/shm"
assert_eq "$(podman exec c1 cat /tmp/mark)" before "a file the container wrote"
podman exec c1 ls /etc/gone >/dev/null 2>&1 && fail "a file the container deleted is back"
# its memory
w=$(wpid)
[ -n "$w" ] || fail "mig_workload does not run on b"
v=$(workload_verify "$w" /proc/$w/root/tmp/w.pid.verify); step "memory on b: $v"
case $v in OK*) ;; *) fail "memory on b: $v" ;; esac
[ "$(field "$v" writes)" -gt "$(field "$(cat "$S/verify.before")" writes)" ] ||
	fail "the memory workload's writes did not advance: $(cat "$S/verify.before") -> $v"
# its process tree: threads, the pipe, the child, the open log file
tp=$(tpid)
[ -n "$tp" ] || fail "mig_tree does not run on b as a parent with its child: $(pgrep -ax mig_tree | tr '\n' ' ')"
tc=$(tchild "$tp")
assert_eq "$(ls /proc/$tp/task | wc -l)" 3 "threads of mig_tree's parent"
lines=$(podman exec c1 cat /tmp/tree.log | wc -l)
t1=$(tree_verify "$tp" "$tc" "on b"); step "tree on b: $t1"
sleep 2
t2=$(tree_verify "$tp" "$tc" "on b, later"); step "tree on b, later: $t2"
t0=$(cat "$S/tree.before")
[ "$(field "$t1" got)" -gt "$(field "$t0" got)" ] || fail "the child's counter went back: $t0 -> $t1"
[ "$(field "$t2" got)" -gt "$(field "$t1" got)" ] || fail "the child stopped getting counters: $t1 -> $t2"
g1=$(echo "$t1" | sed -n 's/.*gens=\([0-9]*\),\([0-9]*\).*/\1 \2/p')
g2=$(echo "$t2" | sed -n 's/.*gens=\([0-9]*\),\([0-9]*\).*/\1 \2/p')
set -- $g1 $g2
[ "$3" -gt "$1" ] && [ "$4" -gt "$2" ] || fail "mig_tree's threads stopped: $g1 -> $g2"
[ "$(podman exec c1 cat /tmp/tree.log | wc -l)" -gt "$lines" ] || fail "mig_tree's log file stopped growing"
SP=$(spid)
[ -n "$SP" ] || fail "tcp_stream does not run on b"
SST=/proc/$SP/root/tmp/srv.st
sleep 5
s=$(status "$CP" /tmp/cli.st); step "clients after: $s"
check_ok "$s" "clients after the migration"
progress /tmp/cli.1 /tmp/cli.st "clients after the migration"
cp /tmp/cli.st /tmp/cli.2
v=$(status "$SP" "$SST"); step "server on b: $v"
check_ok "$v" "server on b"
cp "$SST" /tmp/srv.2
sleep $WINDOW
s=$(status "$CP" /tmp/cli.st); v=$(status "$SP" "$SST")
check_ok "$s" "clients, later"; check_ok "$v" "server on b, later"
progress /tmp/cli.2 /tmp/cli.st "clients, later"
cp "$SST" /tmp/srv.3
progress /tmp/srv.2 /tmp/srv.3 "server on b, later"
# byte-exact: stop sending, let the queues drain, compare both ends
kill -USR2 "$SP" "$CP"
prev=
for i in $(seq 60); do
	sleep 1
	status "$CP" /tmp/cli.st >/dev/null; status "$SP" "$SST" >/dev/null
	cur=$(cat /tmp/cli.st "$SST" | md5sum)
	[ "$cur" = "$prev" ] && break
	prev=$cur
done
cp "$SST" /tmp/srv.st
byte_exact /tmp/cli.st /tmp/srv.st
echo "clients' longest stall: $(field "$(head -n1 /tmp/cli.st)" max_stall_ms) ms"
assert_eq "$(rsts)" 0 "TCP RST packets of the streams seen on b"
barrier checked 1200
