#!/bin/bash
# Bounded libFuzzer runs: fuzz-check.sh SECONDS FUZZER...
# Each fuzzer starts from tests/fuzz/corpus/NAME (seeds, in git) and a
# scratch corpus under build/fuzz/corpus/NAME (kept between runs, not in
# git); a crash, leak or sanitizer report fails it and leaves the input
# in build/fuzz/. Prints "fuzz: N passed, N failed".
set -uo pipefail
secs=$1; shift
top=$(cd "$(dirname "$0")/.." && pwd)
passed=0 failed=0
for f in "$@"; do
	name=$(basename "$f")
	seeds=$top/tests/fuzz/corpus/$name
	work=$top/build/fuzz/corpus/$name
	mkdir -p "$work"
	log=$top/build/fuzz/$name.log
	# -rss_limit_mb: a parser that allocates by a peer's word fails here
	case $f in /*) ;; *) f=$top/$f ;; esac
	if (cd "$top/build/fuzz" && "$f" -max_total_time="$secs" -rss_limit_mb=1024 \
		-malloc_limit_mb=256 -timeout=10 -print_final_stats=1 "$work" \
		$( [ -d "$seeds" ] && echo "$seeds" ) >"$log" 2>&1); then
		echo "fuzz: $name PASS ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in $secs s)"
		passed=$((passed + 1))
	else
		echo "fuzz: $name FAIL (see $log):"
		grep -m5 -E 'ERROR|SUMMARY|runtime error' "$log"
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]
