#!/bin/bash
# ferry-vm: hosts=2
# podman-move: the test bed's baseline for container migration, without
# ferry: a Podman container (runc, bridge network) is checkpointed on a
# with `podman container checkpoint --export` and restored on b with
# `podman container restore --import`, both hosts having the same image
# (podman save on a, load on b). What must be unchanged: the container's
# ID, name, IP and MAC, and its state (a counter it keeps in its rootfs goes
# on from the value it had when CRIU froze it, as the archive's rootfs diff
# recorded it, and a file it wrote before is there); and nothing of it
# runs on a afterwards.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/podman.sh"
ctr_setup
S=$FERRY_SHARED
# what must be unchanged, then the init's PID (one podman start: seconds under TCG)
fmt='{{.Id}} {{.Name}} {{.NetworkSettings.IPAddress}} {{.NetworkSettings.MacAddress}} {{.State.Pid}}'

if [ "$FERRY_ROLE" = a ]; then
	step "image"
	ctr_image_build $CTR_DIR/rootfs.tar
	podman import -q $CTR_DIR/rootfs.tar localhost/ferry-bb:1 >/dev/null
	podman save -q -o "$S/image.tar" localhost/ferry-bb:1
	podman image inspect --format '{{.Id}}' localhost/ferry-bb:1 >"$S/image-id"
	barrier image 600
	step "run"
	podman run -d -q --name c1 --network bridge localhost/ferry-bb:1 /bin/sh -c \
		'echo before >/tmp/mark; i=0; while :; do i=$((i+1)); echo $i >/tmp/count; sleep 0.2; done' >/dev/null
	sleep 3
	set -- $(podman inspect --format "$fmt" c1)
	echo "$1 $2 $3 $4" >"$S/ident"
	pid=$5
	step "checkpoint ($(cat "$S/ident"))"
	podman container checkpoint --compress none --export "$S/c1.tar" c1 >/dev/null
	# the counter as the container left it: its rootfs diff in the archive
	tar -xOf "$S/c1.tar" rootfs-diff.tar | tar -xOf - --wildcards '*tmp/count' >"$S/count-frozen"
	step "checkpointed (count $(cat "$S/count-frozen"))"
	kill -0 "$pid" 2>/dev/null && fail "the container's init ($pid) still runs on a after the checkpoint"
	barrier checkpointed 600
	barrier restored 900
	podman container rm -f c1 >/dev/null
	[ -z "$(podman ps -aq)" ] || fail "a container is left on a"
	barrier done 300
	exit 0
fi

barrier image 600
step "load"
podman load -q -i "$S/image.tar" >/dev/null
assert_eq "$(podman image inspect --format '{{.Id}}' localhost/ferry-bb:1)" "$(cat "$S/image-id")" \
	"image ID on b"
barrier checkpointed 900
step "restore"
podman container restore --import "$S/c1.tar" >/dev/null
step "restored"
set -- $(podman inspect --format "$fmt" c1)
assert_eq "$1 $2 $3 $4" "$(cat "$S/ident")" "ID, name, IP and MAC on b"
pid=$5
sleep 2
c=$(cat "/proc/$pid/root/tmp/count")
frozen=$(cat "$S/count-frozen")
echo "count: $frozen when a's CRIU froze it, $c on b (it runs from the moment CRIU resumes it, inside podman restore)"
[ "$c" -gt "$frozen" ] || fail "the counter did not go on from $frozen (now $c)"
[ "$c" -lt $((frozen + 1000)) ] || fail "the counter jumped ($frozen -> $c)"
assert_eq "$(podman exec c1 cat /tmp/mark)" before "a file the container wrote before"
barrier restored 900
podman container rm -f c1 >/dev/null
barrier done 300
