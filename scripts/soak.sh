#!/bin/bash
# make soak: repeat, back to back, the kinds of work that ran when a guest
# kernel crashed in make demo (issue #10), in two-host QEMU guests of each
# kernel with memory debugging on, the kernel log checked all along
# (tests/vm/soak/*.sh, see soak.inc):
#   hammer        (a) clearing DIRTY_SCANs and (b) TCP_DUMP --data requests in
#                 tight loops against a service streaming both ways with many clients
#   pingpong      (c) the service migrated a->b->a->... with ferry migrate --move-addr
#   hammer-thp,   (d) the same with THP "always" and fork/mmap/mremap/munmap/
#   pingpong-thp      MADV_DONTNEED churn in the service
# Prints the work done per kind and kernel, and any kernel complaint with its
# trace; exits non-zero on any failure. Knobs (environment):
#   FERRY_SOAK_KERNELS     kernels, one after the other (default "6.1 6.12")
#   FERRY_SOAK_KINDS       scripts to run (default "hammer pingpong hammer-thp pingpong-thp")
#   FERRY_SOAK_MIGRATIONS  ping-pong migrations per kernel (default 200)
#   FERRY_SOAK_SCANS       CLEAR scans per kernel (default 10000)
#   FERRY_SOAK_DUMPS       TCP_DUMP --data requests per kernel (default 10000)
#                          (each count is split between a kind's plain and -thp script)
#   FERRY_SOAK_CONNS, FERRY_SOAK_RATE, FERRY_SOAK_CHURN_MIB  the service (soak.inc)
#   FERRY_SOAK_MEMDEBUG=0  boot without memory debugging (default: tests/vm/run --memdebug)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export FERRY_SOAK_MIGRATIONS=${FERRY_SOAK_MIGRATIONS:-200}
export FERRY_SOAK_SCANS=${FERRY_SOAK_SCANS:-10000}
export FERRY_SOAK_DUMPS=${FERRY_SOAK_DUMPS:-10000}
export FERRY_SOAK_KINDS=${FERRY_SOAK_KINDS:-hammer pingpong hammer-thp pingpong-thp}
kernels=${FERRY_SOAK_KERNELS:-6.1 6.12}
die() { echo "soak: ERROR: $*" >&2; exit 2; }

scripts=()
for k in $FERRY_SOAK_KINDS; do
	[ -f "tests/vm/soak/$k.sh" ] || die "no soak kind '$k' (have: $(cd tests/vm/soak && ls ./*.sh | sed 's|./||; s|\.sh||' | paste -sd' '))"
	scripts+=("tests/vm/soak/$k.sh")
done
margs=()
if [ "${FERRY_SOAK_MEMDEBUG:-1}" = 1 ]; then
	tests/vm/run --help | grep -q -- '--memdebug' ||
		die "tests/vm/run has no --memdebug: the soak cannot turn memory debugging on (FERRY_SOAK_MEMDEBUG=0 to run without)"
	margs=(--memdebug)
fi

# Time limits from the counts, generous for a loaded TCG machine: 0.2 s
# a scan, 0.5 s a dump, 5 min a migration, plus 15 min of setup per script.
t_hammer=$(( (FERRY_SOAK_SCANS / 5 > FERRY_SOAK_DUMPS / 2 ? FERRY_SOAK_SCANS / 5 : FERRY_SOAK_DUMPS / 2) + 900 ))
t_pingpong=$(( FERRY_SOAK_MIGRATIONS * 300 + 900 ))
per=$(( t_hammer > t_pingpong ? t_hammer : t_pingpong ))
total=$(( ${#scripts[@]} * per + 600 ))

mkdir -p build/soak
rc=0
report=()
for k in $kernels; do
	log=build/soak/run-$k.log
	summary=build/soak/summary-$k.txt
	: >"$summary"
	echo "==== soak on $k: ${FERRY_SOAK_KINDS}; $FERRY_SOAK_MIGRATIONS migrations, $FERRY_SOAK_SCANS scans," \
	     "$FERRY_SOAK_DUMPS dumps; memory debugging $([ ${#margs[@]} -gt 0 ] && echo on || echo OFF)"
	tests/vm/run -k "$k" "${margs[@]}" --timeout "$per" --total-timeout "$total" \
		--summary "$summary" --show-log "${scripts[@]}" >"$log" 2>&1 &
	run=$!
	# live progress: the guests' progress lines from the consoles
	job= follow=
	while kill -0 $run 2>/dev/null; do
		if [ -z "$job" ]; then
			job=$(sed -n 's/^vm: booting .* logs in \(.*\)$/\1/p' "$log" | tail -n1)
			if [ -n "$job" ]; then
				echo "soak: $k: job $job"
				touch "$job/console-a.log" "$job/console-b.log"
				(tail -n +1 -F "$job/console-a.log" "$job/console-b.log" 2>/dev/null |
					grep --line-buffered -E 'guest\[a\]: (soak|PASS|FAIL|running)|guest\[b\]: FAIL' |
					sed -u "s/^/  [$k] /") &
				follow=$!
			fi
		fi
		sleep 5
	done
	wait $run
	krc=$?
	[ -n "$follow" ] && { pkill -P "$follow" 2>/dev/null; kill "$follow" 2>/dev/null; }
	cat "$log"
	[ $krc = 0 ] || rc=1
	[ $krc = 2 ] && echo "soak: $k: the test bed could not run (see above)"
	[ -n "$job" ] || { report+=("$k: no job ran"); rc=1; continue; }
	# a guest whose kernel died: its console has the trace
	for r in a b; do
		c=$job/console-$r.log
		if [ -f "$c" ] && grep -qE 'Oops|general protection fault|Kernel panic|BUG:|WARNING:' "$c"; then
			echo "---- $k host $r: kernel trouble on the console ($c) ----"
			grep -nE -A60 -m1 'WARNING:|Oops|general protection fault|Kernel panic|BUG:' "$c" | head -n 80
			rc=1
		fi
	done
	tot_m=0 tot_s=0 tot_d=0
	for s in "${scripts[@]}"; do
		name=$(basename "$s" .sh)
		verdict=$(awk -v n="$name" '$3 == n { print $1 }' "$summary" | tail -n1)
		c=$job/out/a/$name/counts
		get() { sed -n "s/^$1=//p" "$c" 2>/dev/null; }
		m=$(get migrations) sc=$(get scans) du=$(get dumps) md=$(get memdebug)
		line="${verdict:-NO VERDICT} $name:"
		[ -n "$sc$du" ] && line+=" scans ${sc:-0} in $(get scan_s)s, dumps ${du:-0} in $(get dump_s)s"
		[ -n "$m" ] && line+=" migrations $m in $(get migrate_s)s of ferry migrate"
		line+=" (memory debugging: ${md:-?})"
		report+=("$k: $line")
		tot_m=$((tot_m + ${m:-0})) tot_s=$((tot_s + ${sc:-0})) tot_d=$((tot_d + ${du:-0}))
		[ "$verdict" = PASS ] || rc=1
		if [ ${#margs[@]} -gt 0 ] && [ -f "$c" ] && [ "$md" = off ]; then
			report+=("$k: $name ran WITHOUT memory debugging although --memdebug was asked for")
			rc=1
		fi
	done
	report+=("$k: total: $tot_m ping-pong migrations, $tot_s CLEAR scans, $tot_d TCP_DUMP --data requests (job $job)")
done
echo
echo "==== soak results"
printf '%s\n' "${report[@]}"
[ $rc = 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit $rc
