// SPDX-License-Identifier: GPL-2.0
/*
 * The page-table walk of FERRY_CMD_DIRTY_SCAN: report (and with CLEAR
 * re-arm) soft-dirty pages into the dump's extent buffer.
 *
 * Semantics are those of bit 55 of /proc/PID/pagemap (fs/proc/task_mmu.c):
 *  - present PTE: pte_soft_dirty(); swap/migration PTE: pte_swp_soft_dirty();
 *  - huge PMD: pmd_soft_dirty(); PMD migration entry: pmd_swp_soft_dirty();
 *  - a VMA with VM_SOFTDIRTY: every page of it, present or not.
 * Except where soft-dirty cannot track writes at all: hugetlb and VM_PFNMAP
 * VMAs, and 1 GiB leaf mappings (device DAX). pagemap only shows
 * VM_SOFTDIRTY for them, and once clear_refs has cleared that flag their
 * writes are never reported again; so they are reported whole, on every
 * scan, with FERRY_EXTENT_F_UNTRACKED, and never re-armed. A pre-copy
 * copies them in its final, frozen step.
 *
 * CLEAR re-arms exactly what it reports, the way clear_refs "4" does
 * (clear_soft_dirty() / clear_soft_dirty_pmd()): under the page-table lock
 * the entry is write-protected and its soft-dirty bit cleared, so the next
 * write faults and sets it again. While entries are being re-armed,
 * mm_tlb_flush_pending() tells KSM, reclaim and NUMA hinting that some TLB
 * may still hold them writable; every TLB is flushed before the mmap lock
 * is dropped (as clear_refs does since kernel commit 29a951dfb3c3), so
 * nothing that needs the mmap lock for writing (fork, mremap, munmap) can
 * see a re-armed entry that a CPU still writes through, and the flush is
 * over before any message reporting those pages can reach user space: a
 * write through a stale TLB entry happens before the caller learns that
 * the page is dirty, so the caller's copy of the page, made after, sees it.
 * Re-armed swap entries need the flush too: reclaim may defer its own
 * flush (batched unmap), so a CPU can still write through a stale TLB
 * entry of a page whose PTE is already a swap entry.
 *
 * Not re-armed, and so reported again by the next scan: a writable
 * migration entry (and a device entry). Migration restores it writable,
 * and dirty (so soft-dirty) only if it was dirty: with its soft-dirty bit
 * cleared, a clean one would come back writable without soft-dirty, and
 * its next writes would not fault. (clear_refs re-arms those too.)
 *
 * Secondary TLBs (KVM, IOMMU SVA, RDMA ODP) are told about page-table
 * changes through MMU notifiers, which a module cannot call (the range
 * functions are not exported): a write through them would never set
 * soft-dirty. CLEAR is refused with -EOPNOTSUPP on an mm that has MMU
 * notifiers (checked under the mmap lock, which registering one needs for
 * writing) before anything was re-armed; the caller falls back to
 * clear_refs, which notifies them. (One registered in the middle of a
 * dump: what was re-armed before is reported, the rest only reported.)
 *
 * VM_SOFTDIRTY itself cannot be cleared from a module (clear_refs does it
 * under the mmap write lock with vma_set_page_prot(), not exported); such
 * VMAs are reported whole, every time, with FERRY_EXTENT_F_VMA_SOFTDIRTY,
 * and their page tables are left alone. Like clear_refs, CLEAR leaves
 * pages that may be pinned for DMA in COW mappings soft-dirty (reported
 * again next time, never lost).
 *
 * Speed: clean PTE tables are recognised without their lock by OR/AND-ing
 * 16 entries at a time; only tables with something possibly dirty are
 * locked and looked at entry by entry. x86-64 only (bit layout, TLB flush).
 */
#include <linux/mm.h>
#include <linux/mm_inline.h>
#include <linux/mmap_lock.h>
#include <linux/mmu_notifier.h>
#include <linux/huge_mm.h>
#include <linux/hugetlb.h>
#include <linux/pgtable.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/smp.h>
#include <linux/swapops.h>
#include <asm/tlbflush.h>
#include "ferry.h"
#include "compat.h"
#include "dirty.h"

/* Without soft-dirty every scan would silently report nothing dirty. */
#if !IS_ENABLED(CONFIG_MEM_SOFT_DIRTY)
#error "ferry.ko needs a kernel with CONFIG_MEM_SOFT_DIRTY=y"
#endif
#ifndef CONFIG_X86_64
#error "ferry.ko supports x86-64 only (page-table bit layout, TLB flush)"
#endif

