#!/bin/bash
# tcp-chain: a workload shaped as one deep chain of processes (each forks
# the next) cannot make TCP_DUMP stall the kernel, and its deepest socket
# is found (tests/progs/tcp_chain.c). Finding a tree used to follow every
# process's ancestor chain inside one RCU section: quadratic in the
# chain's depth. The RCU stall timeout is lowered to its minimum (3 s)
# around the dump only (building and ending 20 000 processes under TCG is
# the kernel's own load), so that a stall of the dump shows up as one in
# the kernel log.
# What must be unchanged: the dump succeeds with the deepest connection,
# and the kernel log has no RCU stall or soft lockup.
set -euo pipefail
. tests/vm/lib/assert.sh
lsmod | grep -q '^ferry ' || insmod "$FERRY_KO"
ip link set lo up
DEPTH=20000
p=/sys/module/rcupdate/parameters/rcu_cpu_stall_timeout
old=$(cat "$p")
trap 'echo "$old" >"$p"' EXIT
# room for the chain: pids, and tasks (threads-max scales with memory)
[ "$(cat /proc/sys/kernel/pid_max)" -ge $((DEPTH + 5000)) ] || echo $((DEPTH + 5000)) >/proc/sys/kernel/pid_max
[ "$(cat /proc/sys/kernel/threads-max)" -ge $((DEPTH + 5000)) ] || echo $((DEPTH + 5000)) >/proc/sys/kernel/threads-max
free -m | head -2
coproc CHAIN { "$FERRY_PROGS"/tcp_chain $DEPTH; }
# bash forgets the coprocess's fds and pid once it ends: keep them
cpid=$CHAIN_PID cout=${CHAIN[0]} cin=${CHAIN[1]}
dumped= from=0
while read -r line <&"$cout"; do
	echo "$line"
	case $line in "chain of"*) from=$(dmesg | wc -l); echo 3 >"$p" ;; esac
	case $line in "tree dump:"*) dumped=1; break ;; esac
done
[ -n "$dumped" ] || fail "tcp_chain ended before its dump"
sleep 5		# a stall is reported once the (3 s) timeout has passed
echo "$old" >"$p"
stall=$(dmesg | tail -n +$((from + 1)) | grep -E "rcu.*(stall|self-detected)|soft lockup" || true)
exec {cin}>&-	# the chain may go now
cat <&"$cout"
rc=0; wait "$cpid" || rc=$?
[ -z "$stall" ] || fail "the dump stalled the kernel: $stall"
echo "ok: no RCU stall during the dump"
assert_eq "$rc" 0 "tcp_chain exit status"
