#!/bin/bash
# checkpoint-chain: `ferry ha` stores incremental versions of a running
# workload (64 MiB, a 1 MiB window rewritten all along) every 2 s, keeping
# 3, then the workload dies and each kept version is restored.
# Must hold:
#  - version 1 stands alone; versions 2-6 each build on the one before
#    (base N-1) and store under half of version 1's bytes;
#  - between versions the workload stays claimed: `ferry dirty --clear`
#    of it is refused, naming the holder (a clear there would hide writes
#    from the next version);
#  - retention: exactly versions 4, 5, 6 are left, all complete; version 4,
#    whose base was removed, was folded and stands alone; 5 and 6 build on
#    4 and 5; nothing half-folded or half-removed is left;
#  - each of 4, 5, 6 restores (`--version`), with the workload's own PID,
#    and its memory verifies: no page of the chain lost or stale (the
#    generation of every page equal to the one its table holds, their sum
#    equal to the write counter);
#  - a damaged byte in version 5 makes 5 and 6 damaged (6 "builds on
#    version 5"), and `ferry restore` falls back to version 4, saying so.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
W=$FERRY_PROGS/mig_workload
S=/var/tmp/ckpt-chain

echo 30000 >/proc/sys/kernel/ns_last_pid
cd /
rm -rf "$S" /tmp/chain.pid
mkdir -p "$S"
setsid "$W" 64 256 /tmp/chain.pid </dev/null >/dev/null 2>&1 &
for t in $(seq 300); do [ -s /tmp/chain.pid ] && break; sleep 0.1; done
P=$(cat /tmp/chain.pid)
v=$(workload_verify "$P" /tmp/chain.pid.verify)
echo "workload $P: $v"
case $v in OK*) ;; *) fail "workload before: $v" ;; esac

rc=0
"$FERRY_BIN" ha "$P" --dir "$S/store" --interval 2 --keep 3 --count 6 --max-rounds 3 --json \
	>"$FERRY_OUT/ha.json" 2>"$FERRY_OUT/ha.log" &
ha=$!
# the claim between versions: wait for version 2, then try to clear
for t in $(seq 1800); do grep -q '"version":2' "$FERRY_OUT/ha.json" 2>/dev/null && break; sleep 0.1; done
grep -q '"version":2' "$FERRY_OUT/ha.json" || fail "ferry ha never published version 2"
crc=0
"$FERRY_BIN" dirty "$P" --clear >/dev/null 2>"$FERRY_OUT/dirty.log" || crc=$?
cat "$FERRY_OUT/dirty.log"
[ "$crc" -ne 0 ] || fail "ferry dirty --clear ran while ferry ha held the workload"
grep -q "ferry checkpoint" "$FERRY_OUT/dirty.log" || fail "the holder was not named"
wait "$ha" || rc=$?
cat "$FERRY_OUT/ha.log" "$FERRY_OUT/ha.json"
assert_eq "$rc" 0 "ferry ha exit status"
assert_eq "$(wc -l <"$FERRY_OUT/ha.json")" 6 "versions reported"
full=
while read -r j; do
	n=$(jq_get "$j" version)
	b=$(jq_get "$j" base)
	bytes=$(jq_get "$j" bytes)
	echo "version $n: base $b, $bytes bytes, frozen $(($(jq_get "$j" final.frozen_time) / 1000)) ms"
	if [ "$n" = 1 ]; then
		assert_eq "$b" 0 "base of version 1"
		full=$bytes
	else
		assert_eq "$b" $((n - 1)) "base of version $n"
		# under half: an increment holds what the sliding window wrote since
		# the version before, which on a loaded machine (a slow dump, a
		# slow fold between versions) is a quarter of the memory or more;
		# a version that copied everything holds all of it
		[ "$((bytes * 2))" -lt "$full" ] ||
			fail "version $n stored $bytes bytes, not a fraction of version 1's $full"
	fi
done <"$FERRY_OUT/ha.json"
for n in 1 2 3; do
	grep -q "version $n removed (--keep 3)" "$FERRY_OUT/ha.log" || fail "version $n was not removed"
