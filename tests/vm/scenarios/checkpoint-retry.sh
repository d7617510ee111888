#!/bin/bash
# checkpoint-retry: CRIU 3.17's libsoccr fails a dump when the head skb of
# a connection's send queue is partly acknowledged ("recv failed (N, want
# M)": its peek returns acknowledged bytes too; tcp-states' "partial"
# scenario makes that state). The kernel clears it within a round trip or
# a retransmission, so `ferry checkpoint` and `ferry ha` try such a version
# once more, whole, 2 s later. CRIU is the real one; a wrapper first in
# PATH makes its first N `criu dump`s fail as CRIU does, with that line.
# Must hold:
#  - one such failure: `ferry checkpoint` exits 0, says it tries again,
#    CRIU dumped twice, the store has one complete version, and it restores
#    with the workload's PID and its memory verifies;
#  - the failure twice: exit 1, exactly two dumps, no version in the store;
#  - another CRIU failure: exit 1 and one dump: nothing else is retried;
#  - `ferry ha --count 2` with one such failure: both versions published,
#    none counted failed, exit 0.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
W=$FERRY_PROGS/mig_workload
S=/var/tmp/ckpt-retry
REAL=$(command -v criu) || fail "no criu"

rm -rf "$S" /tmp/retry.pid
mkdir -p "$S/bin"
# the wrapper: the first $S/fail-n dumps fail with $S/fail-line on stderr
cat >"$S/bin/criu" <<EOF
#!/bin/bash
if [ "\$1" = dump ]; then
	echo dump >>"$S/dumps"
	n=\$(cat "$S/fail-n")
	if [ "\$n" -gt 0 ]; then
		echo \$((n - 1)) >"$S/fail-n"
		cat "$S/fail-line" >&2
		exit 1
	fi
fi
exec "$REAL" "\$@"
EOF
chmod +x "$S/bin/criu"
# CRIU's own line (soccr/soccr.c prints a tab before "recv failed")
SOCCR=$(printf '(00.512345) Error (soccr/soccr.c:371): \trecv failed (1201, want 652): Success')
OTHER='(00.512345) Error (criu/cr-dump.c:1633): Dump files (pid: 1) failed with -1'

echo 30000 >/proc/sys/kernel/ns_last_pid
cd /
setsid "$W" 8 64 /tmp/retry.pid </dev/null >/dev/null 2>&1 &
for _ in $(seq 300); do [ -s /tmp/retry.pid ] && break; sleep 0.1; done
P=$(cat /tmp/retry.pid)
trap 'kill -9 $P 2>/dev/null || true' EXIT

# run_ckpt NAME FAILS LINE [ferry args...]: ferry with the wrapper first in
# PATH, CRIU's first FAILS dumps failing with LINE; sets rc and dumps.
run_ckpt() {
	local name=$1
	echo "$2" >"$S/fail-n"
	echo "$3" >"$S/fail-line"
	: >"$S/dumps"
	shift 3
	rc=0
	PATH="$S/bin:$PATH" "$FERRY_BIN" "$@" >"$FERRY_OUT/$name.out" 2>"$FERRY_OUT/$name.log" || rc=$?
	cat "$FERRY_OUT/$name.log"
	dumps=$(wc -l <"$S/dumps")
}
# versions DIR: "N:state ..." of the store, or "none" for an empty one
# (anything else, an error of ferry versions included, fails the test)
versions() {
	local j
	if ! j=$("$FERRY_BIN" versions --dir "$1" --json 2>"$FERRY_OUT/versions.err"); then
		grep -q "holds no version" "$FERRY_OUT/versions.err" && echo none ||
			echo "ferry versions --dir $1 failed: $(cat "$FERRY_OUT/versions.err")"
		return 0
	fi
	python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(str(v["version"]) + ":" + v["state"] for v in d["versions"]) or "none")' <<<"$j" ||
		echo "unreadable: $j"
}

run_ckpt once 1 "$SOCCR" checkpoint "$P" --dir "$S/once" --max-rounds 2
assert_eq "$rc" 0 "one send-queue failure: ferry checkpoint exit status"
assert_eq "$dumps" 2 "one send-queue failure: criu dumps"
grep -q "once more" "$FERRY_OUT/once.log" || fail "the retry was not said"
assert_eq "$(versions "$S/once")" "1:complete" "one send-queue failure: versions"
kill -9 "$P"
for _ in $(seq 50); do kill -0 "$P" 2>/dev/null || break; sleep 0.1; done
rrc=0
"$FERRY_BIN" restore --dir "$S/once" --json >"$FERRY_OUT/restore.json" 2>"$FERRY_OUT/restore.log" || rrc=$?
cat "$FERRY_OUT/restore.log"
assert_eq "$rrc" 0 "restore of the retried version"
assert_eq "$(jq_get "$(cat "$FERRY_OUT/restore.json")" root_pid)" "$P" "restored PID"
v=$(workload_verify "$P" /tmp/retry.pid.verify)
echo "restored: $v"
case $v in OK*) ;; *) fail "the retried version restored: $v" ;; esac

run_ckpt twice 2 "$SOCCR" checkpoint "$P" --dir "$S/twice" --max-rounds 2
assert_eq "$rc" 1 "two send-queue failures: ferry checkpoint exit status"
assert_eq "$dumps" 2 "two send-queue failures: criu dumps (one retry only)"
assert_eq "$(versions "$S/twice")" none "two send-queue failures: versions"
left=$(find "$S/twice" -mindepth 1 -maxdepth 1 \( -name 'v-*' -o -name '.v-*' \) -printf '%f ')
[ -z "$left" ] || fail "two send-queue failures left $left in the store"

run_ckpt other 1 "$OTHER" checkpoint "$P" --dir "$S/other" --max-rounds 2
assert_eq "$rc" 1 "another CRIU failure: ferry checkpoint exit status"
assert_eq "$dumps" 1 "another CRIU failure: criu dumps (no retry)"
grep -q "once more" "$FERRY_OUT/other.log" && fail "another CRIU failure was retried"

run_ckpt ha 1 "$SOCCR" ha "$P" --dir "$S/ha" --interval 1 --count 2 --keep 5 --max-rounds 2
assert_eq "$rc" 0 "ferry ha with one send-queue failure: exit status"
assert_eq "$dumps" 3 "ferry ha: criu dumps (2 versions, 1 retry)"
grep -q "2 versions written, 0 failed" "$FERRY_OUT/ha.log" || fail "ferry ha counted the retried failure"
assert_eq "$(versions "$S/ha")" "1:complete 2:complete" "ferry ha: versions"
rm -rf "$S" /tmp/retry.pid /tmp/retry.pid.verify
echo "ok: checkpoint-retry"
