#!/bin/bash
# dirty-stress: no write is ever lost by clearing scans.
#
# tests/progs/dirty_stress: writer threads stamp increasing sequence
# numbers into random pages of a 64 MiB region while a scanner runs a
# pre-copy: clearing scan + full copy, then many rounds of "clearing scan
# (DIRTY_SCAN with CLEAR), copy the reported pages", then stop writers, a
# last scan and copy. The copy must equal the target's memory exactly
# (process_vm_readv), otherwise a write was lost. Variants: THP off and
# advised; 4 writers; with churn threads doing mmap/mremap/munmap, fork and
# mprotect-splitting the region's VMA (THP split/merge) during whole-space
# scans. Negative control: the same test with "pagemap, then clear_refs
# without freezing" must detect lost writes (shows the check can fail);
# and the pagemap backend's freeze + clear_refs must lose nothing.
set -euo pipefail
. tests/vm/lib/assert.sh
lsmod | grep -q '^ferry ' || insmod "$FERRY_KO"
P=$FERRY_PROGS

$P/dirty_stress --mib 64 --thp off --rounds 40
$P/dirty_stress --mib 64 --thp on --rounds 40
$P/dirty_stress --mib 64 --thp off --threads 4 --rounds 40 --sleep-ms 2
$P/dirty_stress --mib 64 --thp on --churn --rounds 25
$P/dirty_stress --mib 64 --thp off --churn --rounds 25
$P/dirty_stress --mib 32 --thp off --rounds 20 --backend pagemap
# The negative control needs a write to land between the pagemap read and
# clear_refs: a race, so it gets up to 5 runs with 4 writers; one detection
# is enough, an exit other than 0 (nothing lost this time) or 3 fails.
seen=0
for attempt in 1 2 3 4 5; do
	rc=0
	$P/dirty_stress --mib 32 --thp off --threads 4 --rounds 40 --unsafe || rc=$?
	case $rc in
	3) seen=1; echo "negative control: lost writes detected (run $attempt)"; break ;;
	0) echo "negative control: no loss in run $attempt" ;;
	*) fail "negative control run $attempt exited $rc" ;;
	esac
done
assert_eq "$seen" 1 "negative control (clear_refs without freeze) detects lost writes"
