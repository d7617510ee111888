#!/bin/bash
# checkpoint-many: three running workloads (16 MiB each, a hot window
# rewritten all along) are checkpointed at the same time, each into its own
# store, twice; then all three die and are restored at the same time (two
# lazily, the default, and one with --no-lazy).
# Must hold: every `ferry checkpoint` exits 0 and its version is complete;
# each workload runs on after its checkpoints with memory that verifies;
# every restore exits 0 with the workload's own PID, and each restored
# workload's memory verifies (no page lost or stale, the write counter
# equal to the generations) and keeps being written.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
W=$FERRY_PROGS/mig_workload
N=3
S=/var/tmp/ckpt-many

echo 30000 >/proc/sys/kernel/ns_last_pid
cd /
rm -rf "$S"
mkdir -p "$S"
pids=()
for i in $(seq $N); do
	rm -f "/tmp/many-$i.pid"
	setsid "$W" 16 128 "/tmp/many-$i.pid" </dev/null >/dev/null 2>&1 &
done
for i in $(seq $N); do
	for t in $(seq 300); do [ -s "/tmp/many-$i.pid" ] && break; sleep 0.1; done
	pids+=("$(cat "/tmp/many-$i.pid")")
done
echo "workloads: ${pids[*]}"
verify_all() {
	local i v
	for i in $(seq $N); do
		v=$(workload_verify "${pids[$((i - 1))]}" "/tmp/many-$i.pid.verify")
		echo "workload $i ($1): $v"
		case $v in OK*) ;; *) fail "workload $i $1: $v" ;; esac
	done
}
verify_all "before"
for round in 1 2; do
	ck=()
	for i in $(seq $N); do
		"$FERRY_BIN" checkpoint "${pids[$((i - 1))]}" --dir "$S/store-$i" --max-rounds 4 --json \
			>"$FERRY_OUT/ckpt-$i-$round.json" 2>"$FERRY_OUT/ckpt-$i-$round.log" &
		ck+=($!)
	done
	for i in $(seq $N); do
		rc=0
		wait "${ck[$((i - 1))]}" || rc=$?
		cat "$FERRY_OUT/ckpt-$i-$round.log"
		assert_eq "$rc" 0 "checkpoint $round of workload $i"
		j=$(cat "$FERRY_OUT/ckpt-$i-$round.json")
		assert_eq "$(jq_get "$j" version)" "$round" "version of workload $i"
		echo "workload $i, version $round: frozen $(($(jq_get "$j" final.frozen_time) / 1000)) ms"
	done
	verify_all "after checkpoint round $round"
done
for i in $(seq $N); do
	"$FERRY_BIN" versions --dir "$S/store-$i" | tee "$FERRY_OUT/versions-$i.txt"
	assert_eq "$(grep -c ' complete$' "$FERRY_OUT/versions-$i.txt")" 2 "complete versions of $i"
done
kill -9 "${pids[@]}"
for p in "${pids[@]}"; do
	for t in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
done
rs=()
for i in $(seq $N); do
	eager=; [ "$i" = $N ] && eager=--no-lazy	# the others: lazy, the default
	"$FERRY_BIN" restore --dir "$S/store-$i" $eager --json >"$FERRY_OUT/restore-$i.json" \
		2>"$FERRY_OUT/restore-$i.log" &
	rs+=($!)
done
for i in $(seq $N); do
	rc=0
	wait "${rs[$((i - 1))]}" || rc=$?
	cat "$FERRY_OUT/restore-$i.log" "$FERRY_OUT/restore-$i.json"
	assert_eq "$rc" 0 "restore of workload $i"
	assert_eq "$(jq_get "$(cat "$FERRY_OUT/restore-$i.json")" root_pid)" "${pids[$((i - 1))]}" \
		"restored PID of workload $i"
	want=True; [ "$i" = $N ] && want=False
	assert_eq "$(jq_get "$(cat "$FERRY_OUT/restore-$i.json")" lazy)" "$want" "lazy restore of $i"
	[ "$want" = False ] || [ "$(jq_get "$(cat "$FERRY_OUT/restore-$i.json")" lazy_pages)" -gt 1000 ] ||
		fail "restore $i left almost nothing to the lazy-pages server"
done
verify_all "restored"
w1=()
for i in $(seq $N); do w1+=("$(sed -n 's/.*writes=\([0-9]*\).*/\1/p' "/tmp/many-$i.pid.verify")"); done
sleep 1
verify_all "restored, a second later"
for i in $(seq $N); do
	w2=$(sed -n 's/.*writes=\([0-9]*\).*/\1/p' "/tmp/many-$i.pid.verify")
	[ "$w2" -gt "${w1[$((i - 1))]}" ] ||
		fail "restored workload $i stopped writing: ${w1[$((i - 1))]} -> $w2"
done
kill -9 "${pids[@]}"
rm -rf "$S"
echo "ok: $N workloads checkpointed at once, twice, and restored at once"