/* How many page tables to walk between checks for lock waiters. */
#define FERRY_DIRTY_YIELD_EVERY	64

/* One walk under one mmap_read_lock hold. */
struct ferry_walk {
	struct ferry_dirty_state *st;
	struct mm_struct *mm;
	struct vm_area_struct *vma;
	u32 base;		/* extent flags every page of this VMA gets */
	bool vma_sd;		/* VM_SOFTDIRTY: every page is dirty */
	bool clear;		/* re-arm what we report in this VMA */
	bool pin_check;		/* COW mapping in an mm that pinned pages */
	bool flush;		/* an entry was re-armed: flush TLBs */
	unsigned int tables;	/* page tables visited, for yielding */
};

/* Walk results besides 0 (go on) and -errno. */
#define FERRY_WALK_FULL		1	/* extent buffer full */
#define FERRY_WALK_YIELD	2	/* drop the mmap lock for a moment */

/* Account [st->addr, next) as walked. */
static inline void ferry_advance(struct ferry_dirty_state *st, unsigned long next)
{
	st->scanned += (next - st->addr) >> PAGE_SHIFT;
	st->addr = next;
}

/*
 * Append npages at addr to the buffer, growing the last extent when it is
 * adjacent and has the same flags. False when a new extent is needed and
 * the buffer is full: the caller stops *before* touching those pages.
 */
static bool ferry_emit(struct ferry_dirty_state *st, unsigned long addr,
		       unsigned long npages, u32 flags)
{
	struct ferry_dirty_ext *e;

	if (st->n > st->head) {
		e = &st->ext[st->n - 1];
		if (e->flags == flags && e->start + (e->pages << PAGE_SHIFT) == addr) {
			e->pages += npages;
			goto out;
		}
	}
	if (st->n == FERRY_DIRTY_BUF)
		return false;
	e = &st->ext[st->n++];
	e->start = addr;
	e->pages = npages;
	e->flags = flags;
out:
	st->dirty += npages;
	if (flags & FERRY_EXTENT_F_CLEARED)
		st->cleared += npages;
	return true;
}

/* A range whose pages are dirty only through VM_SOFTDIRTY (holes etc.). */
static int ferry_range(struct ferry_walk *w, unsigned long addr,
		       unsigned long end, u32 flags)
{
	if (w->vma_sd && !ferry_emit(w->st, addr, (end - addr) >> PAGE_SHIFT,
				     w->base | flags))
		return FERRY_WALK_FULL;
	ferry_advance(w->st, end);
	return 0;
}

/*
 * A range soft-dirty cannot track (hugetlb, VM_PFNMAP, 1 GiB leaves):
 * reported whole, every time, never re-armed. pagemap shows only
 * VM_SOFTDIRTY for such pages, which clear_refs clears.
 */
static int ferry_untracked(struct ferry_walk *w, unsigned long addr, unsigned long end)
{
	if (!ferry_emit(w->st, addr, (end - addr) >> PAGE_SHIFT,
			w->base | FERRY_EXTENT_F_UNTRACKED))
		return FERRY_WALK_FULL;
	ferry_advance(w->st, end);
	return 0;
}

static bool ferry_page_pinned(struct page *page)
{
	return folio_maybe_dma_pinned(page_folio(page));
}

/*
 * clear_refs skips pages that may be pinned for DMA in COW mappings
 * (pte_is_pinned()): write-protecting them would make the next write copy
 * the page away from under the device. They stay soft-dirty (reported
 * again next time), which is the safe direction.
 */
static bool ferry_pte_pinned(struct ferry_walk *w, pte_t pte)
{
	if (!w->pin_check)
		return false;
	if (w->vma->vm_flags & (VM_PFNMAP | VM_MIXEDMAP))
		return true;		/* no struct page to ask: be safe */
	if (pte_special(pte))
		return false;
	return ferry_page_pinned(pte_page(pte));
}

/*
 * May this non-present entry's soft-dirty bit be cleared? Not for a
 * writable migration entry or a device entry (see the top of this file).
 */
static bool ferry_swp_rearmable(swp_entry_t e)
{
	if (!non_swap_entry(e))
		return true;
	return is_migration_entry(e) && !is_writable_migration_entry(e);
}

static inline bool ferry_pmd_is_huge(pmd_t pmd)
{
	return pmd_trans_huge(pmd) || pmd_devmap(pmd) || is_swap_pmd(pmd);
}

