#!/bin/bash
# bench/tcp: collecting the TCP repair state of 10 000 established
# connections (20 000 sockets, unread bytes queued both ways) -- ferry.ko's
# TCP_DUMP (one netlink dump with queue data, parsed in userspace; in the
# packed encoding the library uses, and in the attribute encoding) against
# the per-socket userspace method CRIU uses (TCP_REPAIR on, TCP_QUEUE_SEQ of
# both queues, TCP_REPAIR_WINDOW, peek both queues, repair off), measured
# alternately in the same run (median of ROUNDS). Both must report the same
# sequence numbers, windows and queue sizes for every socket. Target: the
# module >= 20x faster. Writes $FERRY_OUT/result.json.
set -euo pipefail
N=${TCP_BENCH_CONNECTIONS:-10000}
ROUNDS=${TCP_BENCH_ROUNDS:-5}
out=${FERRY_OUT:-/tmp}
sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
sysctl -qw fs.nr_open=1048576
echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo '?')"
json=$("$FERRY_PROGS/tcp_bench" "$N" "$ROUNDS")
echo "$json" >"$out/raw.json"
python3 - "$json" "$out/result.json" "${FERRY_KVER:-$(uname -r)}" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
r["kernel"] = sys.argv[3]
r["benchmark"] = "tcp"
r["target_ratio"] = 20
r["target_met"] = r["ratio"] >= 20
json.dump(r, open(sys.argv[2], "w"), indent=1)
print(f"TCP state of {r['connections']} connections ({r['sockets']} sockets), "
      f"kernel {r['kernel']}, median of {r['rounds']} rounds")
print(f"{'method':<40}{'time (ms)':>12}{'per socket (us)':>18}{'speed-up':>10}")
for name, key in (("ferry.ko TCP_DUMP packed (+ parse)", "module_ms"),
                  ("ferry.ko TCP_DUMP attributes (+ parse)", "module_attr_ms"),
                  ("per-socket TCP_REPAIR (brief's set)", "userspace_ms"),
                  ("per-socket, all libsoccr_save calls", "criu_full_ms")):
    print(f"{name:<40}{r[key]:>12.1f}{r[key] * 1000 / r['sockets']:>18.2f}"
          f"{r['userspace_ms'] / r[key]:>9.2f}x")
print("where the packed dump's time goes:")
for name, key in (("  received, not parsed", "module_unparsed_ms"),
                  ("  (attributes: received, not parsed)", "module_attr_unparsed_ms"),
                  ("  packed without queue data, parsed", "module_nodata_ms"),
                  ("  parsing alone (captured packed dump)", "parse_only_ms"),
                  ("  packed, first round (fresh memory)", "module_first_ms")):
    print(f"{name:<40}{r[key]:>12.1f}{r[key] * 1000 / r['sockets']:>18.2f}")
print(f"speed-up vs libsoccr_save sequence: {r['ratio_criu_full']:.2f}x")
print(f"speed-up: {r['ratio']:.2f}x packed, {r['ratio_attr']:.2f}x attributes "
      f"(target >= 20x: {'met' if r['target_met'] else 'MISSED'}); "
      f"{r['messages']} netlink messages ({r['messages_attr']} attributes), "
      f"{r['data_bytes']} queue bytes; mismatches: {r['mismatches']} packed, "
      f"{r['mismatches_attr']} attributes")
PY
