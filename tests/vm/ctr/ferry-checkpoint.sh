#!/bin/bash
# ferry-vm: hosts=2
# ferry-checkpoint: `ferry ha --container` keeps versions of a running
# Podman container on host b (`ferry receive --store`), the container
# frozen only for Podman's checkpoint on top of ferry's rounds; then host a
# loses it, and `ferry restore` brings it back on b from b's own store.
# What must be unchanged on b:
# - its ID and name, and it runs under Podman there (podman exec);
# - its memory: mig_workload inside (32 MiB, a hot window rewritten all the
#   time) verifies every page (no page lost or stale), as of a moment
#   after ferry ha began, and goes on;
# - its process tree: the init shell keeps counting into its rootfs;
# - its rootfs changes: a file it wrote, a file of the image it deleted.
# Checked on a: three versions, each published here and stored on b, the
# checkpoint took pages from ferry's rounds (pages skipped in parent), and
# the container runs on after each (still counting, memory verifies);
# versions 2 and 3 build on the one before. Then a local chain of two
# versions, mig_workload stopped but for 2 s between them: version 2's
# first round copies under a quarter of the pages version 1's did, and a
# restores version 2 (memory verifies: the pages it took from version 1
# and those of the 2 s), before it loses the container.
# On b: --keep 2 leaves two complete versions, each of the container
# (version 2 folded to stand alone once version 1 went, 3 on top of it); the
# restore is lazy (CRIU reads the version's images from the store, ferry's
# lazy-pages server brings the pre-copied pages in, every one of them
# before ferry restore returns), and CRIU's configuration file for it,
# named by the container's org.criu.config annotation, is gone; the store
# keeps no work directory of the restore. Then the same once more from a
# read-only view of the store, the old way (Podman's restore of the
# archive on a tar of the version's chain).
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/podman.sh"
ctr_setup
S=$FERRY_SHARED
PORT=7965
# b's store on the job's 9p directory (storage both hosts could share),
# which holds no socket: the lazy-pages server listens in a local work dir
STORE=$S/store
fmt='{{.Id}} {{.Name}}'

