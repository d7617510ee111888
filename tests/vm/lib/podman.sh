# Podman in a test guest (sourced by container scenarios). The guest's root
# is the build machine's, read-only, and has no systemd: storage, run root
# and network configuration live on tmpfs, cgroups are managed by hand
# (cgroupfs), events go to a file. Debian's crun has no CRIU support, so
# the runtime is runc. See ../shared/notes/containers-facts.md.
CTR_DIR=/run/ferry-ctr
RR=/run/ferry-runc		# runc --root of plain runc containers (runc.sh)
# wpid: the host PID of mig_workload, or nothing (one runs on a host at a
# time). Never fails: `w=$(wpid)` while it is not up yet must not end a
# `set -e` script (pgrep's status through pipefail ended the container
# bench's small case, silently, before its container's workload started).
wpid() { pgrep -x mig_workload | head -1 || true; }
CTR_T0=$(date +%s)
# step TEXT: a progress line with the seconds since the script began
step() { echo "[$(( $(date +%s) - CTR_T0 ))s] $*"; }
ctr_setup() {
	modprobe -qa nft_compat nf_nat xt_MASQUERADE xt_conntrack xt_comment xt_addrtype \
		xt_nat xt_mark xt_multiport veth bridge br_netfilter 2>/dev/null || true
	mkdir -p $CTR_DIR/net /var/tmp/ferry-ctr
	cat >$CTR_DIR/containers.conf <<-C
		[engine]
		runtime = "runc"
		cgroup_manager = "cgroupfs"
		events_logger = "file"
		[network]
		network_config_dir = "$CTR_DIR/net"
	C
	cat >$CTR_DIR/storage.conf <<-C
		[storage]
		driver = "vfs"
		runroot = "$CTR_DIR/runroot"
		graphroot = "/var/tmp/ferry-ctr/root"
	C
	export CONTAINERS_CONF=$CTR_DIR/containers.conf
	export CONTAINERS_STORAGE_CONF=$CTR_DIR/storage.conf
	# an earlier script of this boot that failed may have left its
	# containers (a failed migration resumes the source's): they go, so
	# that wpid finds this script's workload, not theirs
	if [ -n "$(podman ps -aq 2>/dev/null)" ]; then
		echo "removing containers an earlier script left: $(podman ps -a --format '{{.Names}}' | paste -sd' ')"
		podman rm -af -t 0 >/dev/null 2>&1 || true
	fi
	local id
	for id in $(runc --root "$RR" list -q 2>/dev/null); do
		echo "removing runc container $id an earlier script left"
		runc --root "$RR" delete --force "$id" >/dev/null 2>&1 || true
	done
	ctr_no_workload
}
# ctr_no_workload: no mig_workload runs here (one of an earlier script
# would be taken for this script's)
ctr_no_workload() {
	[ -z "$(wpid)" ] || fail "a mig_workload of an earlier script still runs here: $(ps -o pid,args -p "$(wpid)" | tail -n1)"
}
# ctr_image_build TAR [PROGRAM...]: ctr_rootfs_build's root filesystem as
# a tar for `podman import`
ctr_image_build() {
	local tar=$1
	shift
	ctr_rootfs_build $CTR_DIR/rootfs "$@"
	tar -C $CTR_DIR/rootfs -cf "$tar" .
}
# ctr_rootfs_build DIR [PROGRAM...]: a tiny root filesystem in DIR from the
# machine's static busybox, plus each PROGRAM in /w/ with the shared
# libraries it needs (at their own paths), and /etc/gone (for a container
# to delete)
ctr_rootfs_build() {
	local r=$1 a lib
	shift
	mkdir -p $r/bin $r/tmp $r/etc $r/w
	cp /bin/busybox $r/bin/busybox
	for a in sh sleep cat echo ls nc seq rm; do ln -sf busybox "$r/bin/$a"; done
	echo "in the image" >$r/etc/gone
	for a in "$@"; do
		cp "$a" $r/w/
		for lib in $(ldd "$a" | grep -o '/[^ ]*'); do
			mkdir -p "$r$(dirname "$lib")"
			cp -L "$lib" "$r$lib"
		done
	done
}
# ctr_migrate NAME PORT MAX_ROUNDS (role a of a two-host script): `ferry
# migrate --container NAME --json` to the peer, its log and report
# printed, the "migrated" barrier passed; then it must have exited 0 and
# left no container here. The report is in $FERRY_OUT/report.json.
ctr_migrate() {
	local rc=0
	"$FERRY_BIN" migrate --container "$1" --to "$FERRY_PEER_IP:$2" --max-rounds "$3" --json \
		>"$FERRY_OUT/report.json" 2>"$FERRY_OUT/migrate.log" || rc=$?
	cat "$FERRY_OUT/migrate.log" "$FERRY_OUT/report.json"
	echo "migrated (exit $rc)"
	barrier migrated 900
	assert_eq "$rc" 0 "ferry migrate --container exit status"
	[ -z "$(podman ps -aq)" ] || fail "a container is left on a: $(podman ps -a)"
}
# ctr_image_share REF [PROGRAM...] (role a): the test image REF built
# (ctr_image_build), imported here and saved to the job's shared
# $FERRY_SHARED/image.tar for b's `podman load`
ctr_image_share() {
	local ref=$1
	shift
	step "image"
	ctr_image_build $CTR_DIR/rootfs.tar "$@"
	podman import -q $CTR_DIR/rootfs.tar "$ref" >/dev/null
	podman save -q -o "$FERRY_SHARED/image.tar" "$ref"
}
# ctr_migrate_refused NAME PORT WHAT PATTERN (role a): `ferry migrate
# --container NAME` to the peer's PORT must be refused before the freeze
# (exit status 3) with a message matching PATTERN
ctr_migrate_refused() {
	local rc=0
	step "migrate to a host $3"
	"$FERRY_BIN" migrate --container "$1" --to "$FERRY_PEER_IP:$2" \
		2>"$FERRY_OUT/refused.log" || rc=$?
	cat "$FERRY_OUT/refused.log"
	assert_eq "$rc" 3 "ferry migrate --container to a host $3: exit status"
	grep -q "$4" "$FERRY_OUT/refused.log" || fail "the refusal does not say '$4'"
}
# ctr_read_count CMD...: the number CMD prints, read again while it prints
# none: the container rewrites its count file with `echo N >FILE`, which
# truncates it first, so a read can find it empty (a 6.1 runc-move did)
ctr_read_count() {
	local v= i
	for i in $(seq 20); do
		v=$("$@" 2>/dev/null) || v=
		case $v in ''|*[!0-9]*) sleep 0.1 ;; *) echo "$v"; return 0 ;; esac
	done
	echo "no number from $*: '$v'"
}
# ctr_counting NAME FILE WHAT: the counter the container's shell writes to
# FILE (inside it) advances within a second
ctr_counting() {
	local n1 n2
	n1=$(ctr_read_count podman exec "$1" cat "$2")
	sleep 1
	n2=$(ctr_read_count podman exec "$1" cat "$2")
	[ "$n2" -gt "$n1" ] || fail "$3: the container does not count ($n1 -> $n2)"
	echo "$3: $2 counts ($n1 -> $n2)"
}
# ctr_receive_refused PORT WHY (role b): a `ferry receive --once` on PORT
# across a's ctr_migrate_refused (barriers refuse-ready, refused): it must
# fail, because WHY, and leave no container here
ctr_receive_refused() {
	local rc=0 r
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$1" --once --dir /var/tmp \
		2>"$FERRY_OUT/receive-refused.log" &
	r=$!
	wait_port "$1" 30
	barrier refuse-ready 900
	barrier refused 900
	wait $r || rc=$?
	cat "$FERRY_OUT/receive-refused.log"
	[ "$rc" != 0 ] || fail "the receiver $2 reported success"
	[ -z "$(podman ps -aq)" ] || fail "the refused migration left a container on b"
}
# ctr_lazy_check LOG MIN (role b, after a ferry receive whose log is LOG):
# the restore left at least MIN pre-copied pages to ferry's lazy-pages
# server, and the server had every page in place before receive exited.
ctr_lazy_check() {
	local n
	n=$(sed -n 's/.*lazy restore: \([0-9]*\) pages left to the lazy-pages server.*/\1/p' "$1" | tail -n1)
	echo "pages left to the lazy-pages server: ${n:-none}"
	[ "${n:-0}" -ge "$2" ] || fail "the restore was not lazy (${n:-no} pages left to the server, want >= $2)"
	grep -q "lazy pages: all in place" "$1" || fail "the lazy-pages server did not report every page in place"
}

