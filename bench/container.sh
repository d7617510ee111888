#!/bin/bash
# ferry-vm: hosts=2
# bench/container: live migration of a Podman container, host a -> host b,
# three ways in the same run, for two containers:
#  - big:   mig_workload with 1 GiB of memory whose 16 MiB hot window is
#           rewritten continuously (compressible content);
#  - small: mig_workload with 8 MiB and 4 TCP connections (tcp_stream
#           server and client inside the container, over its loopback).
# The ways:
#  - ferry:           ferry migrate --container (module pre-copy, Podman's
#                     checkpoint of what changed since, restore on b);
#  - stop-and-copy:   podman container checkpoint --export, the archive
#                     streamed to b, podman container restore --import;
#  - Podman pre-copy: podman container checkpoint --pre-checkpoint --export
#                     (the container runs on), streamed to b; then
#                     checkpoint --with-previous --export, streamed, and
#                     restore --import --import-previous on b.
# Podman's own defaults otherwise (its archives are zstd-compressed).
# Downtime = from the freezing step's start to the container running on b
# (for Podman: from the final `podman container checkpoint` starting to b
# acknowledging a finished `podman container restore`, on a's clock);
# total = from the migration's start. On b every container's memory
# verifies (mig_workload checks each page) before it is removed.
# Reported as ratios to the baselines (TCG absolute times mean little).
# Targets (issue 12, big container): ferry downtime <= 0.05x stop-and-copy
# and <= 0.15x Podman pre-copy. For the small one: ferry's downtime against
# stop-and-copy, and where ferry's time goes (its report's phases).
# Summary: $FERRY_OUT/result.json (role a). FERRY_BENCH_CTR_CASES chooses
# the containers ("big small").
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/podman.sh"
ctr_setup
CASES=${FERRY_BENCH_CTR_CASES:-big small}
METHODS="ferry stopcopy precopy"
PORT_F=7940 PORT_X=7941
IMG=localhost/ferry-bench:1

# b: files from a, and Podman's restore of them on request. One TCP
# connection per step: "put NAME" then the bytes (into /var/tmp/bx/NAME),
# or "restore sc" / "restore pre"; answered "ok" or "fail".
xfer_server() {
	python3 - "$FERRY_MY_IP" "$PORT_X" <<'PY'
import os, socket, subprocess, sys
d = "/var/tmp/bx"
os.makedirs(d, exist_ok=True)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
restore = {
    "sc": ["--import", d + "/sc.tar"],
    "pre": ["--import", d + "/fin.tar", "--import-previous", d + "/pre.tar"],
}
while True:
    c, _ = s.accept()
    f = c.makefile("rb")
    line = f.readline().decode().split()
    ok = False
    if not line or line[0] == "quit":
        break
    if line[0] == "put" and len(line) == 2 and line[1] in ("sc.tar", "pre.tar", "fin.tar"):
        with open(os.path.join(d, line[1]), "wb") as out:
            while True:
                b = f.read(1 << 20)
                if not b: break
                out.write(b)
        ok = True
    elif line[0] == "restore" and len(line) == 2 and line[1] in restore:
        ok = subprocess.run(["podman", "container", "restore", "--tcp-established"] +
                            restore[line[1]], stdout=subprocess.DEVNULL).returncode == 0
    c.sendall(b"ok\n" if ok else b"fail\n")
    c.close()
PY
}

