#!/bin/bash
# tcp-chain: a workload shaped as one deep chain of processes (each forks
# the next) cannot make TCP_DUMP stall the kernel, and its deepest socket
# is found (tests/progs/tcp_chain.c). Finding a tree used to follow every
# process's ancestor chain inside one RCU section: quadratic in the
# chain's depth. The RCU stall timeout is lowered to its minimum (3 s) so
# that a stall shows up as one in the kernel log, which fails the script.
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
echo 3 >"$p"
# room for the chain: pids, and tasks (threads-max scales with memory)
[ "$(cat /proc/sys/kernel/pid_max)" -ge $((DEPTH + 5000)) ] || echo $((DEPTH + 5000)) >/proc/sys/kernel/pid_max
[ "$(cat /proc/sys/kernel/threads-max)" -ge $((DEPTH + 5000)) ] || echo $((DEPTH + 5000)) >/proc/sys/kernel/threads-max
free -m | head -2
"$FERRY_PROGS"/tcp_chain $DEPTH
sleep 4		# a stall is reported after the timeout
if dmesg | grep -E "rcu.*(stall|self-detected)|soft lockup"; then
	fail "the dump stalled the kernel"
fi
echo "ok: no RCU stall"
