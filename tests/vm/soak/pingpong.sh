#!/bin/bash
# ferry-vm: hosts=2
# soak (c): ping-pong. The service (tcp_stream server, $FERRY_SOAK_CONNS
# connections streaming both ways, on the service address 10.99.0.100;
# clients in a namespace on host b bridged onto the link, as in make demo)
# migrates a->b, b->a, a->b, ... FERRY_SOAK_MIGRATIONS times per kernel
# (see soak.inc for the split with pingpong-thp): each time a real
# `ferry migrate --move-addr` to a `ferry receive --once` on the other host,
# with the TCP work of make demo around it: `ferry tcp` of the service just
# before, and `soak_hammer tcp` (TCP_DUMP --data requests, back to back) all
# through the migration until the source copy ends (counted apart from the
# hammer's dumps: some meet the service frozen).
# The service keeps its PIDs (CRIU restores them; they come from a range
# neither host otherwise uses), so the way back finds them free.
#
# Must hold after every migration: no kernel complaint on either host (the
# trace printed); ferry migrate and ferry receive exit 0; the service runs
# on exactly one host (the source's copy is gone, the destination's runs
# and holds the address) and no lock table is left on either; the service
# and the clients keep every connection, with no mismatching byte and no
# reset (the applications' counts, RST packets, TcpEstabResets), and every
# connection moves data again both ways: bytes received after the migration
# ended (soak_mark), at the service's end and at the client's. At the end
# the streams are byte-exact both ways.
#
# With soak_rollback=1 (rollback.sh) every migration is tried first against
# a receiver whose restore fails, and must roll back (see rollback.sh).
set -euo pipefail
. "$FERRY_SRC/tests/vm/soak/soak.inc"
soak_init "${soak_label:-c}" "${soak_thp:-0}"
migs=$(soak_share "${FERRY_SOAK_MIGRATIONS:-4}")
FPORT=$((MPORT + 1)) RXF_PID= rollbacks=0 CPC=

# rx_start I: this host's receiver for migration I. The source of
# migration I-1 starts it as soon as its own copy is gone, so that its
# start-up overlaps the checks of I-1 (a cycle is ~20% shorter).
# --auth-timeout 120, --phase-timeout 900: the soak hunts kernel faults,
# and a TCG machine shared with other guests (load 8 on 2 cores) stretched
# a source's TLS handshake and HELLO past the default 10 s (migration 19 of
# a 6.12 pingpong-thp run ended there, no fault in sight).
rx_start() {
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$MPORT" --once --allow-addr "$VIP/24" --dir /var/tmp \
		--auth-timeout 120 --phase-timeout 900 \
		>"$FERRY_OUT/receive.log" 2>&1 &
	RX_PID=$!
	wait_port "$MPORT"
	if [ "${soak_rollback:-0}" = 1 ]; then
		# the receiver whose restore fails, tried first
		"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$FPORT" --once --allow-addr "$VIP/24" \
			--dir /var/tmp --auth-timeout 120 --phase-timeout 900 \
			--criu-arg=--no-such-criu-option >"$FERRY_OUT/receive-fail.log" 2>&1 &
		RXF_PID=$!
		wait_port "$FPORT"
	fi
	touch "$FERRY_SHARED/rx.$1"
	soak_step "$1: receiver listening"
}

