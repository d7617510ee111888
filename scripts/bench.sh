#!/bin/bash
# make bench: every benchmark in bench/*.sh, inside QEMU guests of both
# Debian kernels (6 GiB, 2 vCPUs: a 1 GiB process, its images on the
# destination's tmpfs and the budget's margin; up to 90 min per script, the 1 GiB
# migration bench being the longest). Each benchmark measures ferry and its
# baseline side by side in the same guest and prints ratios; absolute
# times under TCG are not meaningful. Results: build/bench/KVER/NAME.json.
#   BENCH="dirty tcp" make bench     run a subset
#   FERRY_BENCH_KERNELS="6.12"       one kernel only
#   FERRY_BENCH_MIBS="1024"          migration bench sizes (default "256 1024")
#   FERRY_BENCH_EAGER_MIB=none       skip its eager-restore comparison run
#   FERRY_BENCH_THP_MIB=none         skip its THP-on runs (ferry, CRIU pre-copy)
#   FERRY_BENCH_MEM=MB               guest memory (default 6144)
#   FERRY_BENCH_PC_HOTS="4096"       bench/postcopy's hot sets, in pages
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sel=()
if [ -n "${BENCH:-}" ]; then
	for b in $BENCH; do sel+=("bench/$b.sh"); done
else
	sel=(bench/*.sh)
fi
kargs=()
for k in ${FERRY_BENCH_KERNELS:-6.1 6.12}; do kargs+=(-k "$k"); done
tests/vm/run "${kargs[@]}" --mem "${FERRY_BENCH_MEM:-6144}" --timeout 5400 --total-timeout 9000 --show-log "${sel[@]}"
rc=$?
mkdir -p build/bench
for j in $(ls -dt build/vm/jobs/* | head -n 4); do
	kver=$(basename "$j" | sed -E 's/^[0-9]+-[0-9]+-(.*)-h[12]-[0-9]+$/\1/')
	for r in "$j"/out/a/*/result.json; do
		[ -f "$r" ] || continue
		mkdir -p "build/bench/$kver"
		cp "$r" "build/bench/$kver/$(basename "$(dirname "$r")").json"
	done
done
echo "bench: JSON results under build/bench/"
exit $rc