if [ "$FERRY_ROLE" = a ]; then
	rm -f "$S/verify.before"
	ctr_image_share localhost/ferry-w:1 "$FERRY_PROGS/mig_workload"
	barrier image 600
	ctr_run_workload c1
	w=$CTR_W
	podman inspect --format "$fmt" c1 >"$S/ident"
	barrier ready 900
	step "ferry ha --container c1 --to b"
	rc=0
	"$FERRY_BIN" ha --container c1 --to "$FERRY_PEER_IP:$PORT" --dir /var/tmp/local \
		--interval 5 --keep 2 --count 3 --max-rounds 4 2>"$FERRY_OUT/ha.log" || rc=$?
	cat "$FERRY_OUT/ha.log"
	assert_eq "$rc" 0 "ferry ha exit status"
	for n in 1 2 3; do
		grep -q "version $n stored on $FERRY_PEER_IP:$PORT as c1/v-$n" "$FERRY_OUT/ha.log" ||
			fail "version $n was not stored on b"
	done
	grep -q "container c1 thawed" "$FERRY_OUT/ha.log" || fail "the container was not thawed"
	for n in 2 3; do
		grep -q "version $n of [0-9]* published: .*, on top of version $((n - 1)), " \
			"$FERRY_OUT/ha.log" || fail "version $n does not build on version $((n - 1))"
	done
	skipped=$(sed -n 's/.*checkpointed in .*, \([0-9]*\) skipped (in parent).*/\1/p' \
		"$FERRY_OUT/ha.log" | tail -1)
	echo "pages skipped in parent by the last checkpoint: $skipped"
	[ "${skipped:-0}" -gt 4000 ] || fail "the checkpoint did not use ferry's rounds"
	ctr_counting c1 /tmp/count "c1"
	assert_eq "$(podman inspect --format '{{.State.Status}}' c1)" running "state on a"
	v=$(workload_verify "$w" /proc/$w/root/tmp/w.pid.verify)
	step "after the checkpoints: $v"
	case $v in OK*) ;; *) fail "verification on a after the checkpoints: $v" ;; esac

	# The versions above each copy every page again: mig_workload's window
	# slides over all its memory in the minute a version takes to reach b.
	# So, a local chain of two, mig_workload stopped but for 2 s between
	# them: version 2's first round must copy only what those 2 s wrote,
	# and its restore take the rest from version 1's final dump and rounds.
	step "ferry ha --container c1 --dir /var/tmp/inc: two versions, 2 s of writes between them"
	rm -rf /var/tmp/inc
	kill -STOP "$w"
	"$FERRY_BIN" ha --container c1 --dir /var/tmp/inc --interval 120 --keep 2 --count 2 \
		--max-rounds 2 2>"$FERRY_OUT/ha-inc.log" &
	hp=$!
	for i in $(seq 900); do
		grep -q "version 1 of [0-9]* published" "$FERRY_OUT/ha-inc.log" && break
		kill -0 $hp 2>/dev/null || break
		sleep 0.5
	done
	grep -q "version 1 of [0-9]* published" "$FERRY_OUT/ha-inc.log" ||
		{ cat "$FERRY_OUT/ha-inc.log"; fail "version 1 of the local chain was not published"; }
	kill -CONT "$w"
	sleep 2
	kill -STOP "$w"
	grep -q "version 2 of [0-9]*: writing" "$FERRY_OUT/ha-inc.log" &&
		fail "version 2 began before the 2 s of writes ended (version 1 took over 120 s)"
	rc=0
	wait $hp || rc=$?
	kill -CONT "$w"
	cat "$FERRY_OUT/ha-inc.log"
	assert_eq "$rc" 0 "ferry ha (the local chain) exit status"
	grep -q "version 2 of [0-9]* published: .*, on top of version 1, " "$FERRY_OUT/ha-inc.log" ||
		fail "version 2 of the local chain does not build on version 1"
	r0() { sed -n 's/.*round 0: \([0-9]*\) pages dirty.*/\1/p' "$FERRY_OUT/ha-inc.log" | sed -n "$1p"; }
	p1=$(r0 1) p2=$(r0 2)
	echo "round 0 copied ${p1:-?} pages for version 1, ${p2:-?} for version 2"
	[ "${p1:-0}" -ge 8192 ] || fail "version 1's first round copied ${p1:-no} pages, not all"
	[ -n "$p2" ] && [ "$p2" -lt $((p1 / 4)) ] ||
		fail "version 2's first round copied ${p2:-?} pages, not under a quarter of version 1's $p1"
	step "a loses c1 and restores version 2 of the local chain"
	podman rm -f -t 0 c1 >/dev/null
	rc=0
	"$FERRY_BIN" restore --dir /var/tmp/inc --json >"$FERRY_OUT/restore-inc.json" \
		2>"$FERRY_OUT/restore-inc.log" || rc=$?
	cat "$FERRY_OUT/restore-inc.log" "$FERRY_OUT/restore-inc.json"
	assert_eq "$rc" 0 "ferry restore (the local chain) exit status"
	assert_eq "$(jq_get "$(cat "$FERRY_OUT/restore-inc.json")" version)" 2 "version restored on a"
	# version 2 took it stopped
	w=$(wpid)
	[ -n "$w" ] && kill -CONT "$w"
	ctr_workload_goes_on "$S/verify.before"
	ctr_counting c1 /tmp/count "c1 (the local chain)"
	# host a loses the container (and would be gone)
	podman rm -f -t 0 c1 >/dev/null
	barrier a-lost 900
	barrier checked 1800
	exit 0
fi

