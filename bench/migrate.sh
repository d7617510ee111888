#!/bin/bash
# ferry-vm: hosts=2
# bench/migrate: live migration of a 256 MiB and a 1 GiB process whose
# 16 MiB hot window is rewritten continuously (compressible content), host
# a -> host b, each size three ways in the same run:
#  - ferry:          ferry migrate --postcopy=never (module pre-copy + CRIU
#                    incremental dump, lazy restore of the pre-copied pages
#                    on b; post-copy has its own bench, bench/postcopy.sh);
#  - stop-and-copy:  criu dump, stream the images, criu restore;
#  - CRIU pre-copy:  criu pre-dump, stream; criu dump --prev-images-dir,
#                    stream, criu restore.
# At the smallest size also ferry with `ferry receive --no-lazy` (every
# pre-copied page restored by CRIU before the tree runs), to show what the
# lazy restore takes out of the downtime, and ferry and CRIU pre-copy once
# more with transparent huge pages on (the workload's memory MADV_HUGEPAGE;
# soft-dirty then marks whole 2 MiB pages): THP off and on side by side.
# Downtime = from the start of the freezing step to the tree running on b
# (for the CRIU methods: from `criu dump` starting to b acknowledging a
# finished `criu restore`, all timed on a's clock), total = from the start
# of the migration. Every migrated process verifies its own memory on b.
# Reported as ratios to the baselines (TCG absolute times mean little).
# Targets (issue 5, at 1 GiB): ferry downtime <= 0.05x stop-and-copy and
# <= 0.15x CRIU pre-copy; bytes on the wire <= 0.5x raw (compressible).
# Machine-readable summary: $FERRY_OUT/result.json (role a): one entry per
# size. FERRY_BENCH_MIBS="256 1024" chooses the sizes; FERRY_BENCH_EAGER_MIB
# and FERRY_BENCH_THP_MIB the size of the extra runs ("none": skip them).
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/bench/lib.inc"
MIBS=${FERRY_BENCH_MIBS:-256 1024}
EAGER_MIB=${FERRY_BENCH_EAGER_MIB:-${MIBS%% *}}	# "none": skip it
THP_MIB=${FERRY_BENCH_THP_MIB:-${MIBS%% *}}	# "none": skip it
HOT=4096	# 16 MiB
W=$FERRY_PROGS/mig_workload
PORT_F=7930 PORT_E=7932 PORT_X=7931 PORT_T=7933

if [ "$FERRY_ROLE" = b ]; then
	xfer_server &
	wait_port "$PORT_X"
	for mib in $MIBS; do
		methods="ferry"
		[ "$mib" = "$EAGER_MIB" ] && methods="$methods ferry-eager"
		methods="$methods stopcopy precopy"
		[ "$mib" = "$THP_MIB" ] && methods="$methods ferry-thp precopy-thp"
		for m in $methods; do
			rpid=
			case $m in
			ferry) "$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT_F" --once \
				--dir /var/tmp 2>"$FERRY_OUT/receive-$mib.log" &
				rpid=$! ;;
			ferry-eager) "$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT_E" --once \
				--no-lazy --dir /var/tmp 2>"$FERRY_OUT/receive-eager-$mib.log" &
				rpid=$! ;;
			ferry-thp) "$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT_T" --once \
				--dir /var/tmp 2>"$FERRY_OUT/receive-thp-$mib.log" &
				rpid=$! ;;
			esac
			case $m in
			ferry) port=$PORT_F ;; ferry-eager) port=$PORT_E ;;
			ferry-thp) port=$PORT_T ;; *) port=$PORT_X ;;
			esac
			wait_port "$port"
			barrier "$mib-$m-go" 600
			barrier "$mib-$m-done" 3600
			verify_on_b "$mib $m"
			[ -z "$rpid" ] || wait "$rpid"	# the receiver, lazy-pages server included
			rm -rf /tmp/sc /tmp/pc
			barrier "$mib-$m-checked"
		done
	done
	exit 0
fi

start_workload() {	# MIB [FLAGS: z compressible (default), zh with THP]
	rm -f /tmp/w.pid /tmp/w.pid.verify
	setsid "$W" "$1" "$HOT" /tmp/w.pid "${2:-z}" </dev/null >/dev/null 2>&1 &
	for i in $(seq 600); do [ -s /tmp/w.pid ] && break; sleep 0.1; done
	cat /tmp/w.pid >"$FERRY_SHARED/pid"
	sleep 3		# let the hot window move
	cat /tmp/w.pid
}

echo 30000 >/proc/sys/kernel/ns_last_pid
cd /
criu check >/dev/null 2>&1 || true	# warm CRIU's kernel-feature cache for every method
out=${FERRY_OUT:-/tmp}