/* A huge PMD (THP, DAX) or a PMD migration entry. -EAGAIN: it changed. */
static int ferry_walk_huge(struct ferry_walk *w, pmd_t *pmdp,
			   unsigned long addr, unsigned long end)
{
	struct ferry_dirty_state *st = w->st;
	unsigned long haddr = addr & PMD_MASK;
	bool swap, sd, doclear;
	spinlock_t *ptl;
	u32 flags;
	pmd_t pmd;

	ptl = pmd_lockptr(w->mm, pmdp);
	spin_lock(ptl);
	pmd = READ_ONCE(*pmdp);
	if (!ferry_pmd_is_huge(pmd)) {
		spin_unlock(ptl);
		return -EAGAIN;
	}
	swap = !pmd_present(pmd);
	sd = swap ? pmd_swp_soft_dirty(pmd) : pmd_soft_dirty(pmd);
	if (!sd && !w->vma_sd) {
		spin_unlock(ptl);
		ferry_advance(st, end);
		return 0;
	}
	flags = w->base | FERRY_EXTENT_F_THP | (swap ? FERRY_EXTENT_F_SWAPPED : 0);
	/* The soft-dirty bit covers the whole 2 MiB: clear it only when the
	 * whole of it is being reported. */
	doclear = w->clear && sd && addr == haddr && end == haddr + PMD_SIZE;
	if (doclear && swap && !ferry_swp_rearmable(pmd_to_swp_entry(pmd)))
		doclear = false;
	if (doclear && !swap && w->pin_check && !pmd_devmap(pmd) &&
	    ferry_page_pinned(pmd_page(pmd)))
		doclear = false;
	if (doclear)
		flags |= FERRY_EXTENT_F_CLEARED;
	if (!ferry_emit(st, addr, (end - addr) >> PAGE_SHIFT, flags)) {
		spin_unlock(ptl);
		return FERRY_WALK_FULL;
	}
	if (doclear) {
		if (!swap) {
			/*
			 * As clear_soft_dirty_pmd(), minus pmdp_invalidate()
			 * (not exported): make the entry non-present with an
			 * atomic exchange so the hardware cannot set A/D bits
			 * behind our back, then install the re-armed entry
			 * built from what the exchange returned. Stale TLB
			 * entries go with the flush before the mmap lock is
			 * dropped.
			 */
			pmd_t old = pmdp_establish(w->vma, haddr, pmdp, pmd_mkinvalid(pmd));

			old = pmd_wrprotect(old);
			old = pmd_clear_soft_dirty(old);
			set_pmd_at(w->mm, haddr, pmdp, old);
		} else {
			set_pmd_at(w->mm, haddr, pmdp, pmd_swp_clear_soft_dirty(pmd));
		}
		/* Swap and migration entries too (see the top of this file). */
		w->flush = true;
	}
	spin_unlock(ptl);
	ferry_advance(st, end);
	return 0;
}

/*
 * Worth a look under the lock: ferry_chunk_maybe() for one entry. Present
 * and soft-dirty, or not plainly present, none entries included: reclaim,
 * migration and KSM replace an entry in two steps under its lock (cleared,
 * then the swap, migration or new entry written), and a read without the
 * lock between the two sees none where a soft-dirty page is.
 */
static __always_inline bool ferry_pte_maybe(pte_t pte)
{
	pteval_t v = pte_val(pte);

	return (v & _PAGE_SOFT_DIRTY) || !(v & _PAGE_PRESENT);
}

#define FERRY_CHUNK	16

/*
 * May any of the 16 entries at p need a look? True when one is present and
 * soft-dirty, or is not plainly present (swap, migration and marker
 * entries, PROT_NONE, and also none entries, which the careful loop then
 * skips). Branch-free over the 16: one test per chunk instead of two per
 * entry, which is what makes clean tables cheap (x86-64 bit layout:
 * _PAGE_PRESENT, _PAGE_SOFT_DIRTY).
 */
static __always_inline bool ferry_chunk_maybe(const pte_t *p)
{
	/*
	 * Racy on purpose (data_race()): plain loads let the compiler fold
	 * them into the OR/AND; an aligned 64-bit load is never torn, a
	 * stale value only decides whether we look closer, and every
	 * decision that matters is made again on a fresh ptep_get() under
	 * the PTE lock.
	 */
	const pteval_t *q = (const pteval_t *)p;
	pteval_t any = 0, all = ~(pteval_t)0;
	int k;

#pragma GCC unroll 16
	for (k = 0; k < FERRY_CHUNK; k++) {
		pteval_t v = data_race(q[k]);

		any |= v;
		all &= v;
	}
	return ((any & _PAGE_SOFT_DIRTY) | (~all & _PAGE_PRESENT)) != 0;
}

