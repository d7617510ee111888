#!/bin/bash
# ferry-vm: hosts=2
# bench/migrate: live migration of a 256 MiB process whose 16 MiB hot
# window is rewritten continuously (compressible content), host a -> host b,
# three ways in the same run:
#  - ferry:          ferry migrate (module pre-copy + CRIU incremental dump);
#  - stop-and-copy:  criu dump, stream the images, criu restore;
#  - CRIU pre-copy:  criu pre-dump, stream; criu dump --prev-images-dir,
#                    stream, criu restore.
# Downtime = from the start of the freezing step to the tree running on b
# (for the CRIU methods: from `criu dump` starting to b acknowledging a
# finished `criu restore`, all timed on a's clock), total = from the start
# of the migration. Every migrated process verifies its own memory on b.
# Reported as ratios to the baselines (TCG absolute times mean little).
# Targets (issue 5, at 1 GiB): ferry downtime <= 0.05x stop-and-copy and
# <= 0.15x CRIU pre-copy; bytes on the wire <= 0.5x raw (compressible).
# Machine-readable summary: $FERRY_OUT/result.json (role a).
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
MIB=${FERRY_BENCH_MIB:-256}
HOT=4096	# 16 MiB
W=$FERRY_PROGS/mig_workload
PORT_F=7930 PORT_X=7931

# b: receive a tar stream of image directories and restore on request.
# Protocol (one TCP connection per step): line "DIR RESTORE(0|1)", then the
# tar stream; b extracts into DIR, runs criu restore -d -D DIR if asked,
# answers "ok" or "fail".
xfer_server() {
	python3 - "$FERRY_MY_IP" "$PORT_X" <<'PY'
import socket, subprocess, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
while True:
    c, _ = s.accept()
    f = c.makefile("rb")
    line = f.readline().decode().split()
    if not line or line[0] == "quit":
        break
    d, restore = line[0], line[1] == "1"
    subprocess.run(["mkdir", "-p", d], check=True)
    t = subprocess.Popen(["tar", "-x", "-C", d], stdin=subprocess.PIPE)
    while True:
        b = f.read(1 << 20)
        if not b: break
        t.stdin.write(b)
    t.stdin.close(); t.wait()
    ok = t.returncode == 0
    if ok and restore:
        ok = subprocess.run(["criu", "restore", "-D", d, "-d", "-o", d + "/restore.log"]).returncode == 0
    c.sendall(b"ok\n" if ok else b"fail\n")
    c.close()
PY
}

# a: send DIR's contents to b's DIR; print b's answer.
xfer() {	# DIR RESTORE
	python3 - "$FERRY_PEER_IP" "$PORT_X" "$1" "$2" <<'PY'
import socket, subprocess, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
c.sendall(("%s %s\n" % (sys.argv[3], sys.argv[4])).encode())
t = subprocess.Popen(["tar", "-c", "-C", sys.argv[3], "."], stdout=subprocess.PIPE)
while True:
    b = t.stdout.read(1 << 20)
    if not b: break
    c.sendall(b)
t.wait()
c.shutdown(socket.SHUT_WR)
print(c.makefile().readline().strip())
PY
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

verify_on_b() {	# PIDFILE(on a)  -- b checks the restored process, then kills it
	local pid v
	pid=$(cat "$FERRY_SHARED/pid")
	rm -f /tmp/w.pid.verify
	kill -USR1 "$pid" || fail "restored process $pid not running on b"
	for i in $(seq 600); do [ -s /tmp/w.pid.verify ] && break; sleep 0.1; done
	v=$(cat /tmp/w.pid.verify)
	case $v in OK*) echo "b: $1 verified: $v" ;; *) fail "$1: verification on b: $v" ;; esac
	kill -9 "$pid"
}

if [ "$FERRY_ROLE" = b ]; then
	xfer_server &
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT_F" --once --dir /var/tmp 2>/tmp/recv.log &
	for i in $(seq 100); do ss -ltn | grep -q ":$PORT_F " && ss -ltn | grep -q ":$PORT_X " && break; sleep 0.1; done
	barrier ready
	for m in ferry stopcopy precopy; do
		barrier "$m-done" 1800
		verify_on_b "$m"
		rm -rf /tmp/sc /tmp/pc
		barrier "$m-checked"
	done
	exit 0
fi

start_workload() {
	rm -f /tmp/w.pid /tmp/w.pid.verify
	setsid "$W" "$MIB" "$HOT" /tmp/w.pid z </dev/null >/dev/null 2>&1 &
	for i in $(seq 600); do [ -s /tmp/w.pid ] && break; sleep 0.1; done
	cat /tmp/w.pid >"$FERRY_SHARED/pid"
	sleep 3		# let the hot window move
	cat /tmp/w.pid
}

echo 30000 >/proc/sys/kernel/ns_last_pid
cd /
criu check >/dev/null 2>&1 || true	# warm CRIU's kernel-feature cache for every method
barrier ready
out=${FERRY_OUT:-/tmp}

