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
#     once against one after the other;
#  3. periodic versions (THP off): VERSIONS versions, one every INTERVAL
#     s, of a PMIB MiB process with a 16 MiB hot window (the stores on a
#     tmpfs of their own, sized for it): per version (the
#     2nd on, medians) the frozen time and the bytes stored by `ferry ha`
#     (incremental: only what changed since the version before), by CRIU's
#     incremental method (`criu pre-dump` on top of the version before,
#     then `criu dump --track-mem --leave-running` on top of the pre-dump;
#     both freezes counted) and by full `criu dump --leave-running`; and the
#     workload's write rate while `ferry ha` runs (all of it, and from
#     version 1's publication on) against its rate without it. Then
#     CRIU's floor: its dump on top of the last version with the workload
#     stopped (nothing to write), the least any final dump by CRIU costs
#     this process.
# Ratios only (times under TCG are noisy). Result: $FERRY_OUT/result.json.
# FERRY_BENCH_CKPT_MIB (256), FERRY_BENCH_CKPT_PERIODIC_MIB (1024: the guest
# needs about 3x that in RAM), FERRY_BENCH_CKPT_REPS (3),
# FERRY_BENCH_CKPT_VERSIONS (10), FERRY_BENCH_CKPT_INTERVAL (5) and
# FERRY_BENCH_CKPT_PARTS ("single many periodic") narrow it.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/bench/lib.inc"
MIB=${FERRY_BENCH_CKPT_MIB:-256}
REPS=${FERRY_BENCH_CKPT_REPS:-3}
PMIB=${FERRY_BENCH_CKPT_PERIODIC_MIB:-1024}
NV=${FERRY_BENCH_CKPT_VERSIONS:-10}
IV=${FERRY_BENCH_CKPT_INTERVAL:-5}
PARTS=" ${FERRY_BENCH_CKPT_PARTS:-single many periodic} "
part() { [[ "$PARTS" == *" $1 "* ]]; }
W=$FERRY_PROGS/mig_workload
D=/var/tmp/bench-ckpt
out=${FERRY_OUT:-/tmp}
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
: >"$out/many.txt"
seq_ms=0 par_ms=0
part single && for thp in off on; do
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
many() {
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
rm -rf "$D"/m-*
cat "$out/many.txt"
}
part many && many

