#!/bin/bash
# Runs inside a test guest (after tests/vm/lib/init switches root to the
# host's root): prepares the guest like a migration host, loads ferry.ko
# and runs the job's scripts one by one, recording a verdict for each in
# JOB/results-ROLE. Powers the guest off at the end.
job=$1 role=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src" || exit 1
# shellcheck disable=SC1091
. "$job/env"
results=$job/results-$role
: >"$results"
log() { echo "guest[$role]: $*" >/dev/console; }
# Power off. First choice: QEMU's isa-debug-exit port (tests/vm/run adds
# the device), which ends QEMU at once, without the kernel's shutdown path:
# once in CI a 6.1 guest that had passed every script spent minutes in
# reboot(2) (a soft lockup in PID 1) and was reported as a crash. The
# results are on 9p already (written through, and synced here).
# Fallback: reboot(2) from a static busybox on tmpfs. PID 1 must not touch
# the 9p root once a shutdown has begun: it takes the 9p devices away, and
# a page fault into bash's own code (or an external `sleep`) dies of SIGBUS,
# init exits, and the kernel panics ("Attempted to kill init"). (The sysrq,
# asynchronous, and a wait in builtins are the last resort.)
cp /bin/busybox /run/busybox 2>/dev/null	# (named busybox*: its applets by argv[1])
finish() {
	sync
	/run/busybox dd if=/dev/zero of=/dev/port bs=1 seek=244 count=1 conv=notrunc 2>/dev/null
	shopt -s execfail	# a failed exec must not end PID 1
	exec /run/busybox poweroff -f
	echo o >/proc/sysrq-trigger
	while :; do read -r -t 1 _ </dev/console; done 2>/dev/null
}

hostname "ferry-$role"
ip link set lo up
# What `criu check` and the network tests need; one modprobe call, since
# each call re-reads modules.dep over 9p (slow under TCG).
modprobe -qa inet_diag tcp_diag udp_diag raw_diag unix_diag netlink_diag packet_diag \
	 veth tun nf_tables nfnetlink nft_chain_nat nf_conntrack 2>/dev/null
# Tests create their own THP and swap conditions; start from defaults.
if [ "$HOSTS" = 2 ]; then
	if [ "$role" = b ]; then t=$MY_IP; MY_IP=$PEER_IP; PEER_IP=$t; fi
	modprobe virtio_net
	dev=$(ls /sys/class/net | grep -v '^lo$' | head -n1)
	ip link set "$dev" up
	ip addr add "$MY_IP/24" dev "$dev"
	export FERRY_MY_IP=$MY_IP FERRY_PEER_IP=$PEER_IP FERRY_NETDEV=$dev
fi
export FERRY_ROLE=$role FERRY_KVER=$(uname -r) FERRY_SRC=$src
export FERRY_BIN=$src/user/ferry FERRY_PROGS=$src/build/progs
export FERRY_KO=$src/build/kmod/$FERRY_KVER/kmod/ferry.ko
export FERRY_SHARED=$job/shared
mkdir -p "$FERRY_SHARED"

if [ "$LOAD_MODULE" = 1 ] && ! insmod "$FERRY_KO"; then
	log "insmod $FERRY_KO failed"
	for s in $SCRIPTS; do echo "FAIL $(basename "$s") insmod-failed" >>"$results"; done
	echo DONE >>"$results"
	finish
fi
# Kernel log lines that fail a script whatever its exit code (the same
# list the host's console watcher looks for).
bad=$(grep -Ev '^(#|$)' "$src/tests/vm/lib/kernel-errors" | paste -sd'|')
dmesg -c >"$job/dmesg-boot-$role" 2>&1
for s in $SCRIPTS; do
	name=$(basename "$s" .sh)
	out=$job/out/$role/$name
	mkdir -p "$out"
	export FERRY_OUT=$out
	# each script its own shared directory: a barrier or pid file left by
	# the previous script must not be taken for this one's (the hosts may
	# be at different scripts: one finishes a long check, the other starts)
	export FERRY_SHARED=$job/shared/$name
	mkdir -p "$FERRY_SHARED"
	log "running $name"
	start=$(date +%s)
	timeout --kill-after=10 "$SCRIPT_TIMEOUT" bash "$s" >"$out/log" 2>&1 </dev/null
	rc=$?
	end=$(date +%s)
	# a two-host script's peer waiting at a barrier gives up at once
	# instead of at its time limit (tests/vm/lib/assert.sh barrier)
	[ $rc -ne 0 ] && echo "exit $rc" >"$FERRY_SHARED/failed.$role"
	dmesg -c >"$out/dmesg" 2>&1
	verdict=PASS reason=
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		verdict=FAIL reason="timeout after ${SCRIPT_TIMEOUT}s"
	elif [ $rc -ne 0 ]; then
		verdict=FAIL reason="exit $rc"
	fi
	if grep -Eq "$bad" "$out/dmesg"; then
		verdict=FAIL reason="${reason:+$reason, }kernel log: $(grep -Em1 "$bad" "$out/dmesg" | cut -c1-120)"
	fi
	echo "$verdict $name $((end - start))s $reason" >>"$results"
	log "$verdict $name ($((end - start))s) $reason"
done
if [ "$LOAD_MODULE" = 1 ] && grep -q '^ferry ' /proc/modules; then
	rmmod ferry || echo "FAIL module-unload rmmod-failed" >>"$results"
fi
dmesg -c >"$job/dmesg-end-$role" 2>&1
if grep -Eq "$bad" "$job/dmesg-end-$role"; then
	echo "FAIL after-scripts kernel log: $(grep -Em1 "$bad" "$job/dmesg-end-$role" | cut -c1-120)" >>"$results"
fi
echo DONE >>"$results"
finish
