#!/bin/bash
# ferry-vm: hosts=2
# ferry-move-volumes: a container with a named volume and a bind mount of
# storage both hosts share moves with `ferry migrate --container`. The
# named volume is pre-copied while the container runs, and only what
# changed goes again while it is frozen. What must be unchanged:
# - the named volume, as it was at the freeze: tests/progs/vol_churn keeps
#   rewriting and deleting 64 files in it (about 50 steps a second) and
#   remembers in its memory what each must hold; on b, asked by SIGUSR1,
#   it finds every file as it last wrote it and every deleted one absent
#   (memory and volume from the same instant). A negative control then
#   deletes one of its files behind its back: it must say BAD;
# - the volume's other content: a 32 MiB file, a link, a directory, owners
#   and modes, byte for byte and attribute for attribute (a manifest on a
#   before the run against one on b);
# - the bind mount: the same host path, shared, still mounted and written;
# - vol1 mounted a second time (read-only at /data2): one volume, copied
#   once, and both mounts show it on b;
# - the report: vol1 pre-copied with the 32 MiB before the freeze, and
#   less than a quarter of that while frozen; the bind mount left in place.
# First, b already has a volume of that name: ferry must refuse before any
# freeze (exit status 3, the volume named), and the container goes on
# running on a.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/podman.sh"
ctr_setup
S=$FERRY_SHARED
PORT=7980 PORT_REFUSE=7981
BULK=32

# manifest DIR: every entry but the root and what the container writes
# (d/, count, mark, verify.out), with
# type, mode, owner, size, mtime, link target and content hash
manifest() {
	(cd "$1" && find . -mindepth 1 \( -path ./d -o -path ./count -o -path ./mark -o \
		-path ./verify.out \) -prune -o -printf '%y %m %U:%G %s %T@ %p %l\n' | sort &&
		find . -mindepth 1 \( -path ./d -o -path ./count -o -path ./mark -o \
		-path ./verify.out \) -prune -o -type f -print0 | sort -z | xargs -0 sha256sum)
}
# count_of FILE: the counter the container rewrites there (its shell's
# `echo >` truncates first: an empty read is retried)
count_of() {
	local v i
	for i in $(seq 50); do
		v=$(cat "$1" 2>/dev/null || true)
		[ -n "$v" ] && { echo "$v"; return; }
		sleep 0.1
	done
	fail "$1 stays empty"
}
# churn_verdict DIR PID: SIGUSR1 to vol_churn, its verdict from DIR
churn_verdict() {
	local i
	rm -f "$1/verify.out"
	kill -USR1 "$2"
	for i in $(seq 300); do [ -s "$1/verify.out" ] && break; sleep 0.2; done
	cat "$1/verify.out" 2>/dev/null || echo "no verdict"
}

