# Shell assertions for VM scenarios. Source it; each failure exits 1
# with a message saying what differed.
fail() { echo "FAIL: $*" >&2; exit 1; }
# workload_verify PID FILE: ask a test workload (mig_workload, mig_tree) to
# check every page it wrote (SIGUSR1; it writes its verdict to FILE) and
# print that verdict, or nothing if none came within 30 s.
workload_verify() {
	local i
	rm -f "$2"
	kill -USR1 "$1" 2>/dev/null || return 0
	for i in $(seq 300); do [ -s "$2" ] && break; sleep 0.1; done
	cat "$2" 2>/dev/null || true
}
# wait_port PORT [SECONDS]: until something listens on TCP PORT here (a
# server just started in the background); fails after SECONDS (default 10).
# live PID [PIDFILE]: 1 if the process runs (exists, not stopped, not a
# zombie) and, with PIDFILE, mig_workload's verification of it passes; else 0
live() {
	local st v
	kill -0 "$1" 2>/dev/null || { echo 0; return; }
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo X)
	case $st in T|t|Z|X) echo 0; return ;; esac
	if [ -n "${2:-}" ]; then
		v=$(workload_verify "$1" "$2.verify")
		case $v in OK*) ;; *) echo "verification of $1: $v" >&2; echo 0; return ;; esac
	fi
	echo 1
}
wait_port() {
	local i
	for i in $(seq $((${2:-10} * 10))); do
		ss -ltn | grep -q ":$1 " && return 0
		sleep 0.1
	done
	fail "nothing listens on port $1 after ${2:-10} s"
}
# drop_session TABLE PORT TAG: drop this host's packets on the newest
# migration connection a receiver on PORT accepted (its "connection from"
# line in $FERRY_OUT/receive.log names the peer's end), in the output
# chain `inet TABLE out` the caller made; that connection only: a source's
# outcome queries come on new ones. TAG names the case in the messages.
drop_session() {
	local ap
	ap=$(sed -n 's/^ferry receive: connection from [0-9.]*:\([0-9]*\):.*/\1/p' \
	     "$FERRY_OUT/receive.log" | tail -n1)
	[ -n "$ap" ] || fail "$3: no connection line in the receiver's log"
	nft add rule inet "$1" out tcp sport "$2" tcp dport "$ap" drop
	echo "$3: dropping this host's packets to the peer's port $ap"
}
# kill_receiver PID: SIGKILL a `ferry receive` server started in the
# background (PID) and its sessions (a process per connection, in the
# server's process group), not a session's restore guard (mig_guard.h: a
# process group of its own); then reap the server. A source that lost its
# session reconnects at once to ask for the outcome: a session forked for
# that between pkill's scan and its kill of the server is caught by the
# second pass. (Not SIGSTOP first: a stopped member of a process group
# that becomes orphaned gets the whole group, this script too, SIGHUP.)
kill_receiver() {
	local g
	g=$(ps -o pgid= -p "$1" | tr -d ' ')
	if [ -n "$g" ]; then
		pkill -e -9 -g "$g" -f "ferry receive" || true
		pkill -e -9 -g "$g" -f "ferry receive" || true
	fi
	kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
# The migration channel is mutual TLS: each guest uses its host's test
# certificate from the build (make user makes build/test-pki).
if [ -z "${FERRY_PKI_DIR:-}" ] && [ -d "$FERRY_SRC/build/test-pki/${FERRY_ROLE:-a}" ]; then
	export FERRY_PKI_DIR=$FERRY_SRC/build/test-pki/${FERRY_ROLE:-a}
fi
assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-values differ}: got '$1', want '$2'"
	echo "ok: ${3:-equal} ($1)"
}
assert_ne() {
	[ "$1" != "$2" ] || fail "${3:-values equal}: both '$1'"
	echo "ok: ${3:-differ}"
}
# assert_rc WANT CMD...: run CMD, require exit status WANT.
assert_rc() {
	local want=$1 rc=0
	shift
	"$@" || rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want"
	echo "ok: '$*' exited $rc"
}
# jq_get JSON DOTTED.PATH: print a value (True/False/None for JSON's
# true/false/null or a missing key, as the scenarios compare them). jq, not
# python3: under TCG a python3 start costs over 2 s, jq's a tenth of that.
jq_get() {
	jq -r --arg p "$2" 'getpath($p | split(".") | map(if test("^[0-9]+$") then tonumber else . end))
		| if . == true then "True" elif . == false then "False" elif . == null then "None" else . end' \
		<<<"$1"
}

# Two-host scripts: the job's shared directory (the same host directory
# over 9p in both guests) carries barriers and small files between roles.
peer_role() { [ "$FERRY_ROLE" = a ] && echo b || echo a; }
# barrier NAME [TIMEOUT]: wait until the other host reached NAME too.
barrier() {
	local name=$1 limit=${2:-120} i=0
	touch "$FERRY_SHARED/barrier.$name.$FERRY_ROLE"
	while [ ! -e "$FERRY_SHARED/barrier.$name.$(peer_role)" ]; do
		[ -e "$FERRY_SHARED/failed.$(peer_role)" ] &&
			fail "barrier $name: the peer ($(peer_role)) failed: $(cat "$FERRY_SHARED/failed.$(peer_role)")"
		i=$((i + 1))
		[ $i -le $((limit * 10)) ] || fail "barrier $name: peer never arrived"
		sleep 0.1
	done
}

# receive_once PORT (role b): a `ferry receive --once` on PORT through the
# barriers "ready" (listening) and "migrated" (a's migrate ended); it must
# exit 0. Its log: $FERRY_OUT/receive.log.
receive_once() {
	local r rc=0
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$1" --once 2>"$FERRY_OUT/receive.log" &
	r=$!
	wait_port "$1"
	barrier ready
	barrier migrated 600
	wait $r || rc=$?
	cat "$FERRY_OUT/receive.log"
	assert_eq "$rc" 0 "ferry receive exit status"
}

# Holding a CRIU restore where a test needs it (two-host scenarios, role b).
# hold_hook NAME: /tmp/NAME-hook.sh, a CRIU action script that holds
# the restore at pre-resume (the tree restored, not yet running) until
# /tmp/NAME-release exists (then CRIU goes on) or CRIU, its parent, is
# gone; 120 s at most
hold_hook() {
	cat >"/tmp/$1-hook.sh" <<HOOK
#!/bin/sh
[ "\$CRTOOLS_SCRIPT_ACTION" = pre-resume ] || exit 0
touch /tmp/$1-held
i=0
while [ \$i -lt 1200 ] && [ ! -e /tmp/$1-release ] && kill -0 "\$PPID" 2>/dev/null; do
	sleep 0.1
	i=\$((i + 1))
done
[ -e /tmp/$1-release ]
HOOK
	chmod +x "/tmp/$1-hook.sh"
	rm -f "/tmp/$1-held" "/tmp/$1-release"
}
# wait_held NAME RECEIVER-PID LOG [LIMIT]: until hold_hook NAME holds a
# restore (LIMIT seconds, default 600)
wait_held() {
	local i
	for i in $(seq $((${4:-600} * 10))); do
		[ -e "/tmp/$1-held" ] && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	cat "$3"
	fail "$1: the restore never reached pre-resume"
}