done
grep -q "version 3 folded into version 4" "$FERRY_OUT/ha.log" || fail "version 4 was not folded"
ls -a "$S/store" | grep -q '\.del$\|\.tmp$\|\.fold$' && fail "half-done versions left: $(ls -a "$S/store")"

rc=0
"$FERRY_BIN" versions --dir "$S/store" --json >"$FERRY_OUT/versions.json" || rc=$?
cat "$FERRY_OUT/versions.json"
assert_eq "$rc" 0 "ferry versions exit status"
j=$(cat "$FERRY_OUT/versions.json")
for k in 0 1 2; do
	assert_eq "$(jq_get "$j" versions.$k.version)" $((k + 4)) "version kept ($k)"
	assert_eq "$(jq_get "$j" versions.$k.state)" complete "state of version $((k + 4))"
done
assert_eq "$(jq_get "$j" versions.0.base)" 0 "base of the folded version 4"
assert_eq "$(jq_get "$j" versions.1.base)" 4 "base of version 5"
assert_eq "$(jq_get "$j" versions.2.base)" 5 "base of version 6"

kill -9 "$P"
for t in $(seq 50); do kill -0 "$P" 2>/dev/null || break; sleep 0.1; done
for n in 4 5 6; do
	rc=0
	"$FERRY_BIN" restore --dir "$S/store" --version "$n" --json >"$FERRY_OUT/restore-$n.json" \
		2>"$FERRY_OUT/restore-$n.log" || rc=$?
	cat "$FERRY_OUT/restore-$n.log" "$FERRY_OUT/restore-$n.json"
	assert_eq "$rc" 0 "restore of version $n"
	assert_eq "$(jq_get "$(cat "$FERRY_OUT/restore-$n.json")" root_pid)" "$P" "restored PID ($n)"
	v=$(workload_verify "$P" /tmp/chain.pid.verify)
	echo "version $n restored: $v"
	case $v in OK*) ;; *) fail "version $n restored: $v" ;; esac
	kill -9 "$P"
	for t in $(seq 50); do kill -0 "$P" 2>/dev/null || break; sleep 0.1; done
done

# version 5 damaged: 5 and 6 are, and a restore falls back to 4
pages=$(ls -S "$S"/store/v-5/r0/pages-*.img | head -1)
[ "$(stat -c %s "$pages")" -gt 4096 ] || fail "$pages holds no page"
printf 'X' | dd of="$pages" bs=1 seek=100 conv=notrunc status=none
rc=0
"$FERRY_BIN" versions --dir "$S/store" --json >"$FERRY_OUT/versions-damaged.json" || rc=$?
j=$(cat "$FERRY_OUT/versions-damaged.json")
echo "$j"
assert_eq "$(jq_get "$j" versions.1.state)" damaged "state of version 5"
assert_eq "$(jq_get "$j" versions.2.state)" damaged "state of version 6"
case "$(jq_get "$j" versions.2.reason)" in
*"builds on version 5, which is damaged"*) ;;
*) fail "version 6's reason: $(jq_get "$j" versions.2.reason)" ;;
esac
rc=0
"$FERRY_BIN" restore --dir "$S/store" --json >"$FERRY_OUT/restore-fallback.json" \
	2>"$FERRY_OUT/restore-fallback.log" || rc=$?
cat "$FERRY_OUT/restore-fallback.log" "$FERRY_OUT/restore-fallback.json"
assert_eq "$rc" 0 "restore after the damage"
assert_eq "$(jq_get "$(cat "$FERRY_OUT/restore-fallback.json")" version)" 4 "version restored"
grep -q "version 6 is damaged: it builds on version 5" "$FERRY_OUT/restore-fallback.log" ||
	fail "the fallback past version 6 was not said"
v=$(workload_verify "$P" /tmp/chain.pid.verify)
case $v in OK*) ;; *) fail "version 4 restored after the damage: $v" ;; esac
kill -9 "$P"
rm -rf "$S"
echo "ok: 6 incremental versions, 3 kept (4 folded), each restores; damage in 5 falls back to 4"