# rx_reap PID WANT LOG WHAT: a receiver of this host, done with its
# migration: it must exit within 5 min, with status WANT (else LOG shown).
rx_reap() {
	local j rc=0
	for ((j = 0; j < 600; j++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.5; done
	kill -0 "$1" 2>/dev/null && soak_fail "$4 still runs 5 min after the migration"
	wait "$1" || rc=$?
	soak_step "$4 exited $rc"
	[ $rc = "$2" ] || { cat "$FERRY_OUT/$3"; soak_fail "$4 exited $rc, not $2"; }
}

# soak_rollback_once I (the source): migration I's first try, to the
# receiver whose restore fails after the freeze, the dump and the address's
# removal: the service must get its address back, its connections
# unlocked, and run on here, every connection moving data both ways.
soak_rollback_once() {
	local rc=0
	soak_step "$1: migrating to the failing receiver"
	"$FERRY_BIN" migrate "$SP" --to "$FERRY_PEER_IP:$FPORT" --move-addr "$VIP/24" \
		2>"$FERRY_OUT/migrate-fail.log" || rc=$?
	soak_step "$1: ferry migrate (rollback) exited $rc"
	[ $rc = 1 ] || { cat "$FERRY_OUT/migrate-fail.log"; soak_fail "rollback $1: ferry migrate exited $rc, not 1"; }
	soak_mark srv
	grep -q "runs here again" "$FERRY_OUT/migrate-fail.log" ||
		{ cat "$FERRY_OUT/migrate-fail.log"; soak_fail "rollback $1: the service was not resumed"; }
	ip -4 addr show | grep -q "inet $VIP/" || soak_fail "rollback $1: $VIP not back on $FERRY_ROLE"
	nft list tables | grep -q "CRIU-" && soak_fail "rollback $1: CRIU's lock table left on $FERRY_ROLE"
	[ "$(awk '{print $3}' "/proc/$SP/stat")" != T ] || soak_fail "rollback $1: the service left stopped"
	soak_kcheck "rollback $1"
	soak_check_server "after rollback $1"
	soak_server_progress "after rollback $1"
	rollbacks=$((rollbacks + 1))
	soak_count rollbacks "$rollbacks"	# this host's, when it was the source
	soak_say "rollback $1: the service runs on $FERRY_ROLE again"
}

if [ "$FERRY_ROLE" = a ]; then soak_service_start; else soak_clients_start; fi
# Times in tenths of a second, from bash's clock: the loop starts as few
# processes as it can (each costs a fraction of a second on a saturated
# TCG guest, and the next migration waits for them).
where=a total_ds=0 max_ds=0 total_down=0 mdumps=0
for ((i = 1; i <= migs; i++)); do
	src=$where dst=a
	[ "$where" = a ] && dst=b
	if [ "$FERRY_ROLE" = "$dst" ]; then
		# the receiving end: one migration, then check the service runs here
		[ -n "$RX_PID" ] || rx_start "$i"
		soak_wait "$FERRY_SHARED/mig.$i" 900 "migration $i"
		rx_reap "$RX_PID" 0 receive.log "migration $i: ferry receive"
		RX_PID=
		if [ -n "$RXF_PID" ]; then
			rx_reap "$RXF_PID" 1 receive-fail.log "rollback $i: the failing receiver"
			RXF_PID=
		fi
		kill -0 "$SP" 2>/dev/null || soak_fail "migration $i: the service ($SP) does not run on $dst"
		# the baselines: what moves from now on moved after the migration
		soak_mark srv
		# On b, the clients' check runs beside the service's: both wait
		# for TCP's retransmissions after the freeze, so one after the
		# other they took twice as long (12 s + 12 s alone on a machine).
		if [ "$FERRY_ROLE" = b ]; then
			soak_mark cli
			soak_clients_progress "after migration $i" &
			CPC=$!
		fi
		ip -4 addr show | grep -q "inet $VIP/" || soak_fail "migration $i: $VIP is not on $dst"
		nft list tables | grep -q ferry_move_ && soak_fail "migration $i: $dst kept its lock table"
		soak_check_server "after migration $i"
		soak_server_progress "after migration $i"
		soak_kcheck "migration $i"
		soak_step "$i: the service runs here"
	elif [ "$FERRY_ROLE" = "$src" ]; then
		soak_wait "$FERRY_SHARED/rx.$i" 300 "the receiver for migration $i"
		soak_kcheck "before migration $i"
		soak_step "$i: ferry tcp"
		# the TCP work around a migration, as in make demo: ferry tcp
		# first, and TCP_DUMP --data requests all through the migration
		# (they end when the source copy does). On a, ferry tcp runs
		# while b still checks the clients.
		"$FERRY_BIN" tcp "$SP" >"$FERRY_OUT/tcp.txt" ||
			soak_fail "migration $i: ferry tcp $SP failed"
		[ "$(grep -c ESTAB "$FERRY_OUT/tcp.txt")" = "$N" ] ||
			soak_fail "migration $i: ferry tcp lists $(grep -c ESTAB "$FERRY_OUT/tcp.txt") ESTAB connections, not $N"
		[ "$i" -gt 1 ] && soak_wait "$FERRY_SHARED/cli.$((i - 1))" 300 "the clients' check of migration $((i - 1))"
		[ "${soak_rollback:-0}" = 1 ] && soak_rollback_once "$i"
		"$H" tcp "$SP" 1000000 >"$FERRY_OUT/hammer-mig.out" 2>&1 &
		hm=$!
		soak_step "$i: migrating"
		t0=${EPOCHREALTIME/./}
		rc=0
		"$FERRY_BIN" migrate "$SP" --to "$FERRY_PEER_IP:$MPORT" --move-addr "$VIP/24" --json \
			>"$FERRY_OUT/report.json" 2>"$FERRY_OUT/migrate.log" || rc=$?
		for ((j = 0; j < 100; j++)); do kill -0 $hm 2>/dev/null || break; sleep 0.1; done
		kill $hm 2>/dev/null || true	# a failed migration leaves the source running
		hrc=0; wait $hm || hrc=$?
		[ $rc != 0 ] || [ $hrc = 0 ] ||
			soak_fail "migration $i: soak_hammer tcp exited $hrc: $(tail -n3 "$FERRY_OUT/hammer-mig.out")"
		d=$(sed -n 's/^hammer tcp done=\([0-9]*\).*/\1/p' "$FERRY_OUT/hammer-mig.out")
		mdumps=$((mdumps + ${d:-0}))
		soak_count mig_dumps "$mdumps"	# this host's, when it was the source
		ds=$(((${EPOCHREALTIME/./} - t0) / 100000))
		secs=$((ds / 10)).$((ds % 10))
		down=$(jq_get "$(cat "$FERRY_OUT/report.json" 2>/dev/null || echo '{}')" downtime_ms 2>/dev/null || true)
		case $down in ''|*[!0-9]*) down='?' ;; esac
		echo "$i $src->$dst rc=$rc ${secs}s downtime_ms=$down" >>"$FERRY_OUT/migrations.txt"
		echo "$rc $secs $down" >"$FERRY_SHARED/mig.$i"
		soak_step "$i: ferry migrate exited $rc"
		[ $rc = 0 ] || { cat "$FERRY_OUT/migrate.log"; soak_fail "migration $i: ferry migrate exited $rc"; }
		if [ "$FERRY_ROLE" = b ]; then
			# b gave the service to a: its check of the clients starts
			# now, beside a's check of the service and b's own start of
			# the next receiver, with the time a's check and the
			# clients' had one after the other (40 s each)
			soak_mark cli
			soak_clients_progress "after migration $i" 80 &
			CPC=$!
		fi
		for ((j = 0; j < 100; j++)); do kill -0 "$SP" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$SP" 2>/dev/null && soak_fail "migration $i: the service still runs on $src"
		ip -4 addr show | grep -q "inet $VIP/" && soak_fail "migration $i: $VIP still on $src"
		nft list tables | grep -q "CRIU-" && soak_fail "migration $i: CRIU's lock table left on $src"
		soak_kcheck "migration $i"
		[ "$i" -lt "$migs" ] && rx_start $((i + 1))
	fi
	if [ "$FERRY_ROLE" = b ]; then
		# b's check of the clients, started when the migration ended
		wait "$CPC" || { soak_cli_snapshot; soak_fail "after migration $i: the clients' check failed (above)"; }
		CPC=
		touch "$FERRY_SHARED/cli.$i"
		soak_cli_snapshot
		soak_step "$i: every connection moves data again"
	else
		soak_wait "$FERRY_SHARED/cli.$i" 900 "the clients' check of migration $i"
	fi
	read -r rc secs down <"$FERRY_SHARED/mig.$i"
	ds=$((10#${secs%.*} * 10 + ${secs#*.}))
	total_ds=$((total_ds + ds))
	[ "$ds" -gt "$max_ds" ] && max_ds=$ds
	[ "$down" != '?' ] && total_down=$((total_down + down))
	soak_count migrations "$i" migrate_s "$((total_ds / 10)).$((total_ds % 10))" downtime_ms "$total_down"
	soak_say "migration $i/$migs $src->$dst, ${secs} s (downtime $down ms)"
	where=$dst
done
[ "$migs" -gt 0 ] && echo "migrations: $migs, $((total_ds / migs / 10)).$((total_ds / migs % 10)) s each" \
     "on average (longest $((max_ds / 10)).$((max_ds % 10)) s), downtime $((total_down / migs)) ms on average"
[ "$where" = "$FERRY_ROLE" ] && soak_check_server "the end"
soak_final "$where"