# ctr_mid_restore: has the restore's first process appeared here? In the
# cgroup $CTR_RESTORE_CG when set (CRIU puts its tasks there as it forks
# them, before their memory), else a mig_workload by name (which CRIU
# gives a task only at the end of its restore: later than runc's
# restore needs, in time for Podman's, which goes on for seconds after).
ctr_mid_restore() {
	local x=
	if [ -n "${CTR_RESTORE_CG:-}" ]; then
		read -r x <"$CTR_RESTORE_CG/cgroup.procs" 2>/dev/null || true
		[ -n "$x" ]
	else
		[ -n "$(wpid)" ]
	fi
}

# ctr_kill_mid_restore RPID LOG PORT LOG2 [ARG...] (role b): once a restored
# process exists here (ctr_mid_restore), kill the receiver RPID (its log LOG;
# SIGKILL, server and session) and restart it at once on PORT with ARGs,
# logging to LOG2, as a service manager would. Its restore guard must
# have acted, with the restore unfinished (else the test missed its
# window). The restarted receiver's PID goes to CTR_R2 (ctr_restarted_said
# ends it).
ctr_kill_mid_restore() {
	local r=$1 log=$2 port=$3 log2=$4 i
	shift 4
	for i in $(seq 30000); do
		ctr_mid_restore && break
		kill -0 "$r" 2>/dev/null || break
		sleep 0.03
	done
	ctr_mid_restore || { cat "$log"; fail "no restored process appeared on b"; }
	ps -eo pid,ppid,pgid,stat,args | grep -E '[f]erry|[c]onmon|[r]unc|[c]riu|[m]ig_workload'
	kill_receiver "$r"
	step "receiver killed with the restore in progress"
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$port" --dir /var/tmp "$@" 2>"$log2" &
	CTR_R2=$!
	for i in $(seq 3000); do grep -q "restored tree was killed" "$log" && break; sleep 0.1; done
	cat "$log"
	grep -q "restored tree was killed" "$log" || fail "the guard did not act"
	grep -q "restored in\|migration done" "$log" &&
		fail "the restore finished before the receiver was killed: the test missed its window"
	return 0
}

