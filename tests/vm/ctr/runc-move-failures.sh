#!/bin/bash
# ferry-vm: hosts=2
# runc-move-failures: the receiver is killed (SIGKILL, server and session)
# while `runc restore` brings a plain runc container up on b, at the moment
# the container's processes exist there: runc and CRIU do not die with it.
# The restore guard must end them all (exactly the container's cgroup and
# any `runc ... r1`), `runc delete --force` it, and record "not restored";
# the source, which lost its connection after COMMIT, asks a restarted
# receiver, which answers from that record, and thaws its container.
# What must be unchanged, on a: r1 runs under runc, its shell keeps
# counting, its memory verifies page by page. On b: runc knows no r1, no
# process of it runs (no mig_workload, no runc or CRIU of it), its cgroup
# is gone, and so is runc restore's bind mount of its root, which `runc
# delete` removed the shared root through (6.12, before ferry detached it:
# a's running container lost its /bin and /tmp).
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/podman.sh"
. "$FERRY_SRC/tests/vm/lib/runc.sh"
ctr_setup	# Podman is not used; an earlier script's containers go
S=$FERRY_SHARED
PORT=7992
CG=/sys/fs/cgroup/ferry-runc-r1

if [ "$FERRY_ROLE" = a ]; then
	step "bundle"
	ctr_rootfs_build "$S/bundle/rootfs" "$FERRY_PROGS/mig_workload"
	runc_config 'exec </dev/null >/tmp/out 2>&1
		/w/mig_workload 64 256 /tmp/w.pid &
		i=0; while :; do i=$((i+1)); echo $i >/tmp/count; sleep 0.2; done' r1 \
		>"$S/bundle/config.json"
	runc_ run -d --bundle "$S/bundle" r1 </dev/null >/dev/null 2>"$FERRY_OUT/run-r1.log" ||
		fail "runc run r1: $(cat "$FERRY_OUT/run-r1.log")"
	for i in $(seq 300); do [ -n "$(wpid)" ] && break; sleep 0.2; done
	w=$(wpid)
	[ -n "$w" ] || fail "mig_workload does not run in the container"
	for i in $(seq 300); do [ -s "/proc/$w/root/tmp/w.pid" ] && break; sleep 0.1; done
	barrier ready 900
	step "migrate, the receiver to be killed while runc restores"
	rc=0
	"$FERRY_BIN" migrate --container r1 --engine runc --runc-root $RR \
		--to "$FERRY_PEER_IP:$PORT" --max-rounds 4 2>"$FERRY_OUT/migrate.log" || rc=$?
	cat "$FERRY_OUT/migrate.log"
	step "ferry migrate exited with $rc"
	[ "$rc" != 0 ] || fail "ferry migrate reported success"
	for t in "what became of the migration" "thawed: it runs here"; do
		grep -q "$t" "$FERRY_OUT/migrate.log" || fail "no '$t' in ferry migrate's output"
	done
	barrier asked 900	# b's restarted receiver has answered: b checks itself
	assert_eq "$(runc_status r1)" running "runc's state of r1 on a"
	w=$(wpid)
	[ -n "$w" ] || fail "mig_workload does not run on a"
	[ "$(awk '{print $3}' /proc/$w/stat)" != T ] || fail "the workload is stopped"
	v=$(workload_verify "$w" "/proc/$w/root/tmp/w.pid.verify")
	case $v in
	OK*) ;;
	*)	# what the shared root looks like from here
		ls -la "/proc/$w/root/tmp/" "$S/bundle/rootfs/tmp/" "/proc/$w/root/bin/" | head -40
		fail "verification on a: $v" ;;
	esac
	c1=$(ctr_read_count cat /proc/$w/root/tmp/count)
	sleep 1
	c2=$(ctr_read_count cat /proc/$w/root/tmp/count)
	[ "$c2" -gt "$c1" ] || fail "the container's shell does not run on a ($c1 -> $c2)"
	step "ok: r1 runs on a ($v; count $c1 -> $c2)"
	barrier checked 900
	# last, so that b's checks have run: runc exec into it still works
	# (a 6.12 run: "cat": executable file not found in $PATH here, after
	# b's restore was killed; it works after a checkpoint alone)
	c3=$(ctr_read_count runc_ exec r1 cat /tmp/count) || fail "runc exec r1 on a fails after the failed migration"
	[ "$c3" -ge "$c2" ] || fail "runc exec r1 cat /tmp/count: '$c3'"
	runc_rdelete r1
	exit 0
fi

# --no-lazy: CRIU copies the 64 MiB before runc restore returns, a window
# of seconds with the container's processes in its cgroup (a lazy restore
# returned before the test saw them, and it was killed after its commit)
"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT" --once --dir /var/tmp --phase-timeout 900 \
	--runc-root $RR --no-lazy 2>"$FERRY_OUT/r1.log" &
r=$!
wait_port $PORT 30
barrier ready 900
CTR_RESTORE_CG=$CG ctr_kill_mid_restore $r "$FERRY_OUT/r1.log" $PORT "$FERRY_OUT/r2.log" \
	--runc-root $RR
barrier asked 900
ctr_restarted_said "$FERRY_OUT/r2.log"
[ -z "$(wpid)" ] || fail "mig_workload runs on b"
pgrep -af "runc .*r1\$|criu" && fail "runc or CRIU of r1 still runs on b"
for i in $(seq 60); do [ "$(runc_status r1)" = none ] && break; sleep 1; done
assert_eq "$(runc_status r1)" none "runc's state of r1 on b"
[ ! -e $CG ] || fail "r1's cgroup is left on b: $(cat $CG/cgroup.procs 2>/dev/null | wc -l) processes"
# runc restore's bind mount of the root: left by the killed runc, `runc
# delete` removed the shared root through it (a's container lost it)
grep " $RR/r1/criu-root" /proc/self/mountinfo && fail "runc's criu-root mount of r1 is left on b"
[ -x "$S/bundle/rootfs/bin/busybox" ] || fail "the shared bundle's root lost /bin/busybox"
step "ok: nothing of r1 on b"
barrier checked 900