ferry_run() {	# MIB PORT TAG [WORKLOAD FLAGS]
	local pid
	barrier "$1-$3-go" 600		# b's receiver listens
	pid=$(start_workload "$1" "${4:-z}")
	"$FERRY_BIN" migrate "$pid" --to "$FERRY_PEER_IP:$2" --max-downtime 100 --postcopy=never --json \
		>"$out/$3-$1.json" 2>"$out/$3-$1.log" || { cat "$out/$3-$1.log"; fail "ferry migrate ($3, $1 MiB) failed"; }
	cat "$out/$3-$1.log"
	barrier "$1-$3-done"; barrier "$1-$3-checked" 3600
}

# CRIU pre-copy: one pre-dump, then the incremental dump. Writes
# "downtime total bytes" to $out/TAG-MIB.txt.
precopy_run() {	# MIB TAG WORKLOAD_FLAGS
	local mib=$1 pid t0 t1 t2 ans
	barrier "$mib-$2-go" 600
	pid=$(start_workload "$mib" "$3")
	t0=$(now_ms)
	mkdir -p /tmp/pc/1 /tmp/pc/2
	criu pre-dump -t "$pid" -D /tmp/pc/1 --track-mem -o /tmp/pc-1.log
	ans=$(xfer /tmp/pc/1 0)
	[ "$ans" = ok ] || fail "pre-dump transfer failed ($2)"
	t1=$(now_ms)
	criu dump -t "$pid" -D /tmp/pc/2 --track-mem --prev-images-dir ../1 -o /tmp/pc-2.log
	ans=$(xfer /tmp/pc/2 1)
	t2=$(now_ms)
	[ "$ans" = ok ] || fail "pre-copy restore on b failed ($2)"
	echo "$((t2 - t1)) $((t2 - t0)) $(( $(du -sb /tmp/pc/1 | cut -f1) + $(du -sb /tmp/pc/2 | cut -f1) ))" \
		>"$out/$2-$mib.txt"
	rm -rf /tmp/pc
	barrier "$mib-$2-done"; barrier "$mib-$2-checked" 3600
}

