/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Post-copy (issue 14): the design. The code: migrate.c and mig_pc_src.c
 * (source), recv_pc.c and recv_session.c's postcopy_finish (destination),
 * lazy_server.c's struct lz_remote, wire_pc.h; README "Post-copy".
 *
 * `ferry migrate --postcopy[=auto|always|never]` (default auto: post-copy
 * when the pre-copy stops as not-shrinking or at --max-rounds, i.e. when
 * it did not converge).
 *
 * Losing the window: a destination that gives up its tree after RESTORED
 * (no page for its stall limit, the link or the source gone) asks first
 * whether the tree could have reached the outside world (proc_reach.h):
 * if not, NOT_RESTORED, and the source resumes its copy; if it could, LOST
 * (WIRE_OUTCOME_LOST; NOT_RESTORED with code WIRE_PC_LOST on the
 * connection), and the source keeps its copy frozen (exit 7) for `ferry
 * settle --resume|--kill`: resuming an older copy after the world heard
 * from a newer one would repeat or contradict what it heard.
 *
 * Source:
 *   - pre-copy rounds as now; CRIU's final dump as now, into final/ on this
 *     host (its pages-N.img holds the pages that changed since the last
 *     round: the hot set). The tree stays frozen (--leave-stopped).
 *   - the final images go as now, except each pages-N.img: PC_FILE {name,
 *     size} instead of its body. COMMIT carries flag POSTCOPY.
 *   - then one poll loop until the end: PC_REQ {file, page, npages} from
 *     the destination answered at once with PC_DATA {file, page, npages,
 *     zstd or raw pages}; between requests the files are pushed in order,
 *     one PC_DATA of up to WIRE_MAX_PAGES at a time, skipping pages sent;
 *     PC_PUSHED when every page went. RESTORED (the tree runs there) does
 *     not end it: only PC_DONE (every page in place there) does. Then the
 *     frozen tree is killed and DONE sent, as after RESTORED today.
 *   - NOT_RESTORED at any point (the destination killed its tree): resume
 *     ours. The link lost after COMMIT: the outcome query as today
 *     (mig_commit_ask); the destination answers IN_PROGRESS while its
 *     tree still waits for pages, NOT_RESTORED once it gave up and killed
 *     it, RESTORED once every page was in place. Unknown when the settle
 *     time ends: the tree stays frozen (exit 7), as today.
 *
 * Destination:
 *   - PC_FILE: final/NAME created at its full size (sparse), a present
 *     bitmap for it in MAP_SHARED memory; charged to the disk budget.
 *   - COMMIT with POSTCOPY: criu_lazy_split() also marks the final dump's
 *     own present pages PE_LAZY where the VMA allows a lazy restore (not
 *     the stack pages); the pages CRIU must read itself (the rest) are
 *     asked for (PC_REQ) and awaited before `criu restore` starts.
 *   - the lazy-pages server is started with struct lz_remote over those
 *     files, its fd one end of a socketpair whose other end the session's
 *     poll loop reads (lz_fetch -> PC_REQ, deduplicated).
 *   - while CRIU restores (its restorer already faults on pages still at
 *     the source), a pump thread feeds the lazy server; it alone uses the
 *     connection until it is joined (a TLS session is not to be used from
 *     two threads at once), and its errors go to its own buffer: PC_DATA
 *     pwrite()n into final/NAME, then the bits set (release), then a byte
 *     to the lazy server. PC_DATA still in flight when the restore ends is
 *     taken before RESTORED, never dropped.
 *   - the restore done: RESTORED sent (the record says IN_PROGRESS), the
 *     loop goes on until the lazy server exits 0 (every page in place):
 *     PC_DONE, record RESTORED, await DONE.
 *   - the link lost, the source's ERROR/ABORT, or the lazy server failing
 *     (its stall limit) before that: the restored tree is killed (the
 *     guard), the record says NOT_RESTORED, NOT_RESTORED is sent if the
 *     link still works. That is the window post-copy risks, and it is as
 *     short as the push at link speed: the report says how long it was.
 *
 * TCP: the connections are restored with the tree as now; a tree killed in
 * the window loses the data its connections exchanged meanwhile (the
 * source's resumed copy has older sequence numbers): said in the README.
 *
 * Report (--json): postcopy {used, reason, ms (restore to last page),
 * pages_total, pages_on_fault, pages_pushed, fault_latency_ms {median,
 * p99}}. The lazy server's stats come back on its fd before it exits.
 */
#ifndef FERRY_POSTCOPY_H
#define FERRY_POSTCOPY_H
#endif
