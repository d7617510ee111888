# Podman in a test guest (sourced by container scenarios). The guest's root
# is the build machine's, read-only, and has no systemd: storage, run root
# and network configuration live on tmpfs, cgroups are managed by hand
# (cgroupfs), events go to a file. Debian's crun has no CRIU support, so
# the runtime is runc. See ../shared/notes/containers-facts.md.
CTR_DIR=/run/ferry-ctr
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
}
# ctr_image_build TAR [PROGRAM...]: a tiny root filesystem from the
# machine's static busybox, plus each PROGRAM in /w/ with the shared
# libraries it needs (at their own paths), and /etc/gone (for a container
# to delete), as a tar for `podman import`
ctr_image_build() {
	local r=$CTR_DIR/rootfs a tar=$1 lib
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
	tar -C $r -cf "$tar" .
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
