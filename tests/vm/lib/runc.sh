# shellcheck shell=bash
# Plain runc containers in the ctr tests (runc-move*.sh), sourced after
# podman.sh (which sets RR, runc's --root on both hosts): runc's state of a
# container, its delete, and a bundle's config.json.
runc_() { runc --root $RR "$@"; }
# runc_status ID: runc's status of ID, or "none"
runc_status() { local s; s=$(runc_ state "$1" 2>/dev/null) && jq -r .status <<<"$s" || echo none; }
# runc_rdelete ID: runc 1.1's delete --force gives up after 10 s, which a
# loaded TCG guest can miss
runc_rdelete() {
	local i
	for i in 1 2 3 4 5 6; do
		runc_ delete --force "$1" && return 0
		[ "$(runc_status "$1")" = none ] && return 0
		sleep 2
	done
	fail "runc delete --force $1 failed 6 times"
}
# runc_config CMD NAME: runc's default spec for the bundle of container
# NAME, running CMD without a terminal, its root writable, a cgroup of its
# own (/ferry-runc-NAME), on standard output
runc_config() {
	mkdir -p "$CTR_DIR/spec"
	rm -f "$CTR_DIR/spec/config.json"
	runc spec --bundle "$CTR_DIR/spec"
	jq --arg c "$1" --arg g "/ferry-runc-$2" \
		'.process.terminal = false | .process.args = ["/bin/sh", "-c", $c]
		 | .root.readonly = false | .linux.cgroupsPath = $g' "$CTR_DIR/spec/config.json"
}
# runc_workload_up FILE: mig_workload (in the container, here) runs and
# has written its pid file; its memory verifies; the verdict goes to FILE
runc_workload_up() {
	local w v i
	for i in $(seq 300); do [ -n "$(wpid)" ] && break; sleep 0.2; done
	w=$(wpid)
	[ -n "$w" ] || fail "mig_workload does not run in the container"
	for i in $(seq 300); do [ -s "/proc/$w/root/tmp/w.pid" ] && break; sleep 0.1; done
	v=$(workload_verify "$w" "/proc/$w/root/tmp/w.pid.verify")
	step "before: $v"
	case $v in OK*) ;; *) fail "verification before: $v" ;; esac
	echo "$v" >"$1"
}
