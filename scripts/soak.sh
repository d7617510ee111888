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
#   rollback      (e) pingpong, each migration tried first against a receiver
#                 whose restore fails: the source rolls back (not in the
#                 default kinds; the path of a 6.12 double fault in CI)
# Prints the work done per kind and kernel, and any kernel complaint with its
# trace; exits non-zero on any failure. Knobs (environment):
#   FERRY_SOAK_KERNELS     kernels, one after the other (default "6.1 6.12")
#   FERRY_SOAK_PARALLEL=1  the kernels side by side instead
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

# soak_kernel K: one kernel's run; its report lines go to build/soak/report-K.txt
soak_kernel() {
	local k=$1 log=build/soak/run-$1.log summary=build/soak/summary-$1.txt
	local rep=build/soak/report-$1.txt run job= follow= krc r c s name verdict line
	local m sc du md ms rb tot_m=0 tot_s=0 tot_d=0 tot_md=0 rc=0
	: >"$summary"; : >"$rep"
	tests/vm/run -k "$k" "${margs[@]}" --timeout "$per" --total-timeout "$total" \
		--summary "$summary" --show-log "${scripts[@]}" >"$log" 2>&1 &
	run=$!
	# live progress: the guests' progress lines from the consoles
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
	[ -n "$follow" ] && { pkill -P "$follow"; kill "$follow"; wait "$follow"; } 2>/dev/null
	[ $krc = 0 ] || rc=1
	[ $krc = 2 ] && echo "$k: the test bed could not run (see build/soak/run-$k.log)" >>"$rep"
	[ -n "$job" ] || { echo "$k: no job ran" >>"$rep"; return 1; }
	# a guest whose kernel died: its console has the trace
	for r in a b; do
		c=$job/console-$r.log
		if [ -f "$c" ] && grep -qE 'Oops|general protection fault|Kernel panic|BUG:|WARNING:' "$c"; then
			{
				echo "$k host $r: kernel trouble on the console ($c):"
				grep -nE -A60 -m1 'WARNING:|Oops|general protection fault|Kernel panic|BUG:' "$c" | head -n 80
			} >>"$rep"
			rc=1
		fi
	done
	for s in "${scripts[@]}"; do
		name=$(basename "$s" .sh)
		verdict=$(awk -v n="$name" '$3 == n { print $1 }' "$summary" | tail -n1)
		c=$job/out/a/$name/counts
		get() { sed -n "s/^$1=//p" "$2" 2>/dev/null; }
		m=$(get migrations "$c") sc=$(get scans "$c") du=$(get dumps "$c") md=$(get memdebug "$c")
		line="${verdict:-NO-VERDICT} $name:"
		[ -n "$sc" ] && line+=" $sc CLEAR scans in $(get scan_s "$c") s, $du TCP_DUMP --data in $(get dump_s "$c") s;"
		if [ -n "$m" ]; then
			ms=$(( $(get mig_dumps "$c") + $(get mig_dumps "$job/out/b/$name/counts") + 0 ))
			line+=" $m migrations, $(awk -v t="$(get migrate_s "$c")" -v d="$(get downtime_ms "$c")" -v n="$m" \
				'BEGIN { printf "%.1f s and %d ms downtime each", t / (n ? n : 1), d / (n ? n : 1) }');"
			line+=" $ms TCP_DUMP --data during them;"
			rb=$(( $(get rollbacks "$c") + $(get rollbacks "$job/out/b/$name/counts") + 0 ))
			[ "$rb" -gt 0 ] && line+=" $rb rollbacks of a failed restore;"
			tot_md=$((tot_md + ms))
		fi
		line+=" memory debugging: ${md:-?}"
		echo "$k: $line" >>"$rep"
		tot_m=$((tot_m + ${m:-0})) tot_s=$((tot_s + ${sc:-0})) tot_d=$((tot_d + ${du:-0}))
		[ "$verdict" = PASS ] || rc=1
		if [ ${#margs[@]} -gt 0 ] && [ -f "$c" ] && [ "$md" = off ]; then
			echo "$k: $name ran WITHOUT memory debugging although --memdebug was asked for" >>"$rep"
			rc=1
		fi
	done
	echo "$k: total: $tot_m ping-pong migrations, $tot_s CLEAR scans, $tot_d TCP_DUMP --data on busy sockets (+ $tot_md during migrations); job $job" >>"$rep"
	return $rc
}

mkdir -p build/soak
rc=0
echo "==== soak on $kernels$([ "${FERRY_SOAK_PARALLEL:-0}" = 1 ] && echo " (side by side)"): ${FERRY_SOAK_KINDS};" \
     "$FERRY_SOAK_MIGRATIONS migrations, $FERRY_SOAK_SCANS scans, $FERRY_SOAK_DUMPS dumps per kernel;" \
     "memory debugging $([ ${#margs[@]} -gt 0 ] && echo on || echo OFF)"
if [ "${FERRY_SOAK_PARALLEL:-0}" = 1 ]; then
	pids=()
	for k in $kernels; do soak_kernel "$k" & pids+=($!); done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
else
	for k in $kernels; do soak_kernel "$k" || rc=1; done
fi
for k in $kernels; do cat "build/soak/run-$k.log"; done
echo
echo "==== soak results"
for k in $kernels; do
	cat "build/soak/report-$k.txt"
	grep -q "^$k: total:" "build/soak/report-$k.txt" || { echo "$k: no complete report"; rc=1; }
done
[ $rc = 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit $rc