# periodic versions
# stats_of DIR...: "FROZEN_US PAGES" of CRIU's dumps (or pre-dumps) in the
# DIRs, summed: the time frozen and the pages written (copied frozen), one
# crit run per DIR
stats_of() {
	local d f=0 p=0 a b
	for d in "$@"; do
		read -r a b <<<"$(crit show "$d/stats-dump" |
			jq -r '.entries[0].dump | "\(.frozen_time) \(.pages_written)"')"
		f=$((f + a)) p=$((p + b))
	done
	echo "$f $p"
}
# row KIND K DIR...: a line of periodic.txt (KIND K FROZEN_US BYTES PAGES)
# for CRIU's dump in the first DIR, counting the frozen time and pages of
# all of them
row() {
	local st
	st=$(stats_of "${@:3}")
	echo "$1 $2 ${st% *} $(bytes_of "$3") ${st#* }"
}
bytes_of() { du -sb --exclude='*.log' "$1" | cut -f1; }
periodic() {
	local pid k prev ts w0 w1 w2 w2s w3 t0 t1 t2 t2s t3 hp
	thp_mode never
	mkdir -p "$D/p"
	mount -t tmpfs -o size=90% tmpfs "$D/p"
	D=$D/p
	pid=$(start_workload "$PMIB" 4096 "" /tmp/bp.pid)
	sleep 3
	echo "bench: the workload's write rate over $((NV * IV)) s without checkpoints"
	w0=$(workload_writes /tmp/bp.pid); t0=$(now_ms)
	sleep $((NV * IV))
	w1=$(workload_writes /tmp/bp.pid); t1=$(now_ms)
	echo "bench: ferry ha, $NV versions every $IV s"
	w2=$(workload_writes /tmp/bp.pid); t2=$(now_ms)
	"$FERRY_BIN" ha "$pid" --dir "$D/ha" --interval "$IV" --count "$NV" --keep "$NV" \
		--max-downtime 100 --json >"$out/ha.json" 2>"$out/ha.log" &
	hp=$!
	# the steady state: from version 1's publication (the whole copy done)
	for k in $(seq 6000); do [ -s "$out/ha.json" ] && break; kill -0 $hp 2>/dev/null || break; sleep 0.1; done
	w2s=$(workload_writes /tmp/bp.pid); t2s=$(now_ms)
	wait $hp || { cat "$out/ha.log"; fail "ferry ha failed"; }
	w3=$(workload_writes /tmp/bp.pid); t3=$(now_ms)
	echo "rate $(((w1 - w0) * 1000 / (t1 - t0))) $(((w3 - w2) * 1000 / (t3 - t2)))" \
		"$(((w3 - w2s) * 1000 / (t3 - t2s)))" >"$out/periodic.txt"
	python3 -c 'import json,sys
for l in open(sys.argv[1]):
    j = json.loads(l)
    print("ferry", j["version"], j["final"]["frozen_time"], j["bytes"], j["final"]["pages_written"])' \
		"$out/ha.json" >>"$out/periodic.txt"
	rm -rf "$D/ha"
	echo "bench: CRIU incremental (pre-dump + dump --track-mem), $NV versions every $IV s"
	prev=
	for k in $(seq "$NV"); do
		ts=$(now_ms)
		mkdir -p "$D/ci/$k/pre"
		if [ -n "$prev" ]; then
			criu pre-dump -t "$pid" -D "$D/ci/$k/pre" --prev-images-dir "../../$prev" \
				--track-mem -v2 -o pre.log || { tail -5 "$D/ci/$k/pre/pre.log"; fail "criu pre-dump"; }
			criu dump -t "$pid" -D "$D/ci/$k" --prev-images-dir pre --track-mem --leave-running \
				-v2 -o dump.log || { tail -5 "$D/ci/$k/dump.log"; fail "criu dump (incremental)"; }
			row criu-inc "$k" "$D/ci/$k" "$D/ci/$k/pre"
		else
			criu dump -t "$pid" -D "$D/ci/$k" --track-mem --leave-running -v2 -o dump.log ||
				{ tail -5 "$D/ci/$k/dump.log"; fail "criu dump (first)"; }
			row criu-inc "$k" "$D/ci/$k"
		fi >>"$out/periodic.txt"
		prev=$k
		while [ "$(now_ms)" -lt $((ts + IV * 1000)) ]; do sleep 0.2; done
	done
	# CRIU's floor: the same dump on top of the last version, with the
	# workload stopped so that nothing has changed since. Its frozen time
	# is what any final dump by CRIU 3.17 costs this process whatever
	# tracks its writes: the freeze, the parasite, and reading
	# /proc/PID/pagemap for every page of every mapping (the walk grows
	# with the mapping, not with what changed).
	# (Dump 0 takes what the workload wrote until it stopped, and is not
	# counted; 1-3 then find nothing changed.)
	echo "bench: CRIU's floor (dump --track-mem on top of the one before, nothing changed), 3 times"
	kill -STOP "$pid"
	prev=../ci/$prev
	for k in 0 1 2 3; do
		mkdir -p "$D/floor/$k"
		criu dump -t "$pid" -D "$D/floor/$k" --prev-images-dir "../$prev" --track-mem \
			--leave-running -v2 -o dump.log ||
			{ kill -CONT "$pid"; tail -5 "$D/floor/$k/dump.log" >&2; fail "criu dump (floor)"; }
		[ $k = 0 ] || row criu-floor "$k" "$D/floor/$k"
		prev=$k
	done >>"$out/periodic.txt"
	kill -CONT "$pid"
	rm -rf "$D/ci" "$D/floor"
	echo "bench: full criu dump --leave-running, $NV versions every $IV s"
	for k in $(seq "$NV"); do
		ts=$(now_ms)
		mkdir -p "$D/cf"
		criu dump -t "$pid" -D "$D/cf" --leave-running -v2 -o dump.log ||
			{ tail -5 "$D/cf/dump.log"; fail "criu dump (full)"; }
		row criu-full "$k" "$D/cf" >>"$out/periodic.txt"
		rm -rf "$D/cf"
		while [ "$(now_ms)" -lt $((ts + IV * 1000)) ]; do sleep 0.2; done
	done
	v=$(workload_verify "$pid" /tmp/bp.pid.verify)
	case $v in OK*) ;; *) fail "workload after the periodic part: $v" ;; esac
	kill -9 "$pid"
	thp_mode madvise
	D=${D%/p}
	umount "$D/p"
	cat "$out/periodic.txt"
}
: >"$out/periodic.txt"
part periodic && periodic
rm -rf "$D"

