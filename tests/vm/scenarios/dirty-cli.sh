#!/bin/bash
# dirty-cli: `ferry dirty` as a user sees it.
#
#  - --interval/--count --json: one JSON object with N rounds; a process
#    writing 1024 pages of its 64 MiB buffer every ~50 ms shows a dirty
#    rate, attributed to the mapping of that buffer (the busiest mapping,
#    with 1024 to 1088 dirty pages per round: one pass of the writer
#    touches 1024 pages, THP is off for that buffer);
#  - text --interval prints per-round tables;
#  - backend fallback: with ferry.ko unloaded, auto picks PAGEMAP_SCAN
#    (6.12) or pagemap (6.1), --clear then stops the target around
#    clear_refs (frozen_ns > 0) and a scan right after a clearing one
#    finds only what the writer wrote in between (<= 1088 pages, not the
#    64 MiB buffer); --backend module
#    exits 6 (module missing);
#  - --help exits 0, a bad --backend exits 2.
set -euo pipefail
. tests/vm/lib/assert.sh
F=$FERRY_BIN
lsmod | grep -q '^ferry ' || insmod "$FERRY_KO"
rm -f "$FERRY_OUT/ready"
# The writer runs with THP disabled for its whole mm (PR_SET_THP_DISABLE,
# kept across exec): the fallback check below counts every dirty page of
# the process, and one huge page of python's own heap would add 512.
python3 -c 'import ctypes, os, sys
ctypes.CDLL(None, use_errno=True).prctl(41, 1, 0, 0, 0)	# PR_SET_THP_DISABLE
os.execvp(sys.argv[1], sys.argv[1:])' python3 -c '
import time, mmap, sys
b = mmap.mmap(-1, 64 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
b.madvise(mmap.MADV_NOHUGEPAGE)   # page-precise: THP would make it 2 MiB
n = 0
while True:
    for i in range(0, 64 << 20, 4096 * 16):
        b[i] = n & 255
    if n == 1:
        open(sys.argv[1], "w").close()
    n += 1
    time.sleep(0.05)' "$FERRY_OUT/ready" &
w=$!
cleanup() { set +e; kill $w 2>/dev/null; lsmod | grep -q "^ferry " || insmod "$FERRY_KO"; return 0; }
trap cleanup EXIT
for i in $(seq 300); do [ -e "$FERRY_OUT/ready" ] && break; sleep 0.1; done
[ -e "$FERRY_OUT/ready" ] || fail "writer did not start"

"$F" dirty $w --interval 300 --count 3 --json >"$FERRY_OUT/rate.json"
python3 - "$FERRY_OUT/rate.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["backend"] == "module", r["backend"]
assert r["rounds_done"] == 3 and len(r["rounds"]) == 3, r
for rd in r["rounds"]:
    m = rd["mappings"]
    assert m, "no mapping written in round %d" % rd["round"]
    top = m[0]
    assert top["end"] - top["start"] >= 64 << 20, top
    assert 1024 <= top["dirty_pages"] <= 1024 + 64, top
    assert rd["mib_per_s"] > 0
print("ok: 3 rounds, busiest mapping %x-%x, %s pages/round" %
      (top["start"], top["end"], [rd["mappings"][0]["dirty_pages"] for rd in r["rounds"]]))
PY
"$F" dirty $w --interval 200 --count 2 | tee "$FERRY_OUT/rate.txt"
grep -q "round 2" "$FERRY_OUT/rate.txt" || fail "no second round in text output"

# Fallback without the module
rmmod ferry
want=pagemap-scan
case $(uname -r) in 6.1.*) want=pagemap ;; esac
"$F" dirty $w --json >"$FERRY_OUT/fb.json"
assert_eq "$(jq_get "$(cat "$FERRY_OUT/fb.json")" backend)" "$want" "auto backend without ferry.ko"
"$F" dirty $w --clear --json >"$FERRY_OUT/fb1.json"
"$F" dirty $w --clear --json >"$FERRY_OUT/fb2.json"
python3 - "$FERRY_OUT/fb1.json" "$FERRY_OUT/fb2.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
for r in (a, b):
    assert r["clear"] and r["stats"]["frozen_ns"] > 0, r["stats"]
# after a clearing scan the next one sees only what was written since:
# the writer's 1024 pages (and a few of python's own), not the 64 MiB
assert b["dirty_pages"] <= 1024 + 64, (a["dirty_pages"], b["dirty_pages"])
print("ok: freeze-based clearing, %d then %d pages" % (a["dirty_pages"], b["dirty_pages"]))
PY
assert_rc 6 "$F" dirty $w --backend module
insmod "$FERRY_KO"

assert_rc 0 "$F" dirty --help
assert_rc 2 "$F" dirty $w --backend kernel
assert_rc 2 "$F" dirty $w --count 3
