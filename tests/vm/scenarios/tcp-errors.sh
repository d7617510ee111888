#!/bin/bash
# tcp-errors: who may dump and what is refused.
# - An unprivileged caller (uid 65534, no capabilities) gets EPERM from
#   TCP_DUMP: `ferry tcp` exits 5 and says which capability is needed;
#   also for its own pid and in --netns mode.
# - An unknown pid exits 4 (ESRCH); bad command lines exit 2.
# - Raw requests (tests/progs/tcp_nlerr.c): missing PID, PID 0, unknown
#   flag bits, reply-only or unknown attributes -> EINVAL with an extack
#   reason; unknown pid -> ESRCH with a reason; a valid request succeeds.
# - `ferry tcp --help` documents the options and exit codes.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"

nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all "$@"; }
assert_rc 5 nobody "$FERRY_BIN" tcp $$
assert_rc 5 nobody "$FERRY_BIN" tcp --netns --data 1
msg=$(nobody "$FERRY_BIN" tcp 1 2>&1 || true)
echo "$msg"
case $msg in *CAP_SYS_ADMIN*) echo "ok: reason names the capability" ;; *) fail "no reason: $msg" ;; esac

assert_rc 4 "$FERRY_BIN" tcp 1073741800
assert_rc 2 "$FERRY_BIN" tcp
assert_rc 2 "$FERRY_BIN" tcp notapid
assert_rc 2 "$FERRY_BIN" tcp 1 2
assert_rc 2 "$FERRY_BIN" tcp --bogus 1
assert_rc 0 "$FERRY_BIN" tcp $$
assert_rc 0 "$FERRY_BIN" tcp --netns --data $$
"$FERRY_BIN" tcp --json --netns $$ | python3 -c 'import json,sys; d=json.load(sys.stdin); assert isinstance(d["sockets"], list); print("ok: --json parses,", d["count"], "sockets")'
help=$("$FERRY_BIN" tcp --help)
for w in --netns --data --json "Exit status" snd_una TIME_WAIT; do
	case $help in *"$w"*) ;; *) fail "--help lacks $w" ;; esac
done
echo "ok: --help"

"$FERRY_PROGS/tcp_nlerr"
