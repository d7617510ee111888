#!/bin/bash
# ferry-vm: hosts=2
# bench/postcopy (issue 14): a 1 GiB process rewriting a hot set without
# pause (16 MiB, then 128 MiB; compressible content), moved a -> b four
# ways in the same run, each hot-set size:
#  - ferry pre-copy:  ferry migrate --postcopy=never (the hot set goes
#                     in the frozen final dump);
#  - ferry post-copy: ferry migrate --postcopy=always (the final dump's
#                     pages stay on a; b fetches them on fault, a pushes);
#  - CRIU pre-copy:   criu pre-dump, stream; criu dump --prev-images-dir,
#                     stream, criu restore;
#  - CRIU post-copy:  criu dump --lazy-pages (a serves the pages), its
#                     images streamed, criu lazy-pages --page-server and
#                     criu restore --lazy-pages on b.
# Downtime: from the freezing step to the tree running on b; total: from
# the start to the last page on b (for ferry, the report's figures; for
# CRIU, a's clock: the restore acknowledged, and `criu dump --lazy-pages`
# exiting once b has every page). Every process verifies its memory on b.
# The link's speed is measured first (one raw TCP stream, 256 MiB): "one
# copy" is 1 GiB at that speed. The workload's throughput (page rewrites
# per second, sampled from its counter every 250 ms) before the migration
# on a and, on b, from the restore to the last page: reported as a ratio.
# Targets (issue 14): ferry post-copy downtime <= 0.1x CRIU pre-copy and
# <= 0.5x CRIU post-copy at both sizes; ferry post-copy total <= 1.5x one
# copy. Result: $FERRY_OUT/result.json (role a).
#   FERRY_BENCH_PC_MIB (default 1024), FERRY_BENCH_PC_HOTS (pages, default
#   "4096 32768"), FERRY_BENCH_PC_METHODS (default all four)
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/bench/lib.inc"
MIB=${FERRY_BENCH_PC_MIB:-1024}
HOTS=${FERRY_BENCH_PC_HOTS:-4096 32768}
METHODS=${FERRY_BENCH_PC_METHODS:-ferry-pre ferry-pc criu-pre criu-pc}
W=$FERRY_PROGS/mig_workload
PORT_F=7940 PORT_X=7941 PORT_PS=7942

# b: the restored process's write counter every 250 ms, "ms writes" lines,
# from when it runs here until END exists (+3 s)
sample_b() {	# PID OUT END
	local t_end=
	: >"$2"
	for i in $(seq 24000); do
		if kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' /proc/$1/stat 2>/dev/null)" != T ]; then
			rm -f /tmp/w.pid.count
			kill -USR2 "$1" 2>/dev/null || true
			for k in $(seq 40); do [ -s /tmp/w.pid.count ] && break; sleep 0.025; done
			[ -s /tmp/w.pid.count ] && echo "$(now_ms) $(cat /tmp/w.pid.count)" >>"$2"
		fi
		if [ -z "$t_end" ] && [ -e "$3" ]; then t_end=$(now_ms); echo "end $t_end" >>"$2"; fi
		[ -n "$t_end" ] && [ $(( $(now_ms) - t_end )) -ge 3000 ] && break
		sleep 0.2
	done
}

if [ "$FERRY_ROLE" = b ]; then
	xfer_server &
	wait_port "$PORT_X"
	barrier xfer-ready 600
	barrier link-done 600
	for hot in $HOTS; do
		for m in $METHODS; do
			rpid=
			rm -f /tmp/lp-done /tmp/b-end
			case $m in
			ferry-*) "$FERRY_BIN" receive --listen "$FERRY_MY_IP:$PORT_F" --once \
					--dir /var/tmp 2>"$FERRY_OUT/receive-$m-$hot.log" &
				rpid=$!
				wait_port "$PORT_F" ;;
			esac
			barrier "$hot-$m-go" 600
			pid=$(cat "$FERRY_SHARED/pid")
			end=/tmp/b-end
			[ "$m" = criu-pc ] && end=/tmp/lp-done
			sample_b "$pid" "$FERRY_SHARED/samples-$m-$hot" "$end" &
			spid=$!
			if [ -n "$rpid" ]; then
				wait "$rpid" || { cat "$FERRY_OUT/receive-$m-$hot.log"; fail "$m: ferry receive failed"; }
				touch /tmp/b-end
			fi
			barrier "$hot-$m-done" 3600
			[ "$m" = criu-pre ] && touch /tmp/b-end
			if [ "$m" = criu-pc ]; then
				for i in $(seq 6000); do [ -e /tmp/lp-done ] && break; sleep 0.1; done
				[ "$(cat /tmp/lp-done 2>/dev/null)" = 0 ] || fail "criu lazy-pages failed: $(tail -5 /tmp/cpc/lazy.log 2>/dev/null)"
			fi
			wait "$spid"
			verify_on_b "$hot $m"
			rm -rf /tmp/pc /tmp/cpc
			barrier "$hot-$m-checked"
		done
	done
	exit 0
