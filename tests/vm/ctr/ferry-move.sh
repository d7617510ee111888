#!/bin/bash
# ferry-vm: hosts=2
# ferry-move: `ferry migrate --container` moves a running Podman container
# (runc, bridge network) from a to b: ferry.ko pre-copies its memory while
# it runs, Podman checkpoints it on top of ferry's parent images and
# restores it on b. What must be unchanged:
# - its ID, name, IP and MAC, and it runs under Podman on b (podman exec);
# - its memory: mig_workload inside (32 MiB, a hot window rewritten all the
#   time) verifies every page on b (no page lost or stale) and goes on;
# - its process tree: the init shell keeps counting into its rootfs, from
#   where the checkpoint froze it;
# - its rootfs changes: a file it wrote, a file of the image it deleted;
# - and nothing of it is left on a (no container, no process).
# First, a destination without the image refuses it before anything is
# frozen: exit status 3, and the container goes on running on a.
# Also: the checkpoint took pages from ferry's parents (pages skipped in
# parent), i.e. the pre-copy did the work, and the report says so; b's
# Podman had CRIU read ferry's images (no --import-previous tar), the
# pre-copied pages left to ferry's lazy-pages server, which had them all in
# place before receive exited; the restore's CRIU configuration file, named
# by the container's org.criu.config annotation, is gone.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/podman.sh"
ctr_setup
S=$FERRY_SHARED
PORT=7960
PORT_REFUSE=7961
fmt='{{.Id}} {{.Name}} {{.NetworkSettings.IPAddress}} {{.NetworkSettings.MacAddress}}'

if [ "$FERRY_ROLE" = a ]; then
	ctr_image_share localhost/ferry-w:1 "$FERRY_PROGS/mig_workload"
	barrier image 600
	ctr_run_workload c1
	w=$CTR_W
	podman inspect --format "$fmt" c1 >"$S/ident"
	barrier refuse-ready 900
	ctr_migrate_refused c1 $PORT_REFUSE "without its image" "image .* is not here"
	n1=$(ctr_read_count podman exec c1 cat /tmp/count)
	sleep 1
	n2=$(ctr_read_count podman exec c1 cat /tmp/count)
	[ "$n2" -gt "$n1" ] || fail "the container stopped counting after the refusal ($n1 -> $n2)"
	assert_eq "$(podman inspect --format '{{.State.Status}}' c1)" running "state on a after the refusal"
	barrier refused 900
	barrier ready 900
	step "migrate ($(cat "$S/ident"))"
	ctr_migrate c1 $PORT 4
	[ -z "$(wpid)" ] || fail "mig_workload still exists on a"
	r=$(cat "$FERRY_OUT/report.json")
	assert_eq "$(jq_get "$r" container.name)" c1 "report: container name"
	skipped=$(jq_get "$r" final.pages_skipped_parent)
	echo "pages skipped in parent: $skipped, written: $(jq_get "$r" final.pages_written)"
	[ "$skipped" -gt 4000 ] || fail "the checkpoint did not use ferry's parent images"
	barrier checked 900
	exit 0
fi

barrier image 600
ctr_receive_refused $PORT_REFUSE "without the image"
step "load"
podman load -q -i "$S/image.tar" >/dev/null
ctr_receive $PORT
assert_eq "$(podman inspect --format "$fmt" c1)" "$(cat "$S/ident")" "ID, name, IP and MAC on b"
grep -q "Podman's CRIU restores from ferry's images, the pre-copied pages lazily" \
	"$FERRY_OUT/receive.log" || fail "b's Podman did not restore from ferry's images"
ctr_lazy_check "$FERRY_OUT/receive.log" 4000
conf=$(podman inspect --format '{{index .Config.Annotations "org.criu.config"}}' c1)
echo "org.criu.config: $conf"
case $conf in */ferry-criu-restore.conf) ;; *) fail "annotation org.criu.config on b: '$conf'" ;; esac
[ ! -e "$conf" ] || fail "CRIU's configuration for the restore outlived it: $conf"
ctr_workload_goes_on "$S/verify.before"
c1=$(ctr_read_count podman exec c1 cat /tmp/count)
sleep 1
c2=$(ctr_read_count podman exec c1 cat /tmp/count)
echo "count on b: $c1, then $c2"
[ "$c2" -gt "$c1" ] || fail "the container's shell does not run on b ($c1 -> $c2)"
assert_eq "$(podman exec c1 cat /tmp/mark)" before "a file the container wrote"
podman exec c1 ls /etc/gone >/dev/null 2>&1 && fail "a file the container deleted is back"
barrier checked 900
podman rm -f -t 0 c1 >/dev/null