python3 - "$out" "$MIB" "$seq_ms" "$par_ms" "$PMIB" <<'PY'
import json, statistics, sys
out, mib, seq_ms, par_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
pmib = int(sys.argv[5])
r = {"mib": mib, "single": {}, "many": {}, "periodic": {}}
rows = [l.split() for l in open(out + "/single.txt") if l.strip()]
for thp in ("off", "on"):
    x = [row for row in rows if row[0] == thp]
    if not x:
        continue
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
p = [l.split() for l in open(out + "/periodic.txt") if l.strip()]
if p:
    rate = [x for x in p if x[0] == "rate"][0]
    def per(kind, col):	# medians over the 2nd version on
        return statistics.median(int(x[col]) for x in p if x[0] == kind and int(x[1]) > 1)
    fz, fb = per("ferry", 2), per("ferry", 3)
    iz, ib = per("criu-inc", 2), per("criu-inc", 3)
    uz, ub = per("criu-full", 2), per("criu-full", 3)
    tp = int(rate[2]) / int(rate[1]) if int(rate[1]) else None
    ts = int(rate[3]) / int(rate[1]) if len(rate) > 3 and int(rate[1]) else None
    r["periodic"] = {
        "mib": pmib, "versions": sum(1 for x in p if x[0] == "ferry"),
        "ferry_frozen_time_us": fz, "ferry_bytes": fb,
        "criu_incremental_frozen_time_us": iz, "criu_incremental_bytes": ib,
        "criu_full_frozen_time_us": uz, "criu_full_bytes": ub,
        "frozen_ratio_vs_criu_incremental": round(fz / iz, 3) if iz else None,
        "frozen_ratio_vs_criu_full": round(fz / uz, 3) if uz else None,
        "bytes_ratio_vs_criu_full": round(fb / ub, 3) if ub else None,
        "bytes_ratio_vs_criu_incremental": round(fb / ib, 3) if ib else None,
        "write_rate_ratio": round(tp, 3) if tp else None,
        "write_rate_ratio_from_version_2": round(ts, 3) if ts else None}
    # pages copied while frozen (each version's final dump; CRIU's
    # incremental method: its pre-dump and its dump)
    if all(len(x) > 4 for x in p if x[0] in ("ferry", "criu-inc")):
        r["periodic"]["ferry_frozen_pages"] = per("ferry", 4)
        r["periodic"]["criu_incremental_frozen_pages"] = per("criu-inc", 4)
    fl = [int(x[2]) for x in p if x[0] == "criu-floor"]
    if fl:
        lz = statistics.median(fl)
        r["periodic"].update({
            "criu_floor_frozen_time_us": lz,
            "floor_ratio_vs_criu_incremental": round(lz / iz, 3) if iz else None,
            "frozen_ratio_vs_floor": round(fz / lz, 3) if lz else None})
    print("periodic versions of %d MiB (medians from the 2nd): ferry ha frozen %.2fx CRIU's "
          "incremental (%d vs %d ms), %.2fx a full dump; stored %.3fx a full dump (%.1f vs %.1f "
          "MiB), %.2fx CRIU's incremental; write rate during ferry ha %.2fx without"
          % (pmib, fz / iz, fz // 1000, iz // 1000, fz / uz, fb / ub, fb / 1048576, ub / 1048576,
             fb / ib, tp or 0))
    if "ferry_frozen_pages" in r["periodic"]:
        print("pages copied while frozen, per version: ferry ha %d, CRIU's incremental %d "
              "(its pre-dump and its dump)" % (r["periodic"]["ferry_frozen_pages"],
                                              r["periodic"]["criu_incremental_frozen_pages"]))
    if ts:
        print("write rate from version 2 on (version 1's whole copy done): %.2fx without" % ts)
    if fl:
        print("CRIU's floor (a dump on top of the last version, nothing changed): %d ms, %.2fx "
              "CRIU's incremental; ferry ha's frozen time is %.2fx that floor"
              % (lz // 1000, lz / iz, fz / lz))
m = [l.split() for l in open(out + "/many.txt") if l.strip()]
if not m:
    json.dump(r, open(out + "/result.json", "w"), indent=1)
    sys.exit(0)
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
