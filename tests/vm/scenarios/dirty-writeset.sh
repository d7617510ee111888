#!/bin/bash
# dirty-writeset: known random write sets are reported exactly.
#
# A target maps 64 MiB of anonymous memory (THP off, then THP advised),
# populates it, clears its soft-dirty bits, then writes a known random page
# set each round (0.1 %, 1 %, 10 %). tests/progs/dirty_check requires, every
# round:
#   - `DIRTY_SCAN` of the region == bit 55 of /proc/PID/pagemap, page for
#     page (and == PAGEMAP_SCAN where the kernel has it);
#   - THP off: == the written set; THP on: the written set is inside the
#     report and the report inside the written pages' 2 MiB blocks (the
#     target must really have huge pages, checked via smaps_rollup);
#   - whole address space: module scan == pagemap backend scan (this covers
#     VM_SOFTDIRTY mappings, holes, file mappings, the stack...);
#   - a CLEAR scan reports the same pages and afterwards pagemap shows none
#     dirty in the region (ranged CLEAR and whole-space CLEAR alternate).
# Finally `ferry dirty --json` must print one object whose extents have
# integer start/pages/flags, and agree with the pagemap backend.
set -euo pipefail
. tests/vm/lib/assert.sh
lsmod | grep -q '^ferry ' || insmod "$FERRY_KO"

for thp in off on; do
	for pm in 1 10 100; do
		echo "== THP $thp, $pm permille"
		"$FERRY_PROGS"/dirty_check --mib 64 --thp $thp --permille $pm --rounds 4
	done
done

# CLI JSON shape and backend agreement on an idle process.
sleep 300 & tgt=$!
trap 'kill $tgt 2>/dev/null || true' EXIT
# Idle means asleep in (clock_)nanosleep, past its start-up (which maps,
# unmaps and grows the heap: compare only then).
for i in $(seq 100); do
	case $(cut -d' ' -f1 /proc/$tgt/syscall 2>/dev/null) in 35|230) break ;; esac
	sleep 0.1
done
sleep 0.5
"$FERRY_BIN" dirty $tgt --json >"$FERRY_OUT/module.json"
"$FERRY_BIN" dirty $tgt --json --backend pagemap >"$FERRY_OUT/pagemap.json"
python3 - "$FERRY_OUT/module.json" "$FERRY_OUT/pagemap.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); p = json.load(open(sys.argv[2]))
assert m["backend"] == "module" and p["backend"] == "pagemap", (m["backend"], p["backend"])
def pages(d):
    s = set()
    for e in d["extents"]:
        assert isinstance(e["start"], int) and isinstance(e["pages"], int) and isinstance(e["flags"], int), e
        assert e["start"] % 4096 == 0 and e["pages"] > 0, e
        s.update(range(e["start"], e["start"] + e["pages"] * 4096, 4096))
    return s
a, b = pages(m), pages(p)
assert m["dirty_pages"] == len(a), (m["dirty_pages"], len(a))
assert a == b, "module and pagemap differ: %d vs %d pages" % (len(a), len(b))
assert len(a) > 0, "a fresh process must have dirty pages"
print("ok: module == pagemap on an idle process: %d pages, %d extents" % (len(a), len(m["extents"])))
PY
