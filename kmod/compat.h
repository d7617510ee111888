/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences, in one place. Code elsewhere in kmod/ must
 * not test LINUX_VERSION_CODE itself; it calls what this file provides.
 * Supported: Debian's 6.1 and 6.12 kernels (and what lies between).
 */
#ifndef FERRY_COMPAT_H
#define FERRY_COMPAT_H

#include <linux/version.h>
#include <net/genetlink.h>

/* Parsed request attributes of a dump (struct genl_dumpit_info changed
 * shape in 6.2: attrs moved into an embedded struct genl_info). */
static inline struct nlattr **ferry_dump_attrs(struct netlink_callback *cb)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	return genl_dumpit_info(cb)->info.attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

/* ---- TCP (tcp.c) --------------------------------------------------------
 * The TSval clock became selectable per socket (ms or us) in 6.7. These
 * return what getsockopt(TCP_TIMESTAMP) would: the socket's current TSval
 * clock including its offset; on kernels with usec timestamps the lowest
 * bit tells the resolution (set: microseconds), as the kernel does.
 */
#include <net/tcp.h>

static inline u32 ferry_tcp_ts_now(const struct tcp_sock *tp)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	u32 val = tcp_clock_ts(tp->tcp_usec_ts) + READ_ONCE(tp->tsoffset);

	return tp->tcp_usec_ts ? (val | 1) : (val & ~1U);
#else
	return tcp_time_stamp_raw() + READ_ONCE(tp->tsoffset);
#endif
}

static inline u32 ferry_tcp_tw_ts_now(const struct tcp_timewait_sock *tcptw)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	return tcp_tw_tsval(tcptw);
#else
	return tcp_time_stamp_raw() + tcptw->tw_ts_offset;
#endif
}

static inline u32 ferry_tcp_req_ts_now(const struct tcp_request_sock *treq)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	return tcp_rsk_tsval(treq);
#else
	return tcp_time_stamp_raw() + treq->ts_off;
#endif
}


/* ---- dirty.c: page-table walking ------------------------------------- */
#include <linux/mm.h>
#include <linux/pgtable.h>

/*
 * Read a pmd that may change under us (no lock held): one load, used as
 * read. 6.12 has pmdp_get_lockless() (READ_ONCE on x86-64); 6.1's
 * pmd_read_atomic() is a plain load there, which the compiler may repeat
 * or tear, so 6.1 gets READ_ONCE() here.
 */
static inline pmd_t ferry_pmdp_get_lockless(pmd_t *pmdp)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	return pmdp_get_lockless(pmdp);
#else
	return READ_ONCE(*pmdp);
#endif
}

/*
 * A PUD that maps memory directly (1 GiB DAX/THP) rather than a PMD table.
 * pud_large() was renamed pud_leaf() in 6.8.
 */
static inline bool ferry_pud_leaf(pud_t pud)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	return pud_leaf(pud);
#else
	return pud_large(pud);
#endif
}

/*
 * PTE tables and RCU. Since 6.5 khugepaged may retract (and free through
 * RCU) a PTE table while only mmap_lock is held for reading; the kernel's
 * __pte_offset_map_lock() therefore maps the table inside rcu_read_lock()
 * and re-checks the pmd once the PTE lock is taken. Before 6.5 a PTE
 * table under a pmd we read as a table stays put while we hold mmap_lock
 * for reading, and the RCU section is merely harmless. dirty.c always
 * takes the RCU section and always re-checks, so both kernels run the same
 * code; nothing version-specific is needed beyond the pmd read above.
 */

#endif /* FERRY_COMPAT_H */
