#!/bin/bash
# ferry-vm: hosts=2
# ferry-move-volumes: a container with a named volume and a bind mount of
# storage both hosts share moves with `ferry migrate --container`. What
# must be unchanged:
# - the named volume's content, as the container last wrote it before the
#   freeze (Podman's archive carries it): on b the volume exists and holds
#   it, and the container goes on writing into it;
# - the bind mount: the same host path, shared, still mounted and written;
# - the report names each volume and how it moved.
# First, b already has a volume of that name: Podman's restore would refuse
# to replace it after the freeze, so ferry must refuse before it (exit
# status 3, the volume named), and the container goes on running on a.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/podman.sh"
ctr_setup
S=$FERRY_SHARED
PORT=7980 PORT_REFUSE=7981

if [ "$FERRY_ROLE" = a ]; then
	ctr_image_share localhost/ferry-v:1
	mkdir -p "$S/bind"
	echo "shared before" >"$S/bind/f"
	barrier image 600
	step "run"
	podman volume create vol1 >/dev/null
	podman run -d -q --name c1 --network bridge -v vol1:/data -v "$S/bind:/bind" \
		localhost/ferry-v:1 /bin/sh -c \
		'echo written-on-a >/data/mark; i=0
		 while :; do i=$((i+1)); echo $i >/data/count; echo $i >/bind/count; sleep 0.2; done' \
		>/dev/null
	for i in $(seq 300); do [ -s "$S/bind/count" ] && break; sleep 0.2; done
	[ -s "$S/bind/count" ] || fail "the container does not write into its bind mount"
	barrier refuse-ready 900
	ctr_migrate_refused c1 $PORT_REFUSE "that has a volume named vol1" "a volume named vol1 exists"
	ctr_counting c1 /data/count "after the refusal"
	barrier refused 900
	barrier ready 900
	podman exec c1 cat /data/count >"$S/count.before"
	step "migrate (volume count $(cat "$S/count.before"))"
	ctr_migrate c1 $PORT 3
	grep -q "volume vol1 at /data: copied" "$FERRY_OUT/migrate.log" ||
		fail "the progress does not say how vol1 moved"
	grep -q "/bind at /bind: left in place" "$FERRY_OUT/migrate.log" ||
		fail "the progress does not say how the bind mount moved"
	vols=$(jq -r '.container.volumes[] | "\(.type) \(.source) \(.destination) \(.handling)"' \
		"$FERRY_OUT/report.json" | sort)
	echo "report's volumes:"; echo "$vols"
	assert_eq "$(echo "$vols" | wc -l)" 2 "report: number of volumes"
	echo "$vols" | grep -qx "volume vol1 /data copied" || fail "report: vol1 not listed as copied"
	echo "$vols" | grep -qx "bind /.*/bind /bind left-in-place" ||
		fail "report: the bind mount not listed as left in place"
	barrier checked 900
	exit 0
fi

barrier image 600
podman load -q -i "$S/image.tar" >/dev/null
podman volume create vol1 >/dev/null	# the name is taken here
ctr_receive_refused $PORT_REFUSE "with a volume named vol1"
podman volume rm -f vol1 >/dev/null
ctr_receive $PORT
podman volume exists vol1 || fail "volume vol1 does not exist on b"
assert_eq "$(podman exec c1 cat /data/mark)" written-on-a "the volume's file written on a"
before=$(cat "$S/count.before")
c1=$(podman exec c1 cat /data/count)
[ "$c1" -ge "$before" ] || fail "the volume went back: $before before the migration, $c1 on b"
ctr_counting c1 /data/count "its volume on b"
b1=$(cat "$S/bind/count")
sleep 1
b2=$(cat "$S/bind/count")
[ "$b2" -gt "$b1" ] || fail "the container does not write into the shared bind mount on b"
assert_eq "$(podman exec c1 cat /bind/f)" "shared before" "the bind mount's file"
step "ok: volume count $before before, $c1 on b; bind count $b1 -> $b2"
barrier checked 900
podman rm -f -t 0 c1 >/dev/null
