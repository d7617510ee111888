#!/bin/bash
# module-caps: who may use ferry.ko. DIRTY_SCAN re-arms another process's
# page tables and TCP_DUMP reads socket state (and with --data or --netns
# every queued byte): the caller needs CAP_SYS_ADMIN, or
# CAP_CHECKPOINT_RESTORE together with CAP_SYS_PTRACE, plus CAP_NET_ADMIN
# for queue data or a whole network namespace. Each capability set is a
# root process whose bounding set holds only those capabilities (setpriv),
# so its effective set after exec is exactly them.
# What must be unchanged: each set gets exactly the answer in the table
# below (exit 0 allowed, exit 5 EPERM with the kernel's reason).
set -euo pipefail
. tests/vm/lib/assert.sh
F=$FERRY_BIN
lsmod | grep -q '^ferry ' || insmod "$FERRY_KO"
ip link set lo up
# a target with a connection, so that tcp has something to read
python3 -c '
import socket, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.create_connection(l.getsockname()); a, _ = l.accept()
c.send(b"x" * 1000)
time.sleep(600)' & tgt=$!
trap 'kill $tgt 2>/dev/null || true' EXIT
sleep 1

# as CAPS (comma list for setpriv, "" for none): run ferry ARGS, want exit WANT
as() {
	local caps=$1 want=$2; shift 2
	local rc=0 out bset=-all
	[ -n "$caps" ] && bset="-all,$caps"
	out=$(setpriv --inh-caps=-all --bounding-set="$bset" "$F" "$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" = "$want" ] || fail "caps [${caps:-none}] ferry $*: exit $rc, want $want: $out"
	if [ "$want" = 5 ]; then
		echo "$out" | grep -q "CAP_SYS_ADMIN" || fail "caps [${caps:-none}] ferry $*: no reason in: $out"
	fi
	echo "ok: caps [${caps:-none}] ferry $* -> exit $rc"
}
CR=+checkpoint_restore PT=+sys_ptrace NA=+net_admin

as ""                5 dirty $tgt --backend module
as "$CR"             5 dirty $tgt --backend module
as "$CR,$PT"         0 dirty $tgt --backend module
as "$CR,$PT"         0 dirty $tgt --backend module --clear
as "+sys_admin"      0 dirty $tgt --backend module --clear

as ""                5 tcp $tgt
as "$CR"             5 tcp $tgt
as "$PT"             5 tcp $tgt
as "$CR,$PT"         0 tcp $tgt
as "$CR,$PT"         5 tcp $tgt --data
as "$CR,$PT"         5 tcp $tgt --netns
as "$CR,$NA"         5 tcp $tgt --data
as "$CR,$PT,$NA"     0 tcp $tgt --data
as "$CR,$PT,$NA"     0 tcp $tgt --netns --data
as "+sys_admin"      0 tcp $tgt --netns --data
echo "PASS: every capability set got the answer it must"
