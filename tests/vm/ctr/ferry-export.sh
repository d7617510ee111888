#!/bin/bash
# ferry-vm: hosts=2
# ferry-export: checkpoint archives in Podman's layout, both ways.
#  1. On a, `ferry checkpoint --container c1 --export FILE` (memory copied in
#     rounds while c1 runs, then Podman's checkpoint on top of them) writes
#     FILE; on b, Podman's own `podman container restore --import FILE`
#     restores it with nothing else: no pre-checkpoint, no ferry.
#  2. On b, Podman's own `podman container checkpoint --export` (zstd, its
#     default) of that container; on a, `ferry restore --import` restores it.
# What must be unchanged after each restore:
# - its ID and name, and it runs under Podman (podman exec);
# - its memory: mig_workload inside (32 MiB, a hot window rewritten all the
#   time) verifies every page (no page lost or stale), with more writes than
#   a verification made before the checkpoint began;
# - its process tree: the init shell keeps counting into its rootfs;
# - its rootfs changes: a file it wrote, a file of the image it deleted.
# Also: FILE's checkpoint/ stands alone (pages files, no parent link, no
# pre-checkpoint/) while the version took most pages from ferry's rounds
# (pages skipped in parent); a truncated archive makes `ferry restore
# --import` fail (exit 1) and leaves no container behind.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/podman.sh"
ctr_setup
S=$FERRY_SHARED
fmt='{{.Id}} {{.Name}}'
# restored_ok WHERE BEFORE_FILE: c1 runs here as it was, its memory newer
# than the verification in BEFORE_FILE
restored_ok() {
	assert_eq "$(podman inspect --format "$fmt" c1)" "$(cat "$S/ident")" "ID and name on $1"
	ctr_workload_goes_on "$2"
	ctr_counting c1 /tmp/count "c1 on $1"
	assert_eq "$(podman exec c1 cat /tmp/mark)" before "a file the container wrote"
	podman exec c1 ls /etc/gone >/dev/null 2>&1 && fail "a file the container deleted is back"
	return 0
}
trap 'podman rm -f -t 0 c1 >/dev/null 2>&1; true' EXIT

if [ "$FERRY_ROLE" = a ]; then
	rm -f "$S/ferry.tar" "$S/podman.tar"
	ctr_image_share localhost/ferry-w:1 "$FERRY_PROGS/mig_workload"
	barrier image 600
	ctr_run_workload c1
	podman inspect --format "$fmt" c1 >"$S/ident"
	step "ferry checkpoint --container c1 --export"
	rc=0
	"$FERRY_BIN" checkpoint --container c1 --dir /var/tmp/local --export "$S/ferry.tar" \
		--max-rounds 4 --json >"$FERRY_OUT/checkpoint.json" 2>"$FERRY_OUT/checkpoint.log" || rc=$?
	cat "$FERRY_OUT/checkpoint.log" "$FERRY_OUT/checkpoint.json"
	assert_eq "$rc" 0 "ferry checkpoint --export exit status"
	r=$(cat "$FERRY_OUT/checkpoint.json")
	assert_eq "$(jq_get "$r" export.ok)" True "report: export.ok"
	assert_eq "$(jq_get "$r" export.bytes)" "$(stat -c %s "$S/ferry.tar")" "report: export.bytes"
	skipped=$(jq_get "$r" final.pages_skipped_parent)
	echo "pages skipped in parent: $skipped"
	[ "$skipped" -gt 4000 ] || fail "the checkpoint did not take its pages from ferry's rounds"
	tar -tf "$S/ferry.tar" | sort >"$FERRY_OUT/ferry.list"
	for f in config.dump spec.dump checkpoint/inventory.img; do
		grep -qx "$f" "$FERRY_OUT/ferry.list" || fail "the archive has no $f"
	done
	grep -q '^checkpoint/pages-[0-9]*\.img$' "$FERRY_OUT/ferry.list" || fail "the archive has no pages"
	grep -q '^checkpoint/parent$\|^pre-checkpoint' "$FERRY_OUT/ferry.list" &&
		fail "the archive's checkpoint/ does not stand alone"
	ls -A "$(dirname "$S/ferry.tar")" | grep -q '^\.ferry-export' && fail "the export's work directory is left"
	ctr_counting c1 /tmp/count "c1 after the checkpoint"
	# a loses it; it comes back from b's archive later
	podman rm -f -t 0 c1 >/dev/null
	barrier exported 900

	barrier podman-exported 1800
	step "ferry restore --import of a truncated archive"
	head -c $(( $(stat -c %s "$S/podman.tar") / 2 )) "$S/podman.tar" >/var/tmp/half.tar
	rc=0
	"$FERRY_BIN" restore --import /var/tmp/half.tar 2>"$FERRY_OUT/half.log" || rc=$?
	cat "$FERRY_OUT/half.log"
	assert_eq "$rc" 1 "ferry restore --import of a truncated archive: exit status"
	[ -z "$(podman ps -aq)" ] || fail "a container is left after the failed import: $(podman ps -a)"
	step "ferry restore --import of Podman's archive"
	rc=0
	"$FERRY_BIN" restore --import "$S/podman.tar" --json >"$FERRY_OUT/restore.json" \
		2>"$FERRY_OUT/restore.log" || rc=$?
	cat "$FERRY_OUT/restore.log" "$FERRY_OUT/restore.json"
	assert_eq "$rc" 0 "ferry restore --import exit status"
	r=$(cat "$FERRY_OUT/restore.json")
	assert_eq "$(jq_get "$r" restored)" True "report: restored"
	assert_eq "$(jq_get "$r" container.name)" c1 "report: container name"
	assert_eq "$(jq_get "$r" root_pid)" "$(podman inspect --format '{{.State.Pid}}' c1)" "report: root_pid"
	restored_ok a "$S/verify.b"
	barrier checked 900
	exit 0
fi

barrier image 600
step "load"
podman load -q -i "$S/image.tar" >/dev/null
barrier exported 1800
step "podman container restore --import of ferry's archive"
podman container restore --import "$S/ferry.tar" >"$FERRY_OUT/podman-restore.out" 2>&1 ||
	{ cat "$FERRY_OUT/podman-restore.out"; fail "podman container restore --import of ferry's archive failed"; }
restored_ok b "$S/verify.before"
echo "$CTR_V" >"$S/verify.b"
step "podman container checkpoint --export"
podman container checkpoint --export "$S/podman.tar" c1 >"$FERRY_OUT/podman-checkpoint.out" 2>&1 ||
	{ cat "$FERRY_OUT/podman-checkpoint.out"; fail "podman container checkpoint --export failed"; }
podman rm -f -t 0 c1 >/dev/null
barrier podman-exported 900
barrier checked 1800
