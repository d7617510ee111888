#!/bin/bash
# dirty-errors: DIRTY_SCAN refuses what it must, with reasons.
#
#  - EPERM for a caller without capabilities (setpriv to nobody):
#    `ferry dirty` exits 5 with the reason (each capability set is in
#    module-caps.sh);
#  - ESRCH for an unknown pid (kernel's extack "no such process"), exit 4;
#  - EINVAL with the extended-ack text shown by `ferry dirty`, exit 2:
#    unaligned start/end, end <= start, end beyond user space;
#  - strict policy (raw requests, tests/progs/dirty_nlraw): missing PID,
#    PID of the wrong size, unknown flag bits, a reply-only attribute in a
#    request are all EINVAL; a kernel thread (pid 2) is ESRCH.
set -euo pipefail
. tests/vm/lib/assert.sh
F=$FERRY_BIN
lsmod | grep -q '^ferry ' || insmod "$FERRY_KO"
sleep 300 & tgt=$!
trap 'kill $tgt 2>/dev/null || true' EXIT

# EPERM
rc=0; out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
	"$F" dirty $tgt --backend module 2>&1) || rc=$?
echo "$out"
assert_eq "$rc" 5 "unprivileged caller: exit code"
echo "$out" | grep -q "not permitted\|CAP_SYS_ADMIN" || fail "no permission reason in: $out"

# ESRCH
rc=0; out=$("$F" dirty 4000000 --backend module 2>&1) || rc=$?
echo "$out"
assert_eq "$rc" 4 "unknown pid: exit code"
echo "$out" | grep -q "no such process" || fail "no ESRCH reason in: $out"

# EINVAL with extack text through ferry dirty
check_inval() {
	local want=$1; shift
	local rc=0 out
	out=$("$F" dirty $tgt --backend module "$@" 2>&1) || rc=$?
	echo "$out"
	assert_eq "$rc" 2 "ferry dirty $* exit code"
	echo "$out" | grep -q "$want" || fail "extack '$want' not shown for $*: $out"
}
check_inval "start address must be page aligned" --start 0x1001
check_inval "end address must be page aligned" --end 0x7fff1234
check_inval "end address must be above start address" --start 0x200000 --end 0x100000
check_inval "end address is beyond the user address space" --end 0xffffffffff600000

# Strict policy, raw requests
raw() { "$FERRY_PROGS"/dirty_nlraw "$@"; }
expect_raw() {
	local want=$1; shift
	local out
	out=$(raw "$@")
	echo "dirty_nlraw $*: $out"
	echo "$out" | grep -q -- "$want" || fail "dirty_nlraw $*: want '$want', got '$out'"
}
expect_raw "EINVAL.*FERRY_DIRTY_A_PID is required" --start 0
expect_raw "EINVAL" --pid $tgt --u16-pid
expect_raw "EINVAL" --pid $tgt --flags 0x4
expect_raw "EINVAL" --pid $tgt --extent-attr
expect_raw "EINVAL.*pid must be positive" --pid 0
expect_raw "ESRCH.*no user memory" --pid 2
expect_raw "result: OK" --pid $tgt --flags 1
expect_raw "result: OK extents=0" --pid $tgt --flags 3   # packed: no EXTENT nests