fi

# a
echo 31000 >/proc/sys/kernel/ns_last_pid
cd /
criu check >/dev/null 2>&1 || true
out=${FERRY_OUT:-/tmp}

# the link: 256 MiB on one raw TCP stream
barrier xfer-ready 600
t0=$(now_ms)
ans=$(python3 - "$FERRY_PEER_IP" "$PORT_X" <<'PY'
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
c.sendall(b"- 3\n")
buf = bytes(range(256)) * 4096
for i in range(256):
    c.sendall(buf)
c.shutdown(socket.SHUT_WR)
print(c.makefile().readline().strip())
PY
)
link_ms=$(( $(now_ms) - t0 ))
[ "$ans" = "ok 268435456" ] || fail "link test: b answered '$ans'"
echo "link: 256 MiB in $link_ms ms ($(( 256 * 1000 / (link_ms > 0 ? link_ms : 1) )) MiB/s)"
barrier link-done

start_workload() {	# HOT -> PID; its throughput on a sampled for 2 s
	local w0 w1 t0 t1
	rm -f /tmp/w.pid /tmp/w.pid.verify /tmp/w.pid.count
	setsid "$W" "$MIB" "$1" /tmp/w.pid z </dev/null >/dev/null 2>&1 &
	for i in $(seq 1200); do [ -s /tmp/w.pid ] && break; sleep 0.1; done
	cat /tmp/w.pid >"$FERRY_SHARED/pid"
	sleep 3
	t0=$(now_ms); w0=$(workload_writes /tmp/w.pid); sleep 2
	t1=$(now_ms); w1=$(workload_writes /tmp/w.pid)
	echo "$(( (w1 - w0) * 1000 / (t1 - t0) ))" >/tmp/rate-before
	cat /tmp/w.pid
}

for hot in $HOTS; do
	for m in $METHODS; do
		pid=$(start_workload "$hot")	# (b reads its PID after go)
		rate=$(cat /tmp/rate-before)
		barrier "$hot-$m-go" 600
		case $m in
		ferry-pre|ferry-pc)
			pc=never; [ "$m" = ferry-pc ] && pc=always
			"$FERRY_BIN" migrate "$pid" --to "$FERRY_PEER_IP:$PORT_F" --max-downtime 100 \
				--postcopy=$pc --json >"$out/$m-$hot.json" 2>"$out/$m-$hot.log" ||
				{ cat "$out/$m-$hot.log"; fail "ferry migrate ($m, hot $hot) failed"; }
			tail -n 4 "$out/$m-$hot.log"
			python3 - "$out/$m-$hot.json" "$rate" >"$out/$m-$hot.txt" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
print(f["downtime_ms"], f["total_ms"], f["bytes_on_wire"], sys.argv[2])
PY
			;;
		criu-pre)
			t0=$(now_ms)
			mkdir -p /tmp/pc/1 /tmp/pc/2
			criu pre-dump -t "$pid" -D /tmp/pc/1 --track-mem -o /tmp/pc-1.log
			ans=$(xfer /tmp/pc/1 0)
			[ "$ans" = ok ] || fail "CRIU pre-dump transfer failed"
			t1=$(now_ms)
			criu dump -t "$pid" -D /tmp/pc/2 --track-mem --prev-images-dir ../1 -o /tmp/pc-2.log
			ans=$(xfer /tmp/pc/2 1)
			t2=$(now_ms)
			[ "$ans" = ok ] || fail "CRIU pre-copy restore on b failed"
			echo "$((t2 - t1)) $((t2 - t0)) $(( $(du -sb /tmp/pc/1 | cut -f1) + $(du -sb /tmp/pc/2 | cut -f1) )) $rate" \
				>"$out/$m-$hot.txt"
			rm -rf /tmp/pc ;;
		criu-pc)
			rm -rf /tmp/cpc; mkdir -p /tmp/cpc
			t0=$(now_ms)
			criu dump -t "$pid" -D /tmp/cpc --lazy-pages --address "$FERRY_MY_IP" \
				--port "$PORT_PS" -o /tmp/cpc-dump.log &
			dpid=$!
			# the images are written once its page server listens
			hexport=$(printf '%04X' "$PORT_PS")
			for i in $(seq 6000); do
				awk -v p=":$hexport" '$2 ~ p"$" && $4 == "0A" {f=1} END {exit !f}' /proc/net/tcp && break
				kill -0 "$dpid" 2>/dev/null || fail "criu dump --lazy-pages ended early: $(tail -5 /tmp/cpc-dump.log)"
				sleep 0.05
			done
			ans=$(xfer /tmp/cpc 2 "$FERRY_MY_IP" "$PORT_PS")
			t1=$(now_ms)
			[ "$ans" = ok ] || fail "CRIU post-copy restore on b failed"
			wait "$dpid" || fail "criu dump --lazy-pages failed: $(tail -5 /tmp/cpc-dump.log)"
			t2=$(now_ms)
			echo "$((t1 - t0)) $((t2 - t0)) $(du -sb /tmp/cpc | cut -f1) $rate" >"$out/$m-$hot.txt"
			rm -rf /tmp/cpc ;;
		esac
		barrier "$hot-$m-done"
		barrier "$hot-$m-checked" 3600
	done