# ctr_restarted_said LOG2 (role b, after the source asked): the receiver
# ctr_kill_mid_restore restarted answered the source's outcome query from
# its record: "not restored". It is ended.
ctr_restarted_said() {
	kill "$CTR_R2"; wait "$CTR_R2" || true
	cat "$1"
	grep -q "outcome query .* answered not restored" "$1" ||
		fail "the restarted receiver did not answer 'not restored'"
}

# ctr_receive PORT (role b): a `ferry receive --once` on PORT across a's
# ctr_migrate (barriers ready, migrated): it must exit 0, and the
# container c1 runs here
ctr_receive() {
	local rc=0 r
	"$FERRY_BIN" receive --listen "$FERRY_MY_IP:$1" --once --dir /var/tmp --phase-timeout 900 \
		2>"$FERRY_OUT/receive.log" &
	r=$!
	wait_port "$1" 30
	barrier ready 900
	barrier migrated 900
	wait $r || rc=$?
	cat "$FERRY_OUT/receive.log"
	assert_eq "$rc" 0 "ferry receive --once exit status"
	assert_eq "$(podman inspect --format '{{.State.Status}}' c1)" running "state on b"
}
# ctr_workload_goes_on FILE: here, mig_workload's memory verifies and its
# writes went on past those of the verdict in FILE (ctr_run_workload's or
# runc_workload_up's): no page lost or stale, none older than FILE's; the
# verdict in CTR_V
ctr_workload_goes_on() {
	local w before after
	w=$(wpid)
	[ -n "$w" ] || fail "mig_workload does not run on $FERRY_ROLE"
	CTR_V=$(workload_verify "$w" "/proc/$w/root/tmp/w.pid.verify")
	step "memory on $FERRY_ROLE: $CTR_V"
	case $CTR_V in OK*) ;; *) fail "verification on $FERRY_ROLE: $CTR_V" ;; esac
	before=$(sed -n 's/.*writes=\([0-9]*\).*/\1/p' "$1")
	after=$(echo "$CTR_V" | sed -n 's/.*writes=\([0-9]*\).*/\1/p')
	[ "${after:-0}" -gt "${before:-0}" ] ||
		fail "memory on $FERRY_ROLE older than $(basename "$1"): writes $before -> $after"
}
# ctr_run_workload NAME (role a, after ctr_image_share of mig_workload): a
# container NAME whose shell writes /tmp/mark, deletes /etc/gone, starts
# mig_workload (32 MiB, a hot window of 256 pages) and counts into
# /tmp/count; once the workload verifies, its verdict is in
# $FERRY_SHARED/verify.before and its host PID in CTR_W
ctr_run_workload() {
	local i v
	step "run"
	podman run -d -q --name "$1" --network bridge localhost/ferry-w:1 /bin/sh -c \
		'echo before >/tmp/mark; rm /etc/gone; /w/mig_workload 32 256 /tmp/w.pid &
		 i=0; while :; do i=$((i+1)); echo $i >/tmp/count; sleep 0.2; done' >/dev/null
	for i in $(seq 300); do [ -n "$(pgrep -x mig_workload)" ] && break; sleep 0.2; done
	CTR_W=$(pgrep -x mig_workload | head -1)
	[ -n "$CTR_W" ] || fail "mig_workload does not run in the container"
	for i in $(seq 300); do [ -s "/proc/$CTR_W/root/tmp/w.pid" ] && break; sleep 0.1; done
	v=$(workload_verify "$CTR_W" "/proc/$CTR_W/root/tmp/w.pid.verify")
	step "before: $v"
	case $v in OK*) ;; *) fail "verification before: $v" ;; esac
	echo "$v" >"$FERRY_SHARED/verify.before"
}
