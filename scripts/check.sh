#!/bin/bash
# make check: every test of the project, ending with "N passed, N failed".
#   1. cmocka unit tests, then the libFuzzer harnesses for a bounded time
#      (FERRY_FUZZ_SECONDS per parser, default 60)
#   2. ferry.ko for both Debian kernels, zero warnings
#   3. DKMS add + build for both kernels
#   4. VM scenarios (tests/vm/scenarios) on both kernels, one and two hosts,
#      plus the harness self-tests (tests/vm/selftest/xfail-*: must FAIL)
# FERRY_CHECK_KERNELS="6.1 6.12" selects kernels (default: both).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
passed=0 failed=0 failures=()
count() {	# count NAME RC
	if [ "$2" = 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$1")
	fi
}
section() { echo; echo "==== $* ===="; }

section "unit tests"
if make --no-print-directory -s unit >build/unit.log 2>&1; then :; fi
cat build/unit.log
up=$(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' build/unit.log)
uf=$(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' build/unit.log)
if [ -z "$up" ]; then
	count "unit tests did not run" 1
else
	passed=$((passed + up))
	failed=$((failed + uf))
	[ "$uf" = 0 ] || failures+=("unit tests ($uf)")
fi

section "fuzzing (libFuzzer + ASan/UBSan, ${FERRY_FUZZ_SECONDS:-60} s per parser)"
out=$(make --no-print-directory -s fuzz-check FUZZ_SECONDS="${FERRY_FUZZ_SECONDS:-60}" 2>&1)
echo "$out"
fp=$(echo "$out" | sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
ff=$(echo "$out" | sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
if [ -z "$fp" ]; then
	count "fuzzers did not build or run" 1
else
	passed=$((passed + fp))
	failed=$((failed + ff))
	[ "$ff" = 0 ] || failures+=("fuzzers ($ff)")
fi

section "module builds (make modules-all)"
out=$(scripts/modules-all.sh build/kmod 2>&1); rc=$?
echo "$out"
for k in 6.1 6.12; do
	if echo "$out" | grep -q "^modules-all: $k\.[^ ]* OK"; then count "module $k" 0; else count "module build $k" 1; fi
done
[ $rc = 0 ] || count "modules-all" 1

section "DKMS"
out=$(scripts/dkms-check.sh 2>&1); rc=$?
echo "$out"
n=$(echo "$out" | grep -c '^PASS')
passed=$((passed + n))
if [ $rc != 0 ]; then count "dkms" 1; fi

section "VM scenarios"
kernels=${FERRY_CHECK_KERNELS:-6.1 6.12}
summary=build/vm/check-summary.txt
mkdir -p build/vm
: >"$summary"
# The kernels run side by side: many scenarios wait on timers and peers,
# so two guests share the two cores better than one after the other.
pids=()
for k in $kernels; do
	tests/vm/run -k "$k" --summary "$summary" --timeout 1500 --total-timeout 3300 \
		tests/vm/scenarios/*.sh tests/vm/selftest/xfail-*.sh >"build/vm/check-$k.log" 2>&1 &
	pids+=($!)
done
bed_broken=0
for p in "${pids[@]}"; do
	wait "$p"
	[ $? = 2 ] && bed_broken=1
done
for k in $kernels; do cat "build/vm/check-$k.log"; done
if [ $bed_broken = 1 ] || [ ! -s "$summary" ]; then
	echo "check: ERROR: the VM test bed could not run (see above); counted as failed" >&2
	count "VM test bed" 1
fi
while read -r verdict kver name; do
	case $name in
	xfail-*)
		# Must have failed: the harness catches broken scenarios.
		if [ "$verdict" = FAIL ]; then count "$name" 0; echo "(expected) $name failed on $kver: OK"
		else count "selftest $name passed on $kver but must fail" 1; fi ;;
	*)
		count "$name on $kver" "$([ "$verdict" = PASS ] && echo 0 || echo 1)" ;;
	esac
done <"$summary"
# Every kernel must have produced a verdict for every scenario.
for k in $kernels; do
	for s in tests/vm/scenarios/*.sh tests/vm/selftest/xfail-*.sh; do
		n=$(basename "$s" .sh)
		grep -Eq "^(PASS|FAIL) $k\.[^ ]* $n\$" "$summary" || count "$n on $k: no verdict" 1
	done
done

echo
if [ $failed -gt 0 ]; then
	echo "failures:"
	printf '  - %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
