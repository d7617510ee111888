# shellcheck shell=bash
# Reading tests/progs/tcp_stream's status in VM scripts (source it after
# assert.sh). $N is the number of connections a script expects.
#   status PID FILE          have tcp_stream write its status to FILE, print the summary line
#   field LINE KEY           the number KEY=... in a summary line
#   check_ok LINE WHAT       the summary says OK and all $N connections alive
#   stalled_conn OLD NEW     the first connection that received nothing more in status
#                            file NEW than in OLD, or nothing
#   progress OLD NEW WHAT    every connection received more in NEW than in OLD
#   stream_diff CLI SRV      the first connection whose byte counts differ between the
#                            client's and the server's status files, or nothing
#   byte_exact CLI SRV       final statuses (sending stopped, queues drained): both OK, no
#                            mismatch or reset, every byte sent was received
# Two-host scripts with the service address VIP on a and the clients in
# namespace "cli" on b (lan.sh), $S the tcp_stream binary:
#   stream_server_start VIP PORT   role a: add VIP to $dev, start the server,
#                            through the barriers "listening" and "clients-up";
#                            sets SP, checks its status, keeps it in /tmp/srv.0
#   stream_clients_start VIP PORT  role b, after "listening": the $N clients;
#                            sets CP, checks their status, keeps it in /tmp/cli.0

# (up to 60 s: 1000 clients' status, on a TCG guest beside 8 others, took
# longer than 10 s)
status() {
	local i	# its callers loop over i too
	rm -f "$2"; kill -USR1 "$1"
	for i in $(seq 600); do [ -s "$2" ] && break; sleep 0.1; done
	[ -s "$2" ] || fail "no status from $1"
	head -n1 "$2"
}
field() { sed -n "s/.*\b$2=\([0-9]*\).*/\1/p" <<<"$1"; }
# the awk that reads two status files: g(FILE 1|2, ID, KEY) is the
# connection's KEY, "-" where the file lacks it (no /dev/fd in the guests
# for a shell loop over a process substitution)
conn_awk='FNR == 1 { f++ }
	$1 == "conn" { for (i = 3; i <= NF; i++) { split($i, kv, "="); v[f, $2, kv[1]] = kv[2] } }
	function g(f, id, k) { return (f, id, k) in v ? v[f, id, k] : "-" }'
check_ok() {
	case $1 in OK*) ;; *) fail "$2: $1" ;; esac
	assert_eq "$(field "$1" alive)" "$N" "$2: connections alive"
}
stalled_conn() {
	awk -v n="$N" "$conn_awk"'
	END { for (id = 0; id < n; id++) {
		a = g(1, id, "rx"); b = g(2, id, "rx")
		if (a == "-" || b == "-" || b + 0 <= a + 0) { print id " (rx " a " -> " b ")"; exit } } }' "$1" "$2"
}
progress() {
	local stalled
	stalled=$(stalled_conn "$1" "$2")
	[ -z "$stalled" ] || fail "$3: connection $stalled made no progress"
	echo "ok: $3: all $N connections received more data"
}
stream_diff() {
	awk -v n="$N" "$conn_awk"'
	END { for (id = 0; id < n; id++) {
		ct = g(1, id, "tx"); sr = g(2, id, "rx"); st = g(2, id, "tx"); cr = g(1, id, "rx")
		if (ct == "-" || ct != sr) { print "connection " id ": client sent " ct " bytes, server got " sr; exit }
		if (st == "-" || st != cr) { print "connection " id ": server sent " st " bytes, client got " cr; exit } } }' "$1" "$2"
}
byte_exact() {
	local s v d
	s=$(head -n1 "$1"); v=$(head -n1 "$2")
	echo "final: clients: $s"; echo "final: server: $v"
	check_ok "$s" "clients, final"; check_ok "$v" "server, final"
	assert_eq "$(field "$s" mismatches)$(field "$v" mismatches)" 00 "mismatching bytes"
	assert_eq "$(field "$s" resets)$(field "$v" resets)" 00 "resets seen by the applications"
	d=$(stream_diff "$1" "$2")
	[ -z "$d" ] || fail "$d"
	echo "ok: all $N streams byte-exact both ways ($(field "$s" tx) bytes up, $(field "$s" rx) down)"
}

