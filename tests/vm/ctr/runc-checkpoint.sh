#!/bin/bash
# ferry-vm: hosts=2
# runc-checkpoint: `ferry checkpoint --container ID --engine runc` (one
# version) and then `ferry ha` (two more, the third built on the second,
# the first removed by --keep 2) keep versions of a plain runc container in
# a store on storage both hosts share (the job's 9p directory), while it
# runs on a, and send each to host b (`--to`, `ferry receive --store` on
# b, its store local to b); a "dies" (its container is deleted outright)
# and `ferry restore --dir` of b's own store brings the newest version back
# under runc there. Its bundle lives on the shared storage: the version
# names it, it does not copy it. What must be unchanged:
# - between versions the container runs on (each checkpoint freezes it only
#   for runc's final step): its counter advances after each one;
# - `ferry versions` names the engine, the ID and the bundle; b's store
#   holds the same versions (2 and 3, 3 on top of 2) as a's;
# - a restore where the ID is taken (on a, while the container still runs)
#   is refused before runc is asked, and the container runs on;
# - after the restore on b: runc runs it with the same ID; the newest
#   version was taken (version 3, and its counter is not behind the value
#   it had when `ferry ha` began); the counter goes on; mig_workload's 32 MiB
#   verify and its writes go on; what it wrote to its root is there and
#   what it deleted stays gone; and the pre-copied pages came lazily.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/podman.sh"
. "$FERRY_SRC/tests/vm/lib/runc.sh"
ctr_setup	# Podman is not used; an earlier script's containers go
S=$FERRY_SHARED
ID=rc1
STORE=$S/chain
PORT=7969
BSTORE=/var/tmp/store
count() { ctr_read_count runc_ exec $ID cat /tmp/count; }
# runs_on WHAT BEFORE: the container's counter advances within 2 s after
# WHAT (BEFORE: its value when WHAT began)
runs_on() {
	local c1 c2
	c1=$(count)
	sleep 2
	c2=$(count)
	echo "count: $2 before $1, $c1 after it, then $c2"
	[ "$c2" -gt "$c1" ] || fail "$ID does not run on after $1 ($c1 -> $c2)"
}

if [ "$FERRY_ROLE" = a ]; then
	step "bundle"
	ctr_rootfs_build "$S/bundle/rootfs" "$FERRY_PROGS/mig_workload"
	runc_config 'exec </dev/null >/tmp/out 2>&1; echo before >/tmp/mark; rm /etc/gone
		/w/mig_workload 32 256 /tmp/w.pid &
		i=0; while :; do i=$((i+1)); echo $i >/tmp/count; sleep 0.2; done' $ID \
		>"$S/bundle/config.json"
	runc_ run -d --bundle "$S/bundle" $ID </dev/null >/dev/null 2>"$FERRY_OUT/run.log" ||
		fail "runc run $ID: $(cat "$FERRY_OUT/run.log")"
	runc_workload_up "$S/verify.before"

	step "version 1: ferry checkpoint"
	c0=$(count)
	rc=0
	barrier ready 900
	"$FERRY_BIN" checkpoint --container $ID --engine runc --runc-root $RR \
		--dir "$STORE" --to "$FERRY_PEER_IP:$PORT" --max-rounds 4 --json \
		>"$FERRY_OUT/v1.json" 2>"$FERRY_OUT/v1.log" || rc=$?
	cat "$FERRY_OUT/v1.log" "$FERRY_OUT/v1.json"
	assert_eq "$rc" 0 "ferry checkpoint --engine runc: exit status"
	r=$(cat "$FERRY_OUT/v1.json")
	assert_eq "$(jq_get "$r" version)" 1 "version 1: its number"
	assert_eq "$(runc_status $ID)" running "$ID's state after version 1"
	runs_on "version 1" "$c0"
	sleep 4		# versions apart by more than the count's jitter

	step "versions 2 and 3: ferry ha"
	c0=$(count)
	echo "$c0" >"$S/count.before-ha"
	rc=0
	"$FERRY_BIN" ha --container $ID --engine runc --runc-root $RR --dir "$STORE" \
		--to "$FERRY_PEER_IP:$PORT" --interval 3 --keep 2 --count 2 --max-rounds 4 \
		2>"$FERRY_OUT/ha.log" || rc=$?
	cat "$FERRY_OUT/ha.log"
	assert_eq "$rc" 0 "ferry ha --engine runc: exit status"
	for n in 2 3; do
		grep -q "version $n stored on $FERRY_PEER_IP:$PORT as $ID/v-$n" "$FERRY_OUT/ha.log" ||
			fail "version $n was not stored on b"
	done
	assert_eq "$(runc_status $ID)" running "$ID's state after ferry ha"
	runs_on "ferry ha" "$c0"
	ls "$STORE"/v-*/runc-work 2>/dev/null && fail "runc's work dir is in a version"
	vs=$("$FERRY_BIN" versions --dir "$STORE" --json)
	echo "$vs"
	assert_eq "$(jq -r '[.versions[].version] | join(" ")' <<<"$vs")" "2 3" "ferry versions: those kept (--keep 2)"
	assert_eq "$(jq -r '.versions[-1].base' <<<"$vs")" 2 "ferry versions: version 3 builds on version 2"
	assert_eq "$(jq -r '.versions[-1].engine' <<<"$vs")" runc "ferry versions: engine"
	assert_eq "$(jq -r '.versions[-1].container' <<<"$vs")" $ID "ferry versions: ID"
	assert_eq "$(jq -r '.versions[-1].bundle' <<<"$vs")" "$S/bundle" "ferry versions: bundle"
	assert_eq "$(jq -r '.versions[-1].state' <<<"$vs")" complete "ferry versions: state"

	step "refused: the ID is taken here"
	rc=0
	"$FERRY_BIN" restore --dir "$STORE" --runc-root $RR 2>"$FERRY_OUT/refused.log" || rc=$?
	cat "$FERRY_OUT/refused.log"
	assert_eq "$rc" 1 "ferry restore while $ID runs here: exit status"
	grep -q "a runc container $ID exists here" "$FERRY_OUT/refused.log" ||
		fail "the refusal does not say why"
	assert_eq "$(runc_status $ID)" running "$ID's state after the refused restore"
	runs_on "the refused restore" "$(count)"
	ls -d "$STORE"/.restore-* 2>/dev/null && fail "the refused restore left a work directory"

	step "a dies: its container goes, nothing stopped in order"
	runc_ kill $ID KILL || true
	runc_rdelete $ID
	[ -z "$(wpid)" ] || fail "mig_workload still exists on a"
	barrier dead 900
	barrier checked 1800
	exit 0