if [ "$FERRY_ROLE" = a ]; then
	ctr_image_share localhost/ferry-v:1 "$FERRY_PROGS/vol_churn"
	mkdir -p "$S/bind"
	echo "shared before" >"$S/bind/f"
	barrier image 600
	step "volume"
	podman volume create vol1 >/dev/null
	V=$(podman volume inspect --format '{{.Mountpoint}}' vol1)
	head -c $((BULK << 20)) /dev/urandom >"$V/bulk"
	mkdir -p "$V/tree/sub"
	for i in $(seq 20); do echo "small $i" >"$V/tree/sub/s$i"; done
	ln -s ../bulk "$V/tree/link"
	echo secret >"$V/tree/private"
	chown 1234:4321 "$V/tree/private"
	chmod 0600 "$V/tree/private"
	chmod 0750 "$V/tree"
	manifest "$V" >"$S/manifest.a"
	step "run"
	podman run -d -q --name c1 --network bridge -v vol1:/data -v vol1:/data2:ro \
		-v "$S/bind:/bind" \
		localhost/ferry-v:1 /bin/sh -c \
		'echo written-on-a >/data/mark; /w/vol_churn /data &
		 i=0; while :; do i=$((i+1)); echo $i >/data/count; echo $i >/bind/count; sleep 0.2; done' \
		>/dev/null
	for i in $(seq 300); do [ -s "$S/bind/count" ] && [ -n "$(pgrep -x vol_churn)" ] && break; sleep 0.2; done
	[ -s "$S/bind/count" ] || fail "the container does not write into its bind mount"
	W=$(pgrep -x vol_churn | head -1)
	[ -n "$W" ] || fail "vol_churn does not run in the container"
	v=$(churn_verdict "$V" "$W")
	step "vol_churn before: $v"
	case $v in OK*) ;; *) fail "vol_churn's check on a, before: $v" ;; esac
	barrier refuse-ready 900
	ctr_migrate_refused c1 $PORT_REFUSE "that has a volume named vol1" "a volume named vol1 exists"
	ctr_counting c1 /data/count "after the refusal"
	barrier refused 900
	barrier ready 900
	podman exec c1 cat /data/count >"$S/count.before"
	step "migrate (volume count $(cat "$S/count.before"))"
	ctr_migrate c1 $PORT 3
	grep -q "volume vol1 at /data: pre-copied" "$FERRY_OUT/migrate.log" ||
		fail "the progress does not say how vol1 moved"
	grep -q "volume vol1 is mounted at /data and at /data2: copied once" \
		"$FERRY_OUT/migrate.log" || fail "the progress does not say vol1 is copied once"
	grep -q "/bind at /bind: left in place" "$FERRY_OUT/migrate.log" ||
		fail "the progress does not say how the bind mount moved"
	vols=$(jq -r '.container.volumes[] | "\(.type) \(.source) \(.destination) \(.handling)"' \
		"$FERRY_OUT/report.json" | sort)
	echo "report's volumes:"; echo "$vols"
	assert_eq "$(echo "$vols" | wc -l)" 2 "report: number of volumes"
	echo "$vols" | grep -qx "volume vol1 /data pre-copied" ||
		fail "report: vol1 not listed as pre-copied"
	echo "$vols" | grep -qx "bind /.*/bind /bind left-in-place" ||
		fail "report: the bind mount not listed as left in place"
	pre=$(jq '.container.volumes[] | select(.source == "vol1") | .precopy_bytes' "$FERRY_OUT/report.json")
	fin=$(jq '.container.volumes[] | select(.source == "vol1") | .final_bytes' "$FERRY_OUT/report.json")
	gone=$(jq '.container.volumes[] | select(.source == "vol1") | .final_deleted' "$FERRY_OUT/report.json")
	step "vol1: $pre bytes before the freeze, $fin while frozen, $gone entries deleted"
	[ "$pre" -ge $((BULK << 20)) ] || fail "the pre-copy sent $pre bytes, not the $BULK MiB file"
	[ "$fin" -lt $((BULK << 18)) ] ||
		fail "$fin bytes went while frozen: the $BULK MiB file went again"
	barrier checked 900
	exit 0
fi

barrier image 600
podman load -q -i "$S/image.tar" >/dev/null
podman volume create vol1 >/dev/null	# the name is taken here
ctr_receive_refused $PORT_REFUSE "with a volume named vol1"
podman volume rm -f vol1 >/dev/null
ctr_receive $PORT
podman volume exists vol1 || fail "volume vol1 does not exist on b"
V=$(podman volume inspect --format '{{.Mountpoint}}' vol1)
W=$(pgrep -x vol_churn | head -1)
[ -n "$W" ] || fail "vol_churn does not run in the container on b"
v=$(churn_verdict "$V" "$W")
step "vol_churn on b: $v"
case $v in OK*) ;; *) fail "the volume on b is not as the container left it on a: $v" ;; esac
manifest "$V" >"$FERRY_OUT/manifest.b"
diff -u "$S/manifest.a" "$FERRY_OUT/manifest.b" || fail "the volume's static content differs on b"
assert_eq "$(podman exec c1 cat /data/mark)" written-on-a "the volume's file written on a"
assert_eq "$(podman exec c1 cat /data2/mark)" written-on-a "the same file through its second mount"
before=$(cat "$S/count.before")
c1=$(podman exec c1 cat /data/count)
[ "$c1" -ge "$before" ] || fail "the volume went back: $before before the migration, $c1 on b"
ctr_counting c1 /data/count "its volume on b"
b1=$(count_of "$S/bind/count")
sleep 1
b2=$(count_of "$S/bind/count")
[ "$b2" -gt "$b1" ] || fail "the container does not write into the shared bind mount on b"
assert_eq "$(podman exec c1 cat /bind/f)" "shared before" "the bind mount's file"
# negative control: one of vol_churn's files gone behind its back. It is
# asked while paused, so it checks before its next step; only the step a
# pause may have cut (1 file in 64) could write that file again first.
# The victim is picked once it is paused: picked before, vol_churn deleted
# it first once (a 6.12 run: rm: cannot remove .../d/f0).
podman pause c1 >/dev/null
victim=$(cd "$V/d" && ls | grep -m1 '^f[0-9]*$')
rm "$V/d/$victim" "$V/verify.out"
kill -USR1 "$W"
podman unpause c1 >/dev/null
for i in $(seq 300); do [ -s "$V/verify.out" ] && break; sleep 0.2; done
v=$(cat "$V/verify.out" 2>/dev/null || echo "no verdict")
step "vol_churn after $victim was deleted behind its back: $v"
case $v in BAD*) ;; *) fail "the negative control: vol_churn's check missed a deleted file: $v" ;; esac
step "ok: volume count $before before, $c1 on b; bind count $b1 -> $b2"
barrier checked 900
podman rm -f -t 0 c1 >/dev/null