/*
 * Index of the first entry in [i, n) that may need a look, else n.
 *
 * Most of a sparse scan's time is spent in this loop, so it lives in a
 * section of its own aligned to 512 bytes, which hold it whole: it never
 * straddles a 4 KiB page of the module's text (the module loader keeps a
 * section's alignment). On hardware that saves at most an iTLB entry;
 * under QEMU's TCG (the test and bench guests) a jump between two guest
 * pages cannot be chained and costs a lookup, and with the loop split
 * across a page boundary a sparse 1 GiB scan took 1.5x as long (6.1,
 * THP off). (Aligning it inside .text makes the assembler jump over the
 * padding, which objtool rejects as unreachable.)
 */
static __section(".text.ferry_scan") __aligned(512)
unsigned int ferry_first_maybe(const pte_t *ptep, unsigned int i, unsigned int n)
{
	for (; i + FERRY_CHUNK <= n; i += FERRY_CHUNK)
		if (ferry_chunk_maybe(ptep + i))
			return i;
	for (; i < n; i++)
		if (ferry_pte_maybe(ptep_get((pte_t *)ptep + i)))
			return i;
	return n;
}

/*
 * Flags of a non-none, non-present PTE: a swap or migration entry holds a
 * page's contents elsewhere; a PTE marker (uffd-wp, poison) holds none.
 */
static u32 ferry_swp_flags(pte_t pte)
{
	return is_pte_marker(pte) ? FERRY_EXTENT_F_NOT_PRESENT : FERRY_EXTENT_F_SWAPPED;
}

/*
 * One PTE table, [addr, end) within one pmd. Modelled on 6.12's
 * __pte_offset_map_lock(): the table is read inside an RCU section (it may
 * be freed by khugepaged through RCU) and the pmd is re-checked once the
 * PTE lock is held; -EAGAIN if it changed, before anything was reported.
 *
 * A lockless pass first looks for the first entry that may be dirty; a
 * table without one is skipped without taking its lock (a write racing
 * with that pass is a write after the scan: nothing was cleared, it is
 * reported next time).
 */
static int ferry_walk_pte(struct ferry_walk *w, pmd_t *pmdp, pmd_t pmdval,
			  unsigned long addr, unsigned long end)
{
	struct ferry_dirty_state *st = w->st;
	unsigned int i = 0, n = (end - addr) >> PAGE_SHIFT;
	int ret = 0;
	spinlock_t *ptl;
	pte_t *ptep;

	rcu_read_lock();
	ptep = pte_offset_kernel(&pmdval, addr);
	if (!w->vma_sd) {
		i = ferry_first_maybe(ptep, 0, n);
		if (i == n) {
			bool same = pmd_same(pmdval, ferry_pmdp_get_lockless(pmdp));

			rcu_read_unlock();
			if (!same)
				return -EAGAIN;
			st->skipped++;
			ferry_advance(st, end);
			return 0;
		}
	}

	ptl = pte_lockptr(w->mm, &pmdval);
	spin_lock(ptl);
	if (unlikely(!pmd_same(pmdval, ferry_pmdp_get_lockless(pmdp)))) {
		spin_unlock(ptl);
		rcu_read_unlock();
		return -EAGAIN;
	}
	for (; i < n; i++) {
		bool present, sd, doclear;
		unsigned long a;
		u32 flags;
		pte_t pte;

		if (!w->vma_sd) {
			pteval_t v;

			/* Whole clean chunks are skipped cheaply, under the
			 * lock too; then clean or empty entries one by one. */
			if (!(i % FERRY_CHUNK)) {
				i = ferry_first_maybe(ptep, i, n);
				if (i == n)
					break;
			}
			v = pte_val(ptep_get(ptep + i));
			if (!v || (v & (_PAGE_SOFT_DIRTY | _PAGE_PRESENT)) == _PAGE_PRESENT)
				continue;
		}
		a = addr + ((unsigned long)i << PAGE_SHIFT);
		pte = ptep_get(ptep + i);
		present = pte_present(pte);
		flags = w->base;
		if (present) {
			sd = pte_soft_dirty(pte);
		} else if (pte_none(pte)) {
			sd = false;
			flags |= FERRY_EXTENT_F_NOT_PRESENT;
		} else {
			sd = pte_swp_soft_dirty(pte);
			flags |= ferry_swp_flags(pte);
		}
		if (!sd && !w->vma_sd)
			continue;
		doclear = w->clear && sd &&
			  (present ? !ferry_pte_pinned(w, pte) : ferry_swp_rearmable(pte_to_swp_entry(pte)));
		if (doclear)
			flags |= FERRY_EXTENT_F_CLEARED;
		if (!ferry_emit(st, a, 1, flags)) {
			end = a;	/* resume here */
			ret = FERRY_WALK_FULL;
			break;
		}
		if (!doclear)
			continue;
		if (present) {
			/* As clear_soft_dirty() in fs/proc/task_mmu.c. */
			pte_t old = ptep_modify_prot_start(w->vma, a, ptep + i);
			pte_t new = pte_clear_soft_dirty(pte_wrprotect(old));

			ptep_modify_prot_commit(w->vma, a, ptep + i, old, new);
		} else {
			set_pte_at(w->mm, a, ptep + i, pte_swp_clear_soft_dirty(pte));
		}
		w->flush = true;
	}
	spin_unlock(ptl);
	rcu_read_unlock();
	ferry_advance(st, end);
	return ret;
}

