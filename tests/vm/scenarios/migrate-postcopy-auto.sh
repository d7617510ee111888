#!/bin/bash
# ferry-vm: hosts=2
# migrate-postcopy-auto: a workload that rewrites its hot set faster than
# the link can carry it (64 MiB, a 16 MiB window rewritten without pause),
# migrated twice with --max-rounds 3: once with --postcopy=never, once with
# the default (auto). What must hold:
#  - never: the pre-copy stops without converging (not-shrinking,
#    max-rounds or disk-budget), post-copy is not used, and the final dump, taken frozen,
#    carries the hot set (thousands of pages in the frozen transfer);
#  - auto (no --postcopy at all): the same stop switches to post-copy; the
#    frozen transfer carries none of those pages (they stay on a and come
#    on fault or by push), the report's counts add up (pages = on fault +
#    pushed) and its reason is the pre-copy's stop reason;
#  - both times the process verifies on b (every page's header, generation
#    and body; generations summing to its write counter) and is gone on a.
# Downtimes are printed side by side, not asserted (timing under TCG).
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
PORT=7906
W=$FERRY_PROGS/mig_workload

if [ "$FERRY_ROLE" = b ]; then
	for t in never auto; do
		"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT" --once --dir /var/tmp \
			2>"$FERRY_OUT/receive-$t.log" &
		rpid=$!
		wait_port "$PORT"
		barrier "ready-$t"
		barrier "migrated-$t" 900
		rc=0
		wait $rpid || rc=$?
		cat "$FERRY_OUT/receive-$t.log"
		assert_eq "$rc" 0 "$t: ferry receive --once exit status"
		pid=$(cat "$FERRY_SHARED/pid-$t")
		kill -0 "$pid" || fail "$t: migrated process $pid does not run on b"
		v=$(workload_verify "$pid" "/tmp/pca-$t.pid.verify")
		echo "$t: after migration: $v"
		case $v in OK*) ;; *) fail "$t: verification on b: $v" ;; esac
		kill -9 "$pid"
		barrier "checked-$t"
	done
	exit 0
fi

cd /
last=30600
for t in never auto; do
	echo $last >/proc/sys/kernel/ns_last_pid
	last=$((last + 100))
	rm -f "/tmp/pca-$t.pid" "/tmp/pca-$t.pid.verify"
	setsid "$W" 64 4096 "/tmp/pca-$t.pid" </dev/null >/dev/null 2>&1 &
	for i in $(seq 300); do [ -s "/tmp/pca-$t.pid" ] && break; sleep 0.1; done
	pid=$(cat "/tmp/pca-$t.pid")
	echo "$pid" >"$FERRY_SHARED/pid-$t"
	sleep 2
	barrier "ready-$t"
	pc=(--postcopy=never)
	[ "$t" = auto ] && pc=()	# the default
	rc=0
	"$FERRY_BIN" migrate "$pid" --to "$FERRY_PEER_IP:$PORT" --max-rounds 3 "${pc[@]}" \
		--json >"$FERRY_OUT/report-$t.json" 2>"$FERRY_OUT/migrate-$t.log" || rc=$?
	cat "$FERRY_OUT/migrate-$t.log" "$FERRY_OUT/report-$t.json"
	barrier "migrated-$t"
	assert_eq "$rc" 0 "$t: ferry migrate exit status"
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "$t: source process $pid still exists on a"
	barrier "checked-$t"
done

rn=$(cat "$FERRY_OUT/report-never.json") ra=$(cat "$FERRY_OUT/report-auto.json")
for t in never auto; do
	r=$(cat "$FERRY_OUT/report-$t.json")
	# any stop but a converged one (not-shrinking, max-rounds, or the
	# destination's disk budget when its tmpfs is short)
	[ "$(jq -r .stop_reason <<<"$r")" != fits-downtime ] ||
		fail "$t: the pre-copy converged: the workload did not outrun the link"
done
assert_eq "$(jq -r .postcopy.mode <<<"$rn")" never "never: report postcopy.mode"
assert_eq "$(jq -r .postcopy.used <<<"$rn")" false "never: report postcopy.used"
assert_eq "$(jq -r .postcopy.mode <<<"$ra")" auto "auto: the default mode"
assert_eq "$(jq -r .postcopy.used <<<"$ra")" true "auto: report postcopy.used"
assert_eq "$(jq -r .postcopy.reason <<<"$ra")" "$(jq -r .stop_reason <<<"$ra")" \
	"auto: post-copy's reason is the pre-copy's stop reason"
# never: the hot set went while frozen; auto: it did not
wn=$(jq .final.pages_written <<<"$rn") bn=$(jq .final.image_bytes <<<"$rn")
ba=$(jq .final.image_bytes <<<"$ra")
pages=$(jq .postcopy.pages <<<"$ra") fault=$(jq .postcopy.pages_on_fault <<<"$ra")
pushed=$(jq .postcopy.pages_pushed <<<"$ra")
[ "$wn" -ge 1024 ] || fail "never: the final dump wrote $wn pages, not the hot set"
[ "$pages" -ge 1024 ] || fail "auto: only $pages pages left to post-copy"
assert_eq "$((fault + pushed))" "$pages" "auto: pages on fault + pushed"
[ "$ba" -lt $((bn / 4)) ] ||
	fail "auto: $ba bytes of final images sent frozen, against $bn without post-copy"
echo "never: downtime $(jq .downtime_ms <<<"$rn") ms, $wn pages in the final dump, $bn bytes of final images"
echo "auto:  downtime $(jq .downtime_ms <<<"$ra") ms, $pages pages post-copied ($fault on fault, $pushed pushed) in $(jq .postcopy.ms <<<"$ra") ms, $ba bytes of final images"