# c1_as_before HOW: what must be unchanged in c1 after a restore on b:
# its ID and name, its memory (page by page) and its counting shell, a
# file it wrote, and a file it deleted (still gone).
c1_as_before() {
	assert_eq "$(podman inspect --format "$fmt" c1)" "$(cat "$S/ident")" "ID and name on b ($1)"
	ctr_workload_goes_on "$S/verify.before"
	ctr_counting c1 /tmp/count "c1 ($1)"
	assert_eq "$(podman exec c1 cat /tmp/mark)" before "a file the container wrote ($1)"
	! podman exec c1 ls /etc/gone >/dev/null 2>&1 ||
		fail "a file the container deleted is back ($1)"
}

rm -rf "$STORE"
barrier image 600
step "load"
podman load -q -i "$S/image.tar" >/dev/null
"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT" --store "$STORE" --phase-timeout 900 \
	2>"$FERRY_OUT/receive.log" &
rpid=$!
wait_port "$PORT"
barrier ready 900
barrier a-lost 1800
cat "$FERRY_OUT/receive.log"
"$FERRY_BIN" versions --dir "$STORE/c1" | tee "$FERRY_OUT/versions.txt"
assert_eq "$(grep -c ' complete$' "$FERRY_OUT/versions.txt")" 2 "complete versions on b (--keep 2)"
step "restore"
rc=0
"$FERRY_BIN" restore --dir "$STORE/c1" --json >"$FERRY_OUT/restore.json" \
	2>"$FERRY_OUT/restore.log" || rc=$?
cat "$FERRY_OUT/restore.log" "$FERRY_OUT/restore.json"
assert_eq "$rc" 0 "ferry restore exit status"
r=$(cat "$FERRY_OUT/restore.json")
assert_eq "$(jq_get "$r" version)" 3 "version restored"
assert_eq "$(jq_get "$r" lazy)" True "a lazy restore"
lp=$(jq_get "$r" lazy_pages)
echo "pages left to the lazy-pages server: $lp"
[ "${lp:-0}" -ge 4000 ] || fail "the restore left ${lp:-no} pages to the lazy-pages server, want >= 4000"
conf=$(podman inspect --format '{{index .Config.Annotations "org.criu.config"}}' c1)
case $conf in */ferry-criu-restore.conf) ;; *) fail "annotation org.criu.config on b: '$conf'" ;; esac
[ ! -e "$conf" ] || fail "CRIU's configuration for the restore outlived it: $conf"
left=$(find "$STORE/c1" -maxdepth 1 -name '.restore-*')
[ -z "$left" ] || fail "the restore left its work in the store: $left"
c1_as_before "the lazy restore"

# Again from a read-only view of the store, where no link can go beside the
# version: the old way, Podman's restore of the archive on top of a tar of
# the version's chain, which leads into the version it builds on
# (r0/parent -> ../../v-2/final). The same must hold.
step "restore again, from a read-only view of the store (the old way)"
podman rm -f -t 0 c1 >/dev/null
ro=/var/tmp/store-ro
mkdir -p "$ro"
mount --bind "$STORE" "$ro"
mount -o remount,bind,ro "$ro"
rc=0
"$FERRY_BIN" restore --dir "$ro/c1" --json >"$FERRY_OUT/restore-ro.json" \
	2>"$FERRY_OUT/restore-ro.log" || rc=$?
umount "$ro"
cat "$FERRY_OUT/restore-ro.log" "$FERRY_OUT/restore-ro.json"
assert_eq "$rc" 0 "ferry restore (the old way) exit status"
r=$(cat "$FERRY_OUT/restore-ro.json")
assert_eq "$(jq_get "$r" version)" 3 "version restored (the old way)"
# the direct way would have been lazy (the default); the old way is eager
assert_eq "$(jq_get "$r" lazy)" False "an eager restore (the old way)"
c1_as_before "the old way"
barrier checked 900
podman rm -f -t 0 c1 >/dev/null
kill "$rpid" 2>/dev/null || true