static int ferry_walk_pmd(struct ferry_walk *w, pud_t *pudp,
			  unsigned long addr, unsigned long end)
{
	pmd_t *pmdp = pmd_offset(pudp, addr);
	unsigned long next;
	int ret;

	do {
		pmd_t pmd;

		next = pmd_addr_end(addr, end);
again:
		pmd = ferry_pmdp_get_lockless(pmdp);
		if (pmd_none(pmd))
			ret = ferry_range(w, addr, next, FERRY_EXTENT_F_NOT_PRESENT);
		else if (ferry_pmd_is_huge(pmd))
			ret = ferry_walk_huge(w, pmdp, addr, next);
		else if (unlikely(pmd_bad(pmd)))
			ret = ferry_range(w, addr, next, 0);
		else
			ret = ferry_walk_pte(w, pmdp, pmd, addr, next);
		if (ret == -EAGAIN) {
			cond_resched();
			goto again;
		}
		if (ret)
			return ret;
		if (++w->tables % FERRY_DIRTY_YIELD_EVERY == 0) {
			if (fatal_signal_pending(current))
				return -EINTR;
			/* Let mmap/munmap & co. in; else just let others run
			 * (sleeping with mmap_lock held for reading is fine). */
			if (mmap_lock_is_contended(w->mm))
				return FERRY_WALK_YIELD;
			cond_resched();
		}
	} while (pmdp++, addr = next, addr != end);
	return 0;
}

static int ferry_walk_pud(struct ferry_walk *w, p4d_t *p4dp,
			  unsigned long addr, unsigned long end)
{
	pud_t *pudp = pud_offset(p4dp, addr);
	unsigned long next;
	int ret;

	do {
		pud_t pud = READ_ONCE(*pudp);

		next = pud_addr_end(addr, end);
		if (pud_none(pud))
			ret = ferry_range(w, addr, next, FERRY_EXTENT_F_NOT_PRESENT);
		else if (ferry_pud_leaf(pud) || pud_bad(pud))
			/* 1 GiB DAX mappings: soft-dirty does not track them */
			ret = ferry_untracked(w, addr, next);
		else
			ret = ferry_walk_pmd(w, pudp, addr, next);
		if (ret)
			return ret;
	} while (pudp++, addr = next, addr != end);
	return 0;
}

static int ferry_walk_p4d(struct ferry_walk *w, pgd_t *pgdp,
			  unsigned long addr, unsigned long end)
{
	p4d_t *p4dp = p4d_offset(pgdp, addr);
	unsigned long next;
	int ret;

	do {
		p4d_t p4d = READ_ONCE(*p4dp);

		next = p4d_addr_end(addr, end);
		if (p4d_none(p4d) || p4d_bad(p4d))
			ret = ferry_range(w, addr, next, FERRY_EXTENT_F_NOT_PRESENT);
		else
			ret = ferry_walk_pud(w, p4dp, addr, next);
		if (ret)
			return ret;
	} while (p4dp++, addr = next, addr != end);
	return 0;
}

