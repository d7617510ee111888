#!/bin/bash
# ferry-vm: hosts=2
# ferry-move-failures: a container migration that cannot finish leaves
# exactly one container running: the source's, on a, unchanged. Two cases,
# each with a running Podman container (mig_workload, 64 MiB, inside):
#  1. the link is cut during the pre-copy (b's interface goes down): both
#     ends give up (a timeout, or no route once the peer's ARP entry has
#     gone); the container was never frozen.
#  2. the receiver is killed (SIGKILL, server and session) while Podman
#     restores on b, at the moment the container's processes exist there:
#     Podman dies with it, but conmon, runc and CRIU do not. The restore
#     guard must end them all (ctr_undo.c) and record "not restored"; the
#     source, which lost its connection after COMMIT, asks, a restarted
#     receiver answers from that record, and the source thaws its
#     container.
# What must be unchanged after each case, on a: the container is running
# under Podman, its shell keeps counting, its memory verifies page by page.
# On b: no process of it, no runc or conmon of it, and Podman lists no
# container.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/podman.sh"
ctr_setup
S=$FERRY_SHARED
P1=7971 P2=7972

if [ "$FERRY_ROLE" = a ]; then
	# the container on a runs, counts and verifies (case N)
	check_source() {
		local w v n1 n2
		assert_eq "$(podman inspect --format '{{.State.Status}}' c1)" running \
			"case $1: state of the container on a"
		w=$(wpid)
		[ -n "$w" ] || fail "case $1: mig_workload does not run on a"
		[ "$(awk '{print $3}' /proc/$w/stat)" != T ] || fail "case $1: the workload is stopped"
		v=$(workload_verify "$w" /proc/$w/root/tmp/w.pid.verify)
		case $v in OK*) ;; *) fail "case $1: verification on a: $v" ;; esac
		ctr_counting c1 /tmp/count "case $1"
		step "ok: case $1: the container runs on a ($v)"
	}
	migrate_fails() {	# CASE PORT TEXT...: ferry migrate fails, saying each TEXT
		local n=$1 port=$2 rc=0
		shift 2
		"$FERRY_BIN" migrate --container c1 --to "$FERRY_PEER_IP:$port" --max-rounds 4 \
			2>"$FERRY_OUT/m$n.log" || rc=$?
		cat "$FERRY_OUT/m$n.log"
		step "case $n: ferry migrate exited with $rc"
		[ "$rc" != 0 ] || fail "case $n: ferry migrate reported success"
		for t in "$@"; do
			grep -q "$t" "$FERRY_OUT/m$n.log" || fail "case $n: no '$t' in its output"
		done
	}
	ctr_image_share localhost/ferry-w:1 "$FERRY_PROGS/mig_workload"
	barrier image 600
	step "run"
	podman run -d -q --name c1 --network bridge localhost/ferry-w:1 /bin/sh -c \
		'/w/mig_workload 64 256 /tmp/w.pid &
		 i=0; while :; do i=$((i+1)); echo $i >/tmp/count; sleep 0.2; done' >/dev/null
	for i in $(seq 300); do [ -n "$(wpid)" ] && break; sleep 0.2; done
	w=$(wpid)
	[ -n "$w" ] || fail "mig_workload does not run in the container"
	for i in $(seq 300); do [ -s /proc/$w/root/tmp/w.pid ] && break; sleep 0.1; done
	check_source 0

	barrier c1 900
	step "case 1: the link is cut during the pre-copy"
	migrate_fails 1 $P1 "stopped answering\\|No route to host"
	check_source 1
	barrier c1done 600

	barrier c2 900
	step "case 2: the receiver is killed while Podman restores"
	migrate_fails 2 $P2 "what became of the migration" "thawed: it runs here"
	check_source 2
	barrier c2done 600
	barrier b-checked 900
	podman rm -f -t 0 c1 >/dev/null
	exit 0
fi

trap 'ip link set "$FERRY_NETDEV" up 2>/dev/null || true' EXIT
# nothing of the container on b (case N)
check_b() {
	local id i
	id=$(cat "$S/id" 2>/dev/null || true)
	[ -z "$(wpid)" ] || fail "case $1: mig_workload runs on b"
	[ -z "$(podman ps -q)" ] || fail "case $1: a container runs on b: $(podman ps)"
	if [ -n "$id" ]; then
		pgrep -af "$id" && fail "case $1: a process of container $id is alive on b"
	fi
	# Podman's own record of a killed restore goes last, in the guard
	for i in $(seq 300); do [ -z "$(podman ps -aq)" ] && break; sleep 1; done
	[ -z "$(podman ps -aq)" ] || fail "case $1: Podman still lists it on b: $(podman ps -a)"
	step "ok: case $1: nothing of the container on b"
}
barrier image 600
podman load -q -i "$S/image.tar" >/dev/null

# case 1: cut the link once the pre-copy runs
"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$P1" --once --dir /var/tmp 2>"$FERRY_OUT/r1.log" &
r=$!
wait_port $P1 30
barrier c1 900
for i in $(seq 3000); do grep -q "pre-flight passed" "$FERRY_OUT/r1.log" && break; sleep 0.1; done
grep -q "pre-flight passed" "$FERRY_OUT/r1.log" || { cat "$FERRY_OUT/r1.log"; fail "case 1: no pre-copy began"; }
sleep 1	# into round 0 (64 MiB)
ip link set "$FERRY_NETDEV" down
step "case 1: link down"
rc=0; wait $r || rc=$?
cat "$FERRY_OUT/r1.log"
step "case 1: the receiver ended with $rc"
[ "$rc" != 0 ] || fail "case 1: the receiver reported success"
check_b 1
barrier c1done 600
ip link set "$FERRY_NETDEV" up

# case 2: kill the receiver once the container's processes exist here
"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$P2" --once --dir /var/tmp --phase-timeout 900 \
	2>"$FERRY_OUT/r2.log" &
r=$!
wait_port $P2 30
barrier c2 900
ctr_kill_mid_restore $r "$FERRY_OUT/r2.log" $P2 "$FERRY_OUT/r2b.log"
sed -n 's/.*container [^ ]* (\([0-9a-f]\{12\}\).*/\1/p' "$FERRY_OUT/r2.log" | head -1 >"$S/id"
barrier c2done 600
ctr_restarted_said "$FERRY_OUT/r2b.log"
check_b 2
barrier b-checked 900