# a: xfer put FILE | xfer restore WHICH: b's answer
xfer() {
	python3 - "$FERRY_PEER_IP" "$PORT_X" "$1" "$2" <<'PY'
import os, socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
if sys.argv[3] == "put":
    c.sendall(("put %s\n" % os.path.basename(sys.argv[4])).encode())
    with open(sys.argv[4], "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b: break
            c.sendall(b)
else:
    c.sendall(("restore %s\n" % sys.argv[4]).encode())
c.shutdown(socket.SHUT_WR)
print(c.makefile().readline().strip())
PY
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
case_mib() { [ "$1" = big ] && echo 1024 || echo 8; }
case_hot() { [ "$1" = big ] && echo 4096 || echo 256; }

if [ "$FERRY_ROLE" = b ]; then
	barrier image 900
	podman load -q -i "$FERRY_SHARED/image.tar" >/dev/null
	xfer_server &
	wait_port "$PORT_X"
	for c in $CASES; do
		for m in $METHODS; do
			rpid=
			if [ "$m" = ferry ]; then
				"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT_F" --once --dir /var/tmp \
					--phase-timeout 1800 2>"$FERRY_OUT/receive-$c.log" &
				rpid=$!
				wait_port "$PORT_F"
			fi
			barrier "$c-$m-go" 900
			barrier "$c-$m-done" 5400
			[ -z "$rpid" ] || wait "$rpid" || fail "$c $m: ferry receive failed"
			w=$(wpid)
			[ -n "$w" ] || fail "$c $m: mig_workload does not run on b"
			v=$(workload_verify "$w" "/proc/$w/root/tmp/w.pid.verify")
			case $v in OK*) echo "b: $c $m verified: $v" ;; *) fail "$c $m: verification on b: $v" ;; esac
			podman rm -f -t 0 "b-$c-$m" >/dev/null
			rm -f /var/tmp/bx/*.tar
			barrier "$c-$m-checked" 900
		done
	done
	exit 0
fi

# a: the image, then per container and way one fresh container
step "image"
ctr_image_build $CTR_DIR/rootfs.tar "$FERRY_PROGS/mig_workload" "$FERRY_PROGS/tcp_stream"
podman import -q $CTR_DIR/rootfs.tar $IMG >/dev/null
podman save -q -o "$FERRY_SHARED/image.tar" $IMG
barrier image 900

# run_ctr NAME CASE: the container, its workload verified once
run_ctr() {
	local conns="" w v i
	[ "$2" = small ] && conns="/w/tcp_stream server 127.0.0.1 7200 4 /tmp/s.st /tmp/s.pid 65536 &
		sleep 1; /w/tcp_stream client 127.0.0.1 7200 4 /tmp/c.st 65536 &"
	podman run -d -q --name "$1" --network bridge $IMG /bin/sh -c \
		"$conns /w/mig_workload $(case_mib "$2") $(case_hot "$2") /tmp/w.pid z & while :; do sleep 1000; done" \
		>/dev/null
	for i in $(seq 600); do w=$(wpid); [ -n "$w" ] && [ -s "/proc/$w/root/tmp/w.pid" ] && break; sleep 0.2; done
	[ -n "$w" ] || fail "$1: mig_workload does not run"
	v=$(workload_verify "$w" "/proc/$w/root/tmp/w.pid.verify")
	case $v in OK*) ;; *) fail "$1: verification before: $v" ;; esac
	sleep 3		# let the hot window move
}

res="$FERRY_OUT/result.json"
echo '{"cases": [' >"$res"
first=1
for c in $CASES; do
	declare -A down=() tot=()
	for m in $METHODS; do
		name="b-$c-$m"
		step "$c: $m: container"
		run_ctr "$name" "$c"
		barrier "$c-$m-go" 900
		step "$c: $m: migrating"
		case $m in
		ferry)
			"$FERRY_BIN" migrate --container "$name" --to "$FERRY_PEER_IP:$PORT_F" --json \
				>"$FERRY_OUT/report-$c.json" 2>"$FERRY_OUT/migrate-$c.log" ||
				{ cat "$FERRY_OUT/migrate-$c.log"; fail "$c: ferry migrate failed"; }
			down[$m]=$(jq .downtime_ms "$FERRY_OUT/report-$c.json")
			tot[$m]=$(jq .total_ms "$FERRY_OUT/report-$c.json")
			jq -c '{rounds, stop_reason, final}' "$FERRY_OUT/report-$c.json"
			;;
		stopcopy)
			t0=$(now_ms)
			podman container checkpoint --tcp-established --export /var/tmp/sc.tar "$name" \
				>/dev/null || fail "$c: podman checkpoint failed"
			[ "$(xfer put /var/tmp/sc.tar)" = ok ] || fail "$c: copying the archive failed"
			[ "$(xfer restore sc)" = ok ] || fail "$c: podman restore on b failed"
			t1=$(now_ms)
			down[$m]=$((t1 - t0)) tot[$m]=$((t1 - t0))
			podman rm -f -t 0 "$name" >/dev/null
			rm -f /var/tmp/sc.tar
			;;
		precopy)
			t0=$(now_ms)
			podman container checkpoint --pre-checkpoint --export /var/tmp/pre.tar "$name" \
				>/dev/null || fail "$c: podman pre-checkpoint failed"
			[ "$(xfer put /var/tmp/pre.tar)" = ok ] || fail "$c: copying the pre-checkpoint failed"
			tf=$(now_ms)
			podman container checkpoint --with-previous --tcp-established \
				--export /var/tmp/fin.tar "$name" >/dev/null ||
				fail "$c: podman checkpoint --with-previous failed"
			[ "$(xfer put /var/tmp/fin.tar)" = ok ] || fail "$c: copying the archive failed"
			[ "$(xfer restore pre)" = ok ] || fail "$c: podman restore --import-previous on b failed"
			t1=$(now_ms)
			down[$m]=$((t1 - tf)) tot[$m]=$((t1 - t0))
			podman rm -f -t 0 "$name" >/dev/null
			rm -f /var/tmp/pre.tar /var/tmp/fin.tar
			;;
		esac
		step "$c: $m: downtime ${down[$m]} ms, total ${tot[$m]} ms"
		barrier "$c-$m-done" 5400
		barrier "$c-$m-checked" 900
	done
	r_sc=$(awk -v a="${down[ferry]}" -v b="${down[stopcopy]}" 'BEGIN { printf "%.3f", a / b }')
	r_pc=$(awk -v a="${down[ferry]}" -v b="${down[precopy]}" 'BEGIN { printf "%.3f", a / b }')
	echo "bench container $c: ferry downtime ${down[ferry]} ms = ${r_sc}x stop-and-copy" \
		"(${down[stopcopy]} ms), ${r_pc}x Podman pre-copy (${down[precopy]} ms);" \
		"total ${tot[ferry]} / ${tot[stopcopy]} / ${tot[precopy]} ms"
	[ $first = 1 ] || echo ',' >>"$res"
	first=0
	jq -n --arg c "$c" --argjson mib "$(case_mib "$c")" \
		--argjson fd "${down[ferry]}" --argjson ft "${tot[ferry]}" \
		--argjson sd "${down[stopcopy]}" --argjson st "${tot[stopcopy]}" \
		--argjson pd "${down[precopy]}" --argjson pt "${tot[precopy]}" \
		--argjson rsc "$r_sc" --argjson rpc "$r_pc" \
		--slurpfile rep "$FERRY_OUT/report-$c.json" \
		'{case: $c, memory_mib: $mib,
		  ferry: {downtime_ms: $fd, total_ms: $ft, rounds: $rep[0].rounds,
			  final: $rep[0].final},
		  podman_stop_copy: {downtime_ms: $sd, total_ms: $st},
		  podman_precopy: {downtime_ms: $pd, total_ms: $pt},
		  downtime_vs_stop_copy: $rsc, downtime_vs_precopy: $rpc,
		  targets: {vs_stop_copy: 0.05, vs_precopy: 0.15}}' >>"$res"
done
echo ']}' >>"$res"
jq . "$res"