static int ferry_walk_vma(struct ferry_walk *w, struct vm_area_struct *vma,
			  unsigned long addr, unsigned long end)
{
	struct ferry_dirty_state *st = w->st;
	unsigned long next;
	pgd_t *pgdp;
	int ret;

	if (vma->vm_end != st->last_vma_end) {
		st->vmas++;
		st->last_vma_end = vma->vm_end;
	}
	w->vma = vma;
	w->vma_sd = vma->vm_flags & VM_SOFTDIRTY;
	w->base = (vma_is_anonymous(vma) ? FERRY_EXTENT_F_ANON : 0) |
		  (vma->vm_file ? FERRY_EXTENT_F_FILE : 0) |
		  (vma->vm_flags & VM_SHARED ? FERRY_EXTENT_F_SHARED : 0) |
		  (w->vma_sd ? FERRY_EXTENT_F_VMA_SOFTDIRTY : 0);

	/* Soft-dirty does not track these: the whole range, every time. */
	if (is_vm_hugetlb_page(vma) || (vma->vm_flags & VM_PFNMAP))
		return ferry_untracked(w, addr, end);

	/* Clearing page bits under VM_SOFTDIRTY changes nothing visible: the
	 * VMA flag keeps every page dirty until clear_refs, which clears the
	 * page bits too. Leave such page tables alone. */
	w->clear = (st->flags & FERRY_DIRTY_F_CLEAR) && !w->vma_sd;
	w->pin_check = w->clear && is_cow_mapping(vma->vm_flags) &&
		       test_bit(MMF_HAS_PINNED, &vma->vm_mm->flags);

	pgdp = pgd_offset(w->mm, addr);
	do {
		pgd_t pgd = READ_ONCE(*pgdp);

		next = pgd_addr_end(addr, end);
		if (pgd_none(pgd) || pgd_bad(pgd))
			ret = ferry_range(w, addr, next, FERRY_EXTENT_F_NOT_PRESENT);
		else
			ret = ferry_walk_p4d(w, pgdp, addr, next);
		if (ret)
			return ret;
	} while (pgdp++, addr = next, addr != end);
	return 0;
}

static void ferry_flush_tlb_local(void *unused)
{
	__flush_tlb_all();
}

/* Stale, still writable TLB entries of re-armed pages go, on every CPU. */
static void ferry_flush_tlbs(void)
{
	on_each_cpu(ferry_flush_tlb_local, NULL, 1);
}

int ferry_dirty_walk(struct ferry_dirty_state *st, struct netlink_ext_ack *extack)
{
	bool clear = st->flags & FERRY_DIRTY_F_CLEAR;
	struct ferry_walk w = { .st = st, .mm = st->mm };
	u64 t0 = ktime_get_ns();
	int ret = 0;

	if (!mmget_not_zero(st->mm))
		return -ESRCH;		/* the target exited */
	if (mmap_read_lock_killable(st->mm)) {
		mmput(st->mm);
		return -EINTR;
	}
	if (clear && mm_has_notifiers(st->mm)) {
		if (!st->cleared) {
			NL_SET_ERR_MSG(extack, "the process's memory has MMU notifiers (KVM, IOMMU SVA, RDMA ODP ...) "
				       "that ferry.ko cannot tell about re-armed pages: CLEAR refused, use clear_refs");
			ret = -EOPNOTSUPP;
			goto out;
		}
		/*
		 * One appeared after this dump re-armed pages, which are
		 * buffered or sent and must be reported: report the rest
		 * without re-arming it (it stays soft-dirty, and the next
		 * CLEAR is refused before it re-arms anything).
		 */
		st->flags &= ~FERRY_DIRTY_F_CLEAR;
		clear = false;
	}
	if (clear)
		inc_tlb_flush_pending(st->mm);
	while (st->addr < st->end) {
		struct vm_area_struct *vma = find_vma(st->mm, st->addr);

		if (!vma || vma->vm_start >= st->end) {
			st->addr = st->end;
			break;
		}
		if (vma->vm_start > st->addr)
			st->addr = vma->vm_start;
		ret = ferry_walk_vma(&w, vma, st->addr, min(vma->vm_end, st->end));
		if (ret)
			break;
	}
	if (clear) {
		if (w.flush)
			ferry_flush_tlbs();
		dec_tlb_flush_pending(st->mm);
	}
	if (st->addr >= st->end)
		st->walk_done = true;
out:
	mmap_read_unlock(st->mm);
	mmput(st->mm);
	st->scan_ns += ktime_get_ns() - t0;
	return ret < 0 ? ret : 0;
}