# 1. ferry
pid=$(start_workload)
"$FERRY_BIN" migrate "$pid" --to "$FERRY_PEER_IP:$PORT_F" --max-downtime 100 --json \
	>"$out/ferry.json" 2>"$out/ferry.log" || { cat "$out/ferry.log"; fail "ferry migrate failed"; }
cat "$out/ferry.log"
barrier ferry-done; barrier ferry-checked 1800

# 2. stop-and-copy
pid=$(start_workload)
t0=$(now_ms)
mkdir -p /tmp/sc
criu dump -t "$pid" -D /tmp/sc -o /tmp/sc-dump.log || fail "criu dump failed: $(tail -3 /tmp/sc-dump.log)"
sc_dump=$(( $(now_ms) - t0 ))
ans=$(xfer /tmp/sc 1)
t1=$(now_ms)
[ "$ans" = ok ] || fail "stop-and-copy restore on b failed"
sc_down=$((t1 - t0)) sc_bytes=$(du -sb /tmp/sc | cut -f1)
rm -rf /tmp/sc
barrier stopcopy-done; barrier stopcopy-checked 1800

# 3. CRIU pre-copy: one pre-dump, then the incremental dump
pid=$(start_workload)
t0=$(now_ms)
mkdir -p /tmp/pc/1 /tmp/pc/2
criu pre-dump -t "$pid" -D /tmp/pc/1 --track-mem -o /tmp/pc-1.log
ans=$(xfer /tmp/pc/1 0)
[ "$ans" = ok ] || fail "pre-dump transfer failed"
t1=$(now_ms)
criu dump -t "$pid" -D /tmp/pc/2 --track-mem --prev-images-dir ../1 -o /tmp/pc-2.log
ans=$(xfer /tmp/pc/2 1)
t2=$(now_ms)
[ "$ans" = ok ] || fail "pre-copy restore on b failed"
pc_down=$((t2 - t1)) pc_total=$((t2 - t0))
pc_bytes=$(( $(du -sb /tmp/pc/1 | cut -f1) + $(du -sb /tmp/pc/2 | cut -f1) ))
rm -rf /tmp/pc
barrier precopy-done; barrier precopy-checked 1800
python3 -c 'import socket,sys; c=socket.create_connection((sys.argv[1], int(sys.argv[2]))); c.sendall(b"quit 0\n")' "$FERRY_PEER_IP" "$PORT_X" || true

python3 - "$out/ferry.json" "$out/result.json" "$MIB" "$sc_down" "$sc_bytes" "$sc_dump" \
	"$pc_down" "$pc_total" "$pc_bytes" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
mib = int(sys.argv[3])
sc_down, sc_bytes, sc_dump, pc_down, pc_total, pc_bytes = map(int, sys.argv[4:10])
raw = f["precopy_raw_bytes"] + f["final"]["image_bytes"]
r = {
    "mib": mib, "hot_mib": 16,
    "ferry": {"downtime_ms": f["downtime_ms"], "total_ms": f["total_ms"], "rounds": f["rounds"],
              "bytes_on_wire": f["bytes_on_wire"], "raw_bytes": raw,
              "final": f["final"]},
    "stop_and_copy": {"downtime_ms": sc_down, "dump_ms": sc_dump, "image_bytes": sc_bytes},
    "criu_precopy": {"downtime_ms": pc_down, "total_ms": pc_total, "image_bytes": pc_bytes},
}
r["ratios"] = {
    "ferry_over_stop_and_copy_downtime": f["downtime_ms"] / max(sc_down, 1),
    "ferry_over_criu_precopy_downtime": f["downtime_ms"] / max(pc_down, 1),
    "ferry_wire_over_raw": f["bytes_on_wire"] / max(raw, 1),
    "ferry_wire_over_stop_and_copy_bytes": f["bytes_on_wire"] / max(sc_bytes, 1),
}
json.dump(r, open(sys.argv[2], "w"), indent=1)
x = r["ratios"]
print("\nmigration of a %d MiB process, 16 MiB hot window (kernel %s)" % (mib, open("/proc/sys/kernel/osrelease").read().strip()))
print("%-16s %12s %12s %14s" % ("method", "downtime ms", "total ms", "bytes"))
print("%-16s %12d %12d %14d" % ("ferry", f["downtime_ms"], f["total_ms"], f["bytes_on_wire"]))
print("%-16s %12d %12s %14d" % ("stop-and-copy", sc_down, sc_down, sc_bytes))
print("%-16s %12d %12d %14d" % ("CRIU pre-copy", pc_down, pc_total, pc_bytes))
print("ferry downtime / stop-and-copy: %.3f (target <= 0.05 at 1 GiB)" % x["ferry_over_stop_and_copy_downtime"])
print("ferry downtime / CRIU pre-copy: %.3f (target <= 0.15 at 1 GiB)" % x["ferry_over_criu_precopy_downtime"])
print("ferry bytes on the wire / raw:  %.3f (target <= 0.5)" % x["ferry_wire_over_raw"])
print("ferry final: dump %d ms (frozen %d ms), transfer %d ms, restore %d ms" % (
    f["final"]["dump_ms"], f["final"]["frozen_before_transfer_ms"], f["final"]["transfer_ms"], f["final"]["restore_ms"]))
PY