one_size() {	# MIB
	local mib=$1 pid t0 t1 t2 ans
	ferry_run "$mib" "$PORT_F" ferry
	[ "$mib" = "$EAGER_MIB" ] && ferry_run "$mib" "$PORT_E" ferry-eager

	# stop-and-copy
	barrier "$mib-stopcopy-go" 600
	pid=$(start_workload "$mib")
	t0=$(now_ms)
	mkdir -p /tmp/sc
	criu dump -t "$pid" -D /tmp/sc -o /tmp/sc-dump.log || fail "criu dump failed: $(tail -3 /tmp/sc-dump.log)"
	sc_dump=$(( $(now_ms) - t0 ))
	ans=$(xfer /tmp/sc 1)
	t1=$(now_ms)
	[ "$ans" = ok ] || fail "stop-and-copy restore on b failed"
	sc_down=$((t1 - t0)) sc_bytes=$(du -sb /tmp/sc | cut -f1)
	rm -rf /tmp/sc
	barrier "$mib-stopcopy-done"; barrier "$mib-stopcopy-checked" 3600

	precopy_run "$mib" precopy z
	if [ "$mib" = "$THP_MIB" ]; then
		ferry_run "$mib" "$PORT_T" ferry-thp zh
		precopy_run "$mib" precopy-thp zh
	fi
	read -r pc_down pc_total pc_bytes <"$out/precopy-$mib.txt"

	python3 - "$out" "$mib" "$sc_down" "$sc_bytes" "$sc_dump" "$pc_down" "$pc_total" \
		"$pc_bytes" <<'PY'
import json, os, sys
out, mib = sys.argv[1], int(sys.argv[2])
sc_down, sc_bytes, sc_dump, pc_down, pc_total, pc_bytes = map(int, sys.argv[3:9])
def ferry(tag):
    p = "%s/%s-%d.json" % (out, tag, mib)
    if not os.path.exists(p):
        return None
    f = json.load(open(p))
    raw = f["precopy_raw_bytes"] + f["final"]["image_bytes"]
    return {"downtime_ms": f["downtime_ms"], "total_ms": f["total_ms"], "rounds": f["rounds"],
            "bytes_on_wire": f["bytes_on_wire"], "raw_bytes": raw, "final": f["final"]}
f = ferry("ferry")
r = {"mib": mib, "hot_mib": 16, "ferry": f,
     "stop_and_copy": {"downtime_ms": sc_down, "dump_ms": sc_dump, "image_bytes": sc_bytes},
     "criu_precopy": {"downtime_ms": pc_down, "total_ms": pc_total, "image_bytes": pc_bytes}}
e = ferry("ferry-eager")
if e:
    r["ferry_eager_restore"] = e
r["ratios"] = {
    "ferry_over_stop_and_copy_downtime": f["downtime_ms"] / max(sc_down, 1),
    "ferry_over_criu_precopy_downtime": f["downtime_ms"] / max(pc_down, 1),
    "ferry_wire_over_raw": f["bytes_on_wire"] / max(f["raw_bytes"], 1),
    "ferry_wire_over_stop_and_copy_bytes": f["bytes_on_wire"] / max(sc_bytes, 1),
}
if e:
    r["ratios"]["lazy_over_eager_restore_downtime"] = f["downtime_ms"] / max(e["downtime_ms"], 1)
t = ferry("ferry-thp")
tp = "%s/precopy-thp-%d.txt" % (out, mib)
if t and os.path.exists(tp):
    d, tot, b = map(int, open(tp).read().split())
    r["thp_on"] = {"ferry": t, "criu_precopy": {"downtime_ms": d, "total_ms": tot, "image_bytes": b}}
    r["ratios"]["thp_on_ferry_over_criu_precopy_downtime"] = t["downtime_ms"] / max(d, 1)
    r["ratios"]["thp_on_ferry_wire_over_raw"] = t["bytes_on_wire"] / max(t["raw_bytes"], 1)
json.dump(r, open("%s/result-%d.json" % (out, mib), "w"), indent=1)
x = r["ratios"]
print("\nmigration of a %d MiB process, 16 MiB hot window (kernel %s)" % (mib, open("/proc/sys/kernel/osrelease").read().strip()))
print("%-22s %12s %12s %14s" % ("method", "downtime ms", "total ms", "bytes"))
print("%-22s %12d %12d %14d" % ("ferry", f["downtime_ms"], f["total_ms"], f["bytes_on_wire"]))
if e:
    print("%-22s %12d %12d %14d" % ("ferry, eager restore", e["downtime_ms"], e["total_ms"], e["bytes_on_wire"]))
print("%-22s %12d %12s %14d" % ("stop-and-copy", sc_down, sc_down, sc_bytes))
print("%-22s %12d %12d %14d" % ("CRIU pre-copy", pc_down, pc_total, pc_bytes))
print("ferry downtime / stop-and-copy: %.3f (target <= 0.05 at 1 GiB)" % x["ferry_over_stop_and_copy_downtime"])
print("ferry downtime / CRIU pre-copy: %.3f (target <= 0.15 at 1 GiB)" % x["ferry_over_criu_precopy_downtime"])
print("ferry bytes on the wire / raw:  %.3f (target <= 0.5)" % x["ferry_wire_over_raw"])
if e:
    print("ferry downtime lazy / eager restore: %.3f" % x["lazy_over_eager_restore_downtime"])
fi = f["final"]
print("ferry final: dump %d ms (frozen %d ms), transfer %d ms, restore %d ms" % (
    fi["dump_ms"], fi["frozen_before_transfer_ms"], fi["transfer_ms"], fi["restore_ms"]))
if "thp_on" in r:
    th = r["thp_on"]
    print("THP on (MADV_HUGEPAGE; soft-dirty marks whole 2 MiB pages):")
    print("%-22s %12d %12d %14d" % ("ferry, THP on", th["ferry"]["downtime_ms"],
          th["ferry"]["total_ms"], th["ferry"]["bytes_on_wire"]))
    print("%-22s %12d %12d %14d" % ("CRIU pre-copy, THP on", th["criu_precopy"]["downtime_ms"],
          th["criu_precopy"]["total_ms"], th["criu_precopy"]["image_bytes"]))
    print("THP on: ferry downtime / CRIU pre-copy: %.3f (THP off: %.3f)" % (
        x["thp_on_ferry_over_criu_precopy_downtime"], x["ferry_over_criu_precopy_downtime"]))
PY
}

for mib in $MIBS; do
	one_size "$mib"
done
python3 -c 'import socket,sys; c=socket.create_connection((sys.argv[1], int(sys.argv[2]))); c.sendall(b"quit 0\n")' "$FERRY_PEER_IP" "$PORT_X" 2>/dev/null || true
python3 - "$out" $MIBS <<'PY'
import json, sys
out = sys.argv[1]
r = {"sizes": [json.load(open("%s/result-%s.json" % (out, m))) for m in sys.argv[2:]]}
json.dump(r, open("%s/result.json" % out, "w"), indent=1)
PY
