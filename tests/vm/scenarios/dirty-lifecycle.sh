#!/bin/bash
# dirty-lifecycle: target exit and module unload during scans are safe.
#
#  - target exit mid-scan: targets with 128 MiB populated are SIGKILLed at
#    random moments while clearing whole-space scans run back to back
#    (tests/progs/dirty_stress --mode exit); each scan must succeed or end
#    with ESRCH, nothing else; the kernel log must stay clean (the harness
#    fails the script on any WARNING/BUG/Oops/leak line).
#  - rmmod while a dump is held open (first reply read, rest pending):
#    rmmod must fail with EBUSY (the dump pins the module), then succeed
#    once the dump's socket is closed; insmod again.
#  - rmmod/insmod in a loop while `ferry dirty --clear` scans a 256 MiB
#    target in a loop: every scan exits 0 (done) or 6 (module gone).
#  - afterwards the module still scans correctly (dirty_check round).
set -euo pipefail
. tests/vm/lib/assert.sh
P=$FERRY_PROGS
big= tgt=
lsmod | grep -q '^ferry ' || insmod "$FERRY_KO"

$P/dirty_stress --mib 128 --rounds 25 --mode exit

# A held dump pins the module.
sleep 300 & tgt=$!
cleanup() {
	set +e
	[ -n "$tgt" ] && kill "$tgt" 2>/dev/null
	[ -n "$big" ] && kill "$big" 2>/dev/null
	lsmod | grep -q "^ferry " || insmod "$FERRY_KO"
	return 0
}
trap cleanup EXIT
rm -f "$FERRY_OUT/release"
$P/dirty_nlraw --pid $tgt --hold "$FERRY_OUT/release" >"$FERRY_OUT/hold.log" &
holder=$!
for i in $(seq 50); do grep -q holding "$FERRY_OUT/hold.log" && break; sleep 0.1; done
grep -q holding "$FERRY_OUT/hold.log" || fail "dump did not start"
kill -0 $tgt || fail "target $tgt is gone"
echo "module refcount with a pending dump: $(cat /sys/module/ferry/refcnt)"
rc=0; rmmod ferry 2>"$FERRY_OUT/rmmod.err" || rc=$?
cat "$FERRY_OUT/rmmod.err"
assert_ne "$rc" 0 "rmmod refused while a dump is pending"
grep -qi "in use\|busy" "$FERRY_OUT/rmmod.err" || fail "rmmod failed for another reason"
touch "$FERRY_OUT/release"
wait $holder
rmmod ferry
insmod "$FERRY_KO"

# rmmod/insmod racing with scans.
python3 -c '
import mmap, os, signal
m = mmap.mmap(-1, 256 << 20)
for i in range(0, 256 << 20, 4096): m[i] = 1
signal.pause()' &
big=$!
sleep 3
stop=$FERRY_OUT/stop
rm -f "$stop"
(
	n=0 bad=0
	while [ ! -e "$stop" ]; do
		rc=0; "$FERRY_BIN" dirty $big --clear --backend module >/dev/null 2>"$FERRY_OUT/scan.err" || rc=$?
		case $rc in 0|6) ;; *) bad=$((bad + 1)); cat "$FERRY_OUT/scan.err" ;; esac
		n=$((n + 1))
	done
	echo "$n scans, $bad unexpected exits" >"$FERRY_OUT/scans"
) &
scanner=$!
unloaded=0 busy=0
for i in $(seq 30); do
	if rmmod ferry 2>/dev/null; then
		unloaded=$((unloaded + 1))
		sleep 0.0$((RANDOM % 10))
		insmod "$FERRY_KO"
	else
		busy=$((busy + 1))
	fi
	sleep 0.0$((RANDOM % 10))
done
touch "$stop"
wait $scanner
lsmod | grep -q '^ferry' || insmod "$FERRY_KO"
cat "$FERRY_OUT/scans"
echo "rmmod: $unloaded unloads, $busy refused (busy)"
grep -q ", 0 unexpected" "$FERRY_OUT/scans" || fail "scans failed unexpectedly during rmmod/insmod"
[ $unloaded -gt 0 ] || fail "rmmod never succeeded: the race was not exercised"

$P/dirty_check --mib 16 --rounds 2