stream_server_start() {
	ip addr add "$1/24" dev "$dev"
	rm -f /tmp/srv.pid
	setsid "$S" server "$1" "$2" "$N" /tmp/srv.st /tmp/srv.pid </dev/null >/dev/null 2>&1 &
	wait_port "$2"
	barrier listening
	local i v
	for i in $(seq 300); do [ -s /tmp/srv.pid ] && break; sleep 0.1; done
	[ -s /tmp/srv.pid ] || fail "the server did not get its $N connections"
	SP=$(cat /tmp/srv.pid)
	cp /tmp/srv.pid "$FERRY_SHARED/srv.pid"
	barrier clients-up
	v=$(status "$SP" /tmp/srv.st); echo "server before: $v"; check_ok "$v" "server before"
	cp /tmp/srv.st /tmp/srv.0
}

stream_clients_start() {
	setsid ip netns exec cli "$S" client "$1" "$2" "$N" /tmp/cli.st </dev/null \
		>/dev/null 2>"$FERRY_OUT/client.err" &
	local i s
	for i in $(seq 100); do CP=$(pgrep -f "tcp_stream client $1" || true); [ -n "$CP" ] && break; sleep 0.1; done
	[ -n "$CP" ] || fail "client did not start"
	sleep 3
	s=$(status "$CP" /tmp/cli.st); echo "clients before: $s"; check_ok "$s" "clients before"
	cp /tmp/cli.st /tmp/cli.0
}
# The remote clients' streams of ferry-move-tcp-remote*.sh: tcp_stream's
# clients in namespace cli on a (lan.sh), its server in container c1.
# stream_remote_clients ADDR PORT N RATE (role a): the clients start, the
# RST watch on cli first; their PID in CP, their status in /tmp/cli.st,
# checked once they run (copied to /tmp/cli.1)
stream_remote_clients() {
	local s
	lan_rst_watch cli
	setsid ip netns exec cli "$FERRY_PROGS/tcp_stream" client "$1" "$2" "$3" /tmp/cli.st "$4" \
		</dev/null >/dev/null 2>"$FERRY_OUT/client.err" &
	disown $!
	for _ in $(seq 100); do CP=$(pgrep -f "tcp_stream client $1" || true); [ -n "$CP" ] && break; sleep 0.1; done
	[ -n "$CP" ] || fail "the clients did not start"
	sleep 3
	s=$(status "$CP" /tmp/cli.st); echo "clients before: $s"
	check_ok "$s" "clients before"
	cp /tmp/cli.st /tmp/cli.1
}
# stream_drain_clients (role a, after the move): both ends stop sending,
# then every byte one end sent must reach the other: b publishes the
# server's status each second (stream_publish_server; a loaded machine
# stalls a queue for many seconds, so quiet for a moment is not drained),
# until the two agree or 5 minutes pass. Byte-exact both ways, and no
# reset in or out of cli.
stream_drain_clients() {
	local srv=$FERRY_SHARED/srv.st
	touch "$FERRY_SHARED/stop"
	kill -USR2 "$CP"
	barrier stopped 900
	for _ in $(seq 300); do
		sleep 1
		status "$CP" /tmp/cli.st >/dev/null
		[ -s "$srv" ] && [ -z "$(stream_diff /tmp/cli.st "$srv")" ] && break
	done
	touch "$FERRY_SHARED/drained"
	byte_exact /tmp/cli.st "$srv"
	assert_eq "$(lan_rsts cli)" 0 "TCP RST packets in and out of the clients' namespace"
	assert_eq "$(lan_estab_resets cli)" 0 "the clients' TcpEstabResets"
}
# stream_publish_server SP (role b, SP the server's tcp_stream in c1): it
# stops sending when a asks, and its status goes to a each second until a
# has drained; then it must be OK
stream_publish_server() {
	local srv=$FERRY_SHARED/srv.st v
	for _ in $(seq 600); do [ -e "$FERRY_SHARED/stop" ] && break; sleep 0.5; done
	[ -e "$FERRY_SHARED/stop" ] || fail "host a never asked to stop the streams"
	kill -USR2 "$1"
	barrier stopped 900
	for _ in $(seq 330); do
		status "$1" "/proc/$1/root/tmp/srv.st" >/dev/null
		cp "/proc/$1/root/tmp/srv.st" "$srv.new"
		mv "$srv.new" "$srv"
		[ -e "$FERRY_SHARED/drained" ] && break
		sleep 1
	done
	v=$(head -n1 "$srv"); echo "server on b: $v"
	check_ok "$v" "server on b"
}