done
python3 -c 'import socket,sys; c=socket.create_connection((sys.argv[1], int(sys.argv[2]))); c.sendall(b"quit 0\n")' "$FERRY_PEER_IP" "$PORT_X" 2>/dev/null || true

python3 - "$out" "$FERRY_SHARED" "$MIB" "$link_ms" "$HOTS" "$METHODS" <<'PY'
import json, os, sys
out, shared, mib, link_ms = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
hots, methods = sys.argv[5].split(), sys.argv[6].split()
one_copy_ms = mib / 256.0 * link_ms
def rate_on_b(m, hot):
    # page rewrites per second on b, from its first sample to the end of
    # the transfer (the last page there)
    p = "%s/samples-%s-%s" % (shared, m, hot)
    if not os.path.exists(p):
        return None
    s, end = [], None
    for l in open(p):
        a = l.split()
        if a[0] == "end": end = int(a[1])
        else: s.append((int(a[0]), int(a[1])))
    w = [x for x in s if end is None or x[0] <= end]
    if len(w) < 2 or w[-1][0] == w[0][0]:
        return None
    return (w[-1][1] - w[0][1]) * 1000.0 / (w[-1][0] - w[0][0])
res = {"mib": mib, "link_ms_per_256mib": link_ms, "one_copy_ms": round(one_copy_ms),
       "kernel": open("/proc/sys/kernel/osrelease").read().strip(), "hot_sets": []}
names = {"ferry-pre": "ferry pre-copy", "ferry-pc": "ferry post-copy",
         "criu-pre": "CRIU pre-copy", "criu-pc": "CRIU post-copy"}
for hot in hots:
    h = {"hot_mib": int(hot) // 256}
    print("\n%d MiB process, %d MiB hot set rewritten without pause (kernel %s); one copy at the link's speed: %d ms"
          % (mib, int(hot) // 256, res["kernel"], one_copy_ms))
    print("%-16s %12s %10s %14s %18s" % ("method", "downtime ms", "total ms", "bytes", "throughput b/a"))
    for m in methods:
        d, t, b, before = map(int, open("%s/%s-%s.txt" % (out, m, hot)).read().split())
        rb = rate_on_b(m, hot)
        e = {"downtime_ms": d, "total_ms": t, "bytes": b, "rewrites_per_s_before": before,
             "rewrites_per_s_on_b_until_last_page": rb and round(rb),
             "throughput_ratio": rb / before if rb and before else None}
        if m.startswith("ferry"):
            f = json.load(open("%s/%s-%s.json" % (out, m, hot)))
            e["postcopy"] = f["postcopy"]; e["rounds"] = f["rounds"]; e["stop_reason"] = f["stop_reason"]
        h[m] = e
        print("%-16s %12d %10d %14d %18s" % (names[m], d, t, b,
              "%.2f" % e["throughput_ratio"] if e["throughput_ratio"] is not None else "-"))
    r = {}
    if "ferry-pc" in h:
        pc = h["ferry-pc"]
        if "criu-pre" in h: r["ferry_pc_over_criu_precopy_downtime"] = pc["downtime_ms"] / max(h["criu-pre"]["downtime_ms"], 1)
        if "criu-pc" in h: r["ferry_pc_over_criu_postcopy_downtime"] = pc["downtime_ms"] / max(h["criu-pc"]["downtime_ms"], 1)
        if "ferry-pre" in h: r["ferry_pc_over_ferry_precopy_downtime"] = pc["downtime_ms"] / max(h["ferry-pre"]["downtime_ms"], 1)
        r["ferry_pc_total_over_one_copy"] = pc["total_ms"] / max(one_copy_ms, 1)
        if pc.get("postcopy", {}).get("used"):
            p = pc["postcopy"]
            print("ferry post-copy: %d pages left behind, %d on fault, %d pushed, last page %d ms after the tree ran; fault wait median %d us, p99 %d us"
                  % (p["pages"], p["pages_on_fault"], p["pages_pushed"], p["ms"], p["fault_wait_median_us"], p["fault_wait_p99_us"]))
    h["ratios"] = r
    for k, v in r.items():
        tgt = {"ferry_pc_over_criu_precopy_downtime": " (target <= 0.1)",
               "ferry_pc_over_criu_postcopy_downtime": " (target <= 0.5)",
               "ferry_pc_total_over_one_copy": " (target <= 1.5)"}.get(k, "")
        print("%-40s %.3f%s" % (k, v, tgt))
    res["hot_sets"].append(h)
json.dump(res, open("%s/result.json" % out, "w"), indent=1)
PY
