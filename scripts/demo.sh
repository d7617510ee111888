#!/bin/bash
# make demo: boot two QEMU guests with Debian's 6.12 kernel (6.1 if absent),
# load ferry.ko and run the main job, a live migration of a running Podman
# container with its connections from one guest to the other
# (tests/vm/demo/container.sh); then, in two fresh guests, the same for a
# plain process tree with its service address (tests/vm/demo/demo.sh).
# What the guests print is shown as it comes, prefixed with the host.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
k=6.12
ls /boot/vmlinuz-6.12.* >/dev/null 2>&1 || k=6.1

# demo_job SCRIPT LIMIT: one job of tests/vm/run (the script may take LIMIT
# seconds), its guests' output followed live
demo_job() {
	local script=$1 limit=$2 name log job= follow= run rc r
	name=$(basename "$script" .sh)
	log=$(mktemp)
	"$top/tests/vm/run" -k "$k" --timeout "$limit" "$script" >"$log" 2>&1 &
	run=$!
	while kill -0 $run 2>/dev/null; do
		if [ -z "$job" ]; then
			job=$(sed -n 's/^vm: booting .* logs in \(.*\)$/\1/p' "$log" | tail -n1)
			if [ -n "$job" ]; then
				[ "${job#/}" = "$job" ] && job=$top/$job
				echo "demo: guests booting; logs in $job"
				for r in a b; do
					mkdir -p "$job/out/$r/$name"
					touch "$job/out/$r/$name/log"
					(tail -n +1 -F "$job/out/$r/$name/log" 2>/dev/null | sed -u "s/^/[host $r] /") &
					follow+=" $!"
				done
			fi
		fi
		sleep 2
	done
	wait $run
	rc=$?
	sleep 1
	for r in $follow; do
		{ pkill -P "$r"; kill "$r"; wait "$r"; } 2>/dev/null
	done
	grep -E '^(PASS|FAIL|vm: [0-9]+ passed)' "$log"
	[ $rc = 0 ] || { echo "demo: the job failed; its whole report:"; cat "$log"; }
	rm -f "$log"
	return $rc
}

echo "==== demo 1 of 2: a Podman container moves live (Podman is slow under TCG: ~5-10 min)"
# Podman's run, checkpoint and restore take a minute or more each under
# TCG, several on a loaded machine
demo_job "$top/tests/vm/demo/container.sh" 1800
rc1=$?
echo "==== demo 2 of 2: a process tree and its service address move live"
demo_job "$top/tests/vm/demo/demo.sh" 600
rc2=$?
echo "==== demo: container $([ $rc1 = 0 ] && echo PASSED || echo "FAILED ($rc1)"), process $([ $rc2 = 0 ] && echo PASSED || echo "FAILED ($rc2)")"
[ $rc1 = 0 ] && [ $rc2 = 0 ]
