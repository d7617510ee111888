#!/bin/bash
# Run the cmocka unit-test binaries given as arguments; print one result
# line per binary and "unit: N passed, N failed" (counting test cases).
set -uo pipefail
passed=0 failed=0 bins_failed=0
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	echo "$out" | grep -E '^\[  (PASSED|FAILED)  \]|^\[  ERROR   \]|^\[  FAILED  \] ' || true
	p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ $rc -ne 0 ]; then
		bins_failed=$((bins_failed + 1))
		[ -z "$f" ] && failed=$((failed + 1))
		echo "unit: $(basename "$t") FAILED (exit $rc):"
		echo "$out" | tail -n 30
	fi
done
echo "unit: $passed passed, $failed failed"
[ $bins_failed -eq 0 ] && [ $failed -eq 0 ]
