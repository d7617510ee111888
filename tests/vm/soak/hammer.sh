#!/bin/bash
# ferry-vm: hosts=2
# soak (a)+(b): ferry.ko's two requests, back to back, against a busy TCP
# service. The service (tcp_stream server, $FERRY_SOAK_CONNS connections,
# on 10.99.0.100 on host a; clients in a namespace on host b, over the
# link) streams both ways while, on host a, `soak_hammer dirty` runs
# clearing DIRTY_SCANs of it (what a pre-copy round does) and `soak_hammer
# tcp` runs TCP_DUMP --data requests of its sockets (queues full of data),
# both in tight loops, concurrently; FERRY_SOAK_SCANS and FERRY_SOAK_DUMPS
# of them per kernel (see soak.inc for the split with hammer-thp).
#
# Must hold: no kernel complaint on either host (checked every 2 s, the
# trace printed); every request succeeds and both hammers reach their
# count (the service never exits); the service and the clients keep every
# connection, with no mismatching byte and no reset (every 10 s); at the
# end, with sending stopped and the queues drained, each stream is
# byte-exact both ways and the clients' stack saw no RST.
set -euo pipefail
. "$FERRY_SRC/tests/vm/soak/soak.inc"
soak_init "${soak_label:-a+b}" "${soak_thp:-0}"

if [ "$FERRY_ROLE" = b ]; then
	soak_clients_start
	i=0
	while [ ! -e "$FERRY_SHARED/hammered" ]; do
		soak_check_abort
		soak_kcheck "the hammering"
		i=$((i + 1))
		[ $((i % 10)) = 0 ] && soak_check_clients "the hammering"
		sleep 1
	done
	soak_final a
	exit 0
fi

scans=$(soak_share "${FERRY_SOAK_SCANS:-400}")
dumps=$(soak_share "${FERRY_SOAK_DUMPS:-400}")
soak_service_start
t0=$(date +%s)
"$H" dirty "$SP" "$scans" >"$FERRY_OUT/hammer-dirty.out" 2>&1 &
hd=$!
"$H" tcp "$SP" "$dumps" >"$FERRY_OUT/hammer-tcp.out" 2>&1 &
ht=$!
last() {	# the hammer's latest count
	sed -n "s/^hammer $1 \([0-9]*\)\/.*/\1/p; s/^hammer $1 done=\([0-9]*\).*/\1/p" \
		"$FERRY_OUT/hammer-$1.out" | tail -n1
}
td= tt= i=0
while [ -z "$td" ] || [ -z "$tt" ]; do
	sleep 2
	i=$((i + 1))
	soak_kcheck "the hammering"
	soak_check_abort
	[ -z "$td" ] && ! kill -0 $hd 2>/dev/null && td=$(( $(date +%s) - t0 ))
	[ -z "$tt" ] && ! kill -0 $ht 2>/dev/null && tt=$(( $(date +%s) - t0 ))
	[ $((i % 5)) = 0 ] && soak_check_server "the hammering"
	d=$(last dirty); t=$(last tcp)
	soak_count scans "${d:-0}"; soak_count dumps "${t:-0}"
	soak_say "scans ${d:-0}/$scans, dumps ${t:-0}/$dumps"
done
rc=0; wait $hd || rc=$?
[ $rc = 0 ] || soak_fail "soak_hammer dirty exited $rc: $(tail -n3 "$FERRY_OUT/hammer-dirty.out")"
rc=0; wait $ht || rc=$?
[ $rc = 0 ] || soak_fail "soak_hammer tcp exited $rc: $(tail -n3 "$FERRY_OUT/hammer-tcp.out")"
tail -n1 "$FERRY_OUT/hammer-dirty.out" "$FERRY_OUT/hammer-tcp.out"
grep -q "^hammer dirty done=$scans " "$FERRY_OUT/hammer-dirty.out" ||
	soak_fail "the scans stopped early (the service exited?)"
grep -q "^hammer tcp done=$dumps " "$FERRY_OUT/hammer-tcp.out" ||
	soak_fail "the dumps stopped early (the service exited?)"
socks=$(sed -n 's/^hammer tcp done=[0-9]* socks=\([0-9]*\) bytes=\([0-9]*\)/\1/p' "$FERRY_OUT/hammer-tcp.out")
qbytes=$(sed -n 's/^hammer tcp done=[0-9]* socks=\([0-9]*\) bytes=\([0-9]*\)/\2/p' "$FERRY_OUT/hammer-tcp.out")
# the dumps were of busy sockets: every one the service has, with data queued
[ "$socks" -ge $((dumps * N)) ] || soak_fail "the dumps saw $socks sockets, fewer than $N each"
[ "$qbytes" -gt 0 ] || soak_fail "the dumps carried no queued data"
soak_count scans "$scans"; soak_count dumps "$dumps"
soak_count scan_s "$td"; soak_count dump_s "$tt"
soak_count dump_queue_bytes "$qbytes"
echo "rates: $(awk -v n="$scans" -v t="$td" 'BEGIN { printf "%.1f", n / (t ? t : 1) }') scans/s," \
     "$(awk -v n="$dumps" -v t="$tt" 'BEGIN { printf "%.1f", n / (t ? t : 1) }') dumps/s," \
     "$((qbytes / dumps)) queued bytes per dump"
soak_check_server "the end of the hammering"
touch "$FERRY_SHARED/hammered"
soak_final a
