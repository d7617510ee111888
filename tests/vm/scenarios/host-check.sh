#!/bin/bash
# host-check: a guest prepared like a migration host passes `ferry check`:
# ferry.ko loaded with a matching ABI, CRIU installed and `criu check` ok,
# soft-dirty works (a real write round trip), exit status 0, "ready": true.
# And the negative: with the module unloaded, `ferry check` exits 3 and
# lists ferry.ko as missing (it must not claim readiness).
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
rc=0
out=$("$FERRY_BIN" check --json) || rc=$?
echo "$out"
assert_eq "$rc" 0 "ferry check exit status"
assert_eq "$(jq_get "$out" ready)" True "ready"
assert_eq "$(jq_get "$out" criu.check_ok)" True "criu check"
assert_eq "$(jq_get "$out" soft_dirty)" True "soft-dirty"
assert_eq "$(jq_get "$out" userfaultfd)" True "userfaultfd"
"$FERRY_BIN" check
rmmod ferry
rc=0
out=$("$FERRY_BIN" check --json --no-criu) || rc=$?
insmod "$FERRY_KO"
assert_eq "$rc" 3 "exit status without ferry.ko"
echo "$out" | grep -q 'ferry.ko is not loaded' || fail "ferry.ko not listed as missing"
