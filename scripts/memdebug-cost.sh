#!/bin/bash
# memdebug-cost.sh [-k KERNEL]... SCRIPT...: what tests/vm/run --memdebug
# costs under TCG. For each kernel (default 6.1 and 6.12), runs SCRIPTs
# twice side by side, plain and with --memdebug, so that both runs see the
# same machine load (other guests, other users of the cores), then prints
# for each job its boot time (QEMU start to the first script), each
# script's time, their totals and the ratios memdebug / plain, from the
# console watcher's JOB/watch.json. Logs: build/vm/memdebug-cost-KVER-MODE.log.
#   scripts/memdebug-cost.sh -k 6.12 tests/vm/scenarios/dirty-*.sh
# With -t it compares QEMU's TCG threading instead: FERRY_VM_TCG=multi
# against single, neither with memory debugging. Logs:
# build/vm/tcg-cost-KVER-MODE.log.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
kernels=() what=memdebug
while getopts k:t o; do
	case $o in
	k) kernels+=("$OPTARG") ;;
	t) what=tcg ;;
	*) echo "usage: $0 [-t] [-k KERNEL]... SCRIPT..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: $0 [-k KERNEL]... SCRIPT..." >&2; exit 2; }
[ ${#kernels[@]} -gt 0 ] || kernels=(6.1 6.12)
mkdir -p build/vm

# table LOG_PLAIN LOG_MEMDEBUG [NAME_PLAIN NAME_MEMDEBUG]: boot and script
# times of both runs' jobs.
table() {
	python3 - "$@" <<'EOF'
import json, re, sys

def jobs(log):
    """The run's jobs in order, each {name: seconds} plus verdicts."""
    out, verdicts = [], {}
    for line in open(log):
        m = re.match(r'vm: booting \S+ \((\d) hosts?.*logs in (\S+)', line)
        if m:
            out.append(json.load(open(m.group(2) + '/watch.json')))
        m = re.match(r'(PASS|FAIL) \[\S+\] (\S+)', line)
        if m:
            verdicts[m.group(2)] = m.group(1)
    return out, verdicts

(pj, pv), (mj, mv) = jobs(sys.argv[1]), jobs(sys.argv[2])
np, nm = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else ('plain', 'memdebug')
rows, tp, tm, bp, bm = [], 0, 0, 0, 0
wp, wm = sum(j['seconds'] for j in pj), sum(j['seconds'] for j in mj)
for p, m in zip(pj, mj):
    roles = sorted(p['roles'])
    boot_p = max(p['roles'][r]['booted_after_s'] or 0 for r in roles)
    boot_m = max(m['roles'][r]['booted_after_s'] or 0 for r in roles)
    rows.append(('boot, %d-host job' % len(roles), boot_p, boot_m, ''))
    bp, bm = bp + boot_p, bm + boot_m
    for name in p['roles']['a']['script_s']:
        sp = max(p['roles'][r]['script_s'].get(name, 0) for r in roles)
        sm = max(m['roles'][r]['script_s'].get(name, 0) for r in roles)
        note = '' if pv.get(name) == mv.get(name) == 'PASS' else \
            '  (%s %s, %s %s)' % (np, pv.get(name, '?'), nm, mv.get(name, '?'))
        rows.append((name, sp, sm, note))
        tp, tm = tp + sp, tm + sm
rows.append(('boots, total', bp, bm, ''))
rows.append(('scripts, total', tp, tm, ''))
rows.append(('jobs, wall time', wp, wm, ''))
print('%-28s %8s %9s %6s' % ('', np, nm, 'ratio'))
for name, a, b, note in rows:
    ratio = '%.2f' % (b / a) if a else '-'
    print('%-28s %7ds %8ds %6s%s' % (name, a, b, ratio, note))
print('(side by side until the first run ends: the other one then has the machine to itself)')
EOF
}

for k in "${kernels[@]}"; do
	if [ $what = tcg ]; then
		echo "== $k: TCG multi-threaded and single-threaded side by side"
		for mode in multi single; do
			FERRY_VM_TCG=$mode tests/vm/run -k "$k" "$@" 2>&1 |
				tee "build/vm/tcg-cost-$k-$mode.log" | tests/vm/lib/progress "[$k $mode]" &
		done
		wait
		echo "== $k: single-threaded TCG against multi-threaded"
		table "build/vm/tcg-cost-$k-multi.log" "build/vm/tcg-cost-$k-single.log" multi single
		continue
	fi
	echo "== $k: plain and --memdebug side by side"
	for mode in plain memdebug; do
		opt=()
		[ $mode = memdebug ] && opt=(--memdebug)
		tests/vm/run -k "$k" "${opt[@]}" "$@" 2>&1 |
			tee "build/vm/memdebug-cost-$k-$mode.log" | tests/vm/lib/progress "[$k $mode]" &
	done
	wait
	echo "== $k: cost of --memdebug"
	table "build/vm/memdebug-cost-$k-plain.log" "build/vm/memdebug-cost-$k-memdebug.log"
done