fi

rm -rf "$BSTORE"
"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT" --store "$BSTORE" --phase-timeout 900 \
	2>"$FERRY_OUT/receive.log" &
rpid=$!
wait_port "$PORT"
barrier ready 900
barrier dead 1800
cat "$FERRY_OUT/receive.log"
vs=$("$FERRY_BIN" versions --dir "$BSTORE/$ID" --json)
echo "$vs"
assert_eq "$(jq -r '[.versions[] | select(.state == "complete") | .version] | join(" ")' <<<"$vs")" "2 3" "versions in b's store"
assert_eq "$(jq -r '.versions[-1].base' <<<"$vs")" 2 "b's store: version 3 builds on version 2"
step "restore on b"
rc=0
"$FERRY_BIN" restore --dir "$BSTORE/$ID" --runc-root $RR --json >"$FERRY_OUT/restore.json" \
	2>"$FERRY_OUT/restore.log" || rc=$?
cat "$FERRY_OUT/restore.log" "$FERRY_OUT/restore.json"
assert_eq "$rc" 0 "ferry restore --dir of a runc container's versions: exit status"
r=$(cat "$FERRY_OUT/restore.json")
assert_eq "$(jq_get "$r" restored)" True "restore report: restored"
assert_eq "$(jq_get "$r" version)" 3 "restore report: the newest version"
assert_eq "$(jq_get "$r" engine)" runc "restore report: engine"
assert_eq "$(jq_get "$r" lazy)" True "restore report: lazy"
lp=$(jq_get "$r" lazy_pages)
echo "pages left to the lazy-pages server: $lp"
[ "$lp" -ge 1024 ] || fail "the restore was not lazy ($lp pages left to the server, want >= 1024)"
assert_eq "$(runc_status $ID)" running "runc's state of $ID on b"
assert_eq "$(jq_get "$r" root_pid)" "$(runc_ state $ID | jq -r .pid)" "restore report: root_pid is the container's init"
ls -d "$BSTORE/$ID"/.restore-* 2>/dev/null && fail "the restore left its work directory"
c1=$(count)
sleep 1
c2=$(count)
cb=$(cat "$S/count.before-ha")
echo "count: $cb when ferry ha began; on b $c1, then $c2"
[ "$c1" -ge "$cb" ] || fail "the count on b ($c1) is behind ferry ha's start ($cb): an older version came back"
[ "$c2" -gt "$c1" ] || fail "the container's shell does not run on b ($c1 -> $c2)"
ctr_workload_goes_on "$S/verify.before"
assert_eq "$(runc_ exec $ID cat /tmp/mark)" before "a file the container wrote"
runc_ exec $ID ls /etc/gone >/dev/null 2>&1 && fail "a file the container deleted is back"
barrier checked 900
runc_rdelete $ID
kill "$rpid" 2>/dev/null || true
