#!/bin/bash
# bench/checkpoint: what a checkpoint costs the workload (issue 13), in one
# guest, side by side in the same run:
#  1. frozen time of one checkpoint of a running MIB MiB process (random
#     content, a 16 MiB hot window rewritten all along): `ferry checkpoint`
#     (pre-copy rounds while it runs, CRIU's final dump on top, left
#     running) against `criu dump --leave-running` alone (the baseline: the
#     whole memory dumped frozen); REPS each, alternating, THP off and on;
#  2. many at once: 4 processes of MIB/4 MiB (4 MiB hot windows: the same
#     16 MiB rewritten in all), checkpointed one after the
#     other and then all 4 at the same time: each one's frozen time at once
#     against alone (median), and the time until all 4 versions exist at
#     once against one after the other.
# Ratios only (times under TCG are noisy). Result: $FERRY_OUT/result.json.
# FERRY_BENCH_CKPT_MIB (256) and FERRY_BENCH_CKPT_REPS (3) narrow it.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
MIB=${FERRY_BENCH_CKPT_MIB:-256}
REPS=${FERRY_BENCH_CKPT_REPS:-3}
W=$FERRY_PROGS/mig_workload
D=/var/tmp/bench-ckpt
out=${FERRY_OUT:-/tmp}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
thp_mode() { echo "$1" >/sys/kernel/mm/transparent_hugepage/enabled; }

start_workload() {	# MIB HOT_PAGES FLAGS PIDFILE -> pid
	rm -f "$4"
	setsid "$W" "$1" "$2" "$4" $3 </dev/null >/dev/null 2>&1 &
	for i in $(seq 900); do [ -s "$4" ] && break; sleep 0.1; done
	[ -s "$4" ] || fail "workload did not start"
	cat "$4"
}

echo 30000 >/proc/sys/kernel/ns_last_pid
cd /
rm -rf "$D"
mkdir -p "$D"
criu check >/dev/null 2>&1 || true
: >"$out/single.txt"
for thp in off on; do
	flags=; [ $thp = on ] && flags=h
	thp_mode "$([ $thp = on ] && echo madvise || echo never)"
	pid=$(start_workload "$MIB" 4096 "$flags" /tmp/bw.pid)
	sleep 3
	for r in $(seq "$REPS"); do
		echo "bench: THP $thp, run $r: ferry checkpoint of $MIB MiB"
		t=$(now_ms)
		"$FERRY_BIN" checkpoint "$pid" --dir "$D/store" --max-downtime 100 --json \
			>"$out/ferry-$thp-$r.json" 2>"$out/ferry-$thp-$r.log" ||
			{ cat "$out/ferry-$thp-$r.log"; fail "ferry checkpoint failed"; }
		ft=$(($(now_ms) - t))
		fz=$(jq_get "$(cat "$out/ferry-$thp-$r.json")" final.frozen_time)
		rm -rf "$D/store"
		echo "bench: THP $thp, run $r: criu dump --leave-running of $MIB MiB"
		mkdir -p "$D/criu"
		t=$(now_ms)
		criu dump -t "$pid" -D "$D/criu" --leave-running --track-mem -v2 -o dump.log ||
			{ tail -5 "$D/criu/dump.log"; fail "criu dump failed"; }
		ct=$(($(now_ms) - t))
		cz=$(crit show "$D/criu/stats-dump" | jq '.entries[0].dump.frozen_time')
		rm -rf "$D/criu"
		echo "$thp $r $fz $ft $cz $ct" | tee -a "$out/single.txt"
		v=$(workload_verify "$pid" /tmp/bw.pid.verify)
		case $v in OK*) ;; *) fail "workload after run $r: $v" ;; esac
	done
	kill -9 "$pid"
done
thp_mode madvise

# many at once
Q=$((MIB / 4))
pids=()
for i in 1 2 3 4; do pids+=("$(start_workload "$Q" 1024 "" "/tmp/bm-$i.pid")"); done
sleep 3
: >"$out/many.txt"
t=$(now_ms)
for i in 1 2 3 4; do
	echo "bench: alone: workload $i ($Q MiB)"
	"$FERRY_BIN" checkpoint "${pids[$((i - 1))]}" --dir "$D/m-$i" --max-downtime 100 --json \
		>"$out/alone-$i.json" 2>"$out/alone-$i.log" || { cat "$out/alone-$i.log"; fail "alone $i"; }
	echo "alone $i $(jq_get "$(cat "$out/alone-$i.json")" final.frozen_time)" >>"$out/many.txt"
done
seq_ms=$(($(now_ms) - t))
rm -rf "$D"/m-*
echo "bench: 4 at once"
t=$(now_ms)
ck=()
for i in 1 2 3 4; do
	"$FERRY_BIN" checkpoint "${pids[$((i - 1))]}" --dir "$D/m-$i" --max-downtime 100 --json \
		>"$out/once-$i.json" 2>"$out/once-$i.log" &
	ck+=($!)
done
for i in 1 2 3 4; do
	wait "${ck[$((i - 1))]}" || { cat "$out/once-$i.log"; fail "at once $i"; }
	echo "once $i $(jq_get "$(cat "$out/once-$i.json")" final.frozen_time)" >>"$out/many.txt"
done
par_ms=$(($(now_ms) - t))
kill -9 "${pids[@]}"
rm -rf "$D"
cat "$out/many.txt"

python3 - "$out" "$MIB" "$seq_ms" "$par_ms" <<'PY'
import json, statistics, sys
out, mib, seq_ms, par_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r = {"mib": mib, "single": {}, "many": {}}
rows = [l.split() for l in open(out + "/single.txt") if l.strip()]
for thp in ("off", "on"):
    x = [row for row in rows if row[0] == thp]
    fz = statistics.median(int(row[2]) for row in x)
    cz = statistics.median(int(row[4]) for row in x)
    ft = statistics.median(int(row[3]) for row in x)
    ct = statistics.median(int(row[5]) for row in x)
    r["single"]["thp_" + thp] = {
        "ferry_frozen_time_us": fz, "criu_frozen_time_us": cz,
        "frozen_ratio": round(fz / cz, 3) if cz else None,
        "ferry_total_ms": ft, "criu_total_ms": ct,
        "total_ratio": round(ft / ct, 3) if ct else None}
    print("checkpoint of %d MiB, THP %s: frozen %.2fx CRIU --leave-running (%d vs %d ms), "
          "total %.2fx" % (mib, thp, fz / cz, fz // 1000, cz // 1000, ft / ct))
m = [l.split() for l in open(out + "/many.txt") if l.strip()]
alone = statistics.median(int(x[2]) for x in m if x[0] == "alone")
once = statistics.median(int(x[2]) for x in m if x[0] == "once")
r["many"] = {"processes": 4, "mib_each": mib // 4,
             "frozen_alone_us": alone, "frozen_at_once_us": once,
             "frozen_ratio": round(once / alone, 3) if alone else None,
             "sequential_ms": seq_ms, "at_once_ms": par_ms,
             "makespan_ratio": round(par_ms / seq_ms, 3) if seq_ms else None}
print("4 checkpoints at once: each frozen %.2fx alone (median), all 4 done in %.2fx the time "
      "of one after the other" % (once / alone, par_ms / seq_ms))
json.dump(r, open(out + "/result.json", "w"), indent=1)
PY
