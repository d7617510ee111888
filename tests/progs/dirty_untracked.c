// SPDX-License-Identifier: GPL-2.0
/*
 * dirty_untracked -- memory whose writes soft-dirty cannot track is never
 * reported clean, and CLEAR is refused where re-arming could lose writes.
 * Scans this process itself through ferry.ko (run as root, module loaded).
 *
 *   dirty_untracked hugetlb   a MAP_HUGETLB region (needs nr_hugepages >= 2):
 *                             written, clear_refs'd (which clears the VMA's
 *                             VM_SOFTDIRTY: pagemap then never shows its
 *                             writes again), written again: every scan,
 *                             plain or CLEAR, must report the whole region
 *                             with the "untracked" flag
 *   dirty_untracked pfnmap    the same for a VM_PFNMAP mapping (/dev/mem,
 *                             the legacy VGA window)
 *   dirty_untracked marker    a PTE marker (what zapping a userfaultfd
 *                             write-protected shmem page leaves) holds no
 *                             page: a scan that reports it (the mapping is
 *                             new, VM_SOFTDIRTY) flags it not-present,
 *                             never swapped
 *   dirty_untracked notifier  a child's mm gets MMU notifiers (it creates a
 *                             KVM VM, which registers one): a CLEAR
 *                             scan must fail with EOPNOTSUPP and the
 *                             kernel's reason, a plain scan still works,
 *                             and a tracker opened with the auto backend
 *                             and DIRTY_OPT_FALLBACK falls back to
 *                             pagemap-scan/pagemap, says so, and reports
 *                             a write made after its clearing scan
 *
 * Exit 0: holds; 1: does not (with the reason); 3: cannot run here (no
 * huge pages, no /dev/mem mapping, no /dev/kvm), with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <linux/userfaultfd.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <signal.h>
#include "dirty_common.h"
#include "dirty_track.h"

#define CANNOT(...) do { printf("CANNOT RUN: " __VA_ARGS__); putchar('\n'); exit(3); } while (0)

/* The extent covering [a, a + len) whole, or NULL. */
static const struct dirty_extent *covering(const struct dirty_extents *x, uint64_t a, size_t len)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->v[i].start <= a && x->v[i].start + x->v[i].pages * PG >= a + len)
			return &x->v[i];
	return NULL;
}

static struct dirty_tracker *open_module(void)
{
	struct dirty_tracker *t;
	char msg[256];

	if (dirty_track_open(&t, getpid(), DIRTY_BACKEND_MODULE, true, 0, msg, sizeof(msg)))
		die("module tracker: %s", msg);
	return t;
}

/* Scan [a, a + len) (clearing or not): the region must come back whole,
 * flagged untracked, and not re-armed. */
static void expect_untracked(struct dirty_tracker *t, char *a, size_t len, bool clear,
			     const char *when)
{
	struct dirty_extents x;
	const struct dirty_extent *e;
	char fl[128];

	dirty_extents_init(&x);
	if (dirty_track_scan(t, 0, DIRTY_ADDR_MAX, clear, &x, NULL))
		die("%s: scan: %s", when, dirty_track_error(t));
	e = covering(&x, (uint64_t)(uintptr_t)a, len);
	if (!e)
		die("%s: the region [%p, +%zu) is not reported whole: its writes would be lost",
		    when, (void *)a, len);
	dirty_flags_str(e->flags, fl, sizeof(fl));
	if (!(e->flags & FERRY_EXTENT_F_UNTRACKED))
		die("%s: reported without the untracked flag (%s)", when, fl);
	if (e->flags & FERRY_EXTENT_F_CLEARED)
		die("%s: reported as re-armed (%s)", when, fl);
	printf("ok: %s: reported whole, flags %s\n", when, fl);
	dirty_extents_free(&x);
}

static void check_region(char *a, size_t len, bool writable, const char *what)
{
	struct dirty_tracker *t = open_module();
	char when[128];

	if (writable)
		memset(a, 1, len);
	snprintf(when, sizeof(when), "%s, new mapping", what);
	expect_untracked(t, a, len, false, when);
	if (clear_refs_self())
		die("clear_refs: %s", strerror(errno));
	if (writable)
		memset(a, 2, len);
	snprintf(when, sizeof(when), "%s, written after clear_refs", what);
	expect_untracked(t, a, len, false, when);
	snprintf(when, sizeof(when), "%s, CLEAR scan", what);
	expect_untracked(t, a, len, true, when);
	if (writable)
		memset(a, 3, len);
	snprintf(when, sizeof(when), "%s, written after a CLEAR scan", what);
	expect_untracked(t, a, len, true, when);
	dirty_track_close(t);
}

static void t_hugetlb(void)
{
	size_t len = 2 * HPG;
	char *a = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

	if (a == MAP_FAILED)
		CANNOT("MAP_HUGETLB: %s (is vm.nr_hugepages >= 2?)", strerror(errno));
	check_region(a, len, true, "hugetlb");
	munmap(a, len);
}

static void t_pfnmap(void)
{
	size_t len = 16 * PG;
	int fd = open("/dev/mem", O_RDONLY | O_CLOEXEC);
	char *a;

	if (fd < 0)
		CANNOT("/dev/mem: %s", strerror(errno));
	/* the legacy VGA window: below 1 MiB, not RAM, allowed by STRICT_DEVMEM */
	a = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0xa0000);
	if (a == MAP_FAILED)
		CANNOT("mmap /dev/mem at 0xa0000: %s", strerror(errno));
	check_region(a, len, false, "VM_PFNMAP (/dev/mem)");
	munmap(a, len);
	close(fd);
}

static void t_marker(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_HUGETLBFS_SHMEM };
	struct dirty_tracker *t = open_module();
	struct dirty_extents x;
	const struct dirty_extent *e;
	size_t len = 4 * PG;
	char fl[128], *a;
	int mfd, uffd;

	mfd = memfd_create("ferry-marker", 0);
	if (mfd < 0 || ftruncate(mfd, (off_t)len))
		die("memfd: %s", strerror(errno));
	a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (a == MAP_FAILED)
		die("mmap memfd: %s", strerror(errno));
	memset(a, 1, len);
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		CANNOT("userfaultfd: %s", strerror(errno));
	if (ioctl(uffd, UFFDIO_API, &api))
		CANNOT("UFFDIO_API with WP on shmem: %s", strerror(errno));
	{
		struct uffdio_register reg = {
			.range = { (uintptr_t)a, len }, .mode = UFFDIO_REGISTER_MODE_WP,
		};
		struct uffdio_writeprotect wp = {
			.range = { (uintptr_t)a, len }, .mode = UFFDIO_WRITEPROTECT_MODE_WP,
		};

		if (ioctl(uffd, UFFDIO_REGISTER, &reg) || ioctl(uffd, UFFDIO_WRITEPROTECT, &wp))
			CANNOT("uffd-wp on shmem: %s", strerror(errno));
	}
	/* zapping a write-protected shmem page leaves a uffd-wp PTE marker */
	if (madvise(a + PG, PG, MADV_DONTNEED))
		die("MADV_DONTNEED: %s", strerror(errno));
	dirty_extents_init(&x);
	if (dirty_track_scan(t, (uintptr_t)a, (uintptr_t)a + len, false, &x, NULL))
		die("scan: %s", dirty_track_error(t));
	e = covering(&x, (uintptr_t)(a + PG), PG);
	if (!e)
		die("the zapped page of the new mapping is not reported");
	dirty_flags_str(e->flags, fl, sizeof(fl));
	if (e->flags & FERRY_EXTENT_F_SWAPPED)
		die("a PTE marker is reported as swapped (%s)", fl);
	if (!(e->flags & FERRY_EXTENT_F_NOT_PRESENT))
		die("a PTE marker is not reported as not present (%s)", fl);
	printf("ok: the PTE marker is reported with flags %s\n", fl);
	dirty_extents_free(&x);
	dirty_track_close(t);
	close(uffd);
	munmap(a, len);
	close(mfd);
}

/*
 * The process with the MMU notifier is a child: the fallback backends stop
 * the process they clear (SIGSTOP), which must not be this one. It creates
 * a KVM VM (which registers the notifier), maps a region, says "ready";
 * each byte it then reads from its pipe makes it write one page of the
 * region and answer.
 */
static pid_t kvm_child(int *cmd, int *ack, char **region)
{
	int c2p[2], p2c[2];
	pid_t pid;

	if (pipe(c2p) || pipe(p2c))
		die("pipe: %s", strerror(errno));
	*region = map_region(2, 0);	/* same address in the child */
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		char st = 'r', b;
		int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm = -1;

		if (kvm >= 0)
			vm = ioctl(kvm, KVM_CREATE_VM, 0);
		if (vm < 0)
			st = kvm < 0 ? 'k' : 'v';
		memset(*region, 1, 2 << 20);
		if (write(c2p[1], &st, 1) != 1)
			_exit(1);
		while (read(p2c[0], &b, 1) == 1) {
			(*region)[4096 * (unsigned char)b] = 7;
			if (write(c2p[1], &b, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	close(c2p[1]);
	close(p2c[0]);
	*cmd = p2c[1];
	*ack = c2p[0];
	return pid;
}

static void child_writes(int cmd, int ack, unsigned char page)
{
	char b;

	if (write(cmd, &page, 1) != 1 || read(ack, &b, 1) != 1)
		die("the KVM child does not answer");
}

static void t_notifier(void)
{
	struct dirty_tracker *mod, *aut;
	struct dirty_extents x;
	char msg[256], *region, st;
	int cmd, ack, ret;
	pid_t child;

	child = kvm_child(&cmd, &ack, &region);
	if (read(ack, &st, 1) != 1)
		die("the KVM child died");
	if (st != 'r') {
		kill(child, SIGKILL);
		CANNOT("%s (no virtualisation in this guest's CPU?)",
		       st == 'k' ? "/dev/kvm cannot be opened" : "KVM_CREATE_VM failed");
	}
	printf("ok: child %d runs a KVM VM: its mm has an MMU notifier\n", (int)child);

	dirty_extents_init(&x);
	if (dirty_track_open(&mod, child, DIRTY_BACKEND_MODULE, true, 0, msg, sizeof(msg)))
		die("module tracker: %s", msg);
	ret = dirty_track_scan(mod, 0, DIRTY_ADDR_MAX, true, &x, NULL);
	if (ret != -EOPNOTSUPP)
		die("a CLEAR scan of an mm with MMU notifiers returned %d (%s), want EOPNOTSUPP",
		    ret, ret ? dirty_track_error(mod) : "success: secondary TLBs were not told");
	printf("ok: CLEAR refused: %s\n", dirty_track_error(mod));
	if (!strstr(dirty_track_error(mod), "MMU notifier"))
		die("the refusal does not say why: %s", dirty_track_error(mod));
	ret = dirty_track_scan(mod, 0, DIRTY_ADDR_MAX, false, &x, NULL);
	if (ret)
		die("a plain scan failed: %s", dirty_track_error(mod));
	printf("ok: a plain scan still works (%zu extents)\n", x.n);
	dirty_track_close(mod);

	if (dirty_track_open(&aut, child, DIRTY_BACKEND_AUTO, true,
			     DIRTY_OPT_FALLBACK, msg, sizeof(msg)))
		die("auto tracker: %s", msg);
	if (dirty_track_scan(aut, 0, DIRTY_ADDR_MAX, true, &x, NULL))
		die("auto tracker's CLEAR scan: %s", dirty_track_error(aut));
	if (dirty_track_backend(aut) == DIRTY_BACKEND_MODULE || !dirty_track_note(aut)[0])
		die("the auto tracker did not fall back (backend %s, note '%s')",
		    dirty_backend_name(dirty_track_backend(aut)), dirty_track_note(aut));
	printf("ok: fell back to %s: %s\n", dirty_backend_name(dirty_track_backend(aut)),
	       dirty_track_note(aut));
	child_writes(cmd, ack, 1);
	if (dirty_track_scan(aut, 0, DIRTY_ADDR_MAX, true, &x, NULL))
		die("fallback CLEAR scan: %s", dirty_track_error(aut));
	if (!dirty_extents_contains(&x, (uint64_t)(uintptr_t)(region + 4096)))
		die("the fallback lost a write made after its clearing scan");
	printf("ok: the fallback reports a write made after its clearing scan\n");
	dirty_track_close(aut);
	dirty_extents_free(&x);
	close(cmd);
	close(ack);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		die("usage: dirty_untracked hugetlb|pfnmap|marker|notifier");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "hugetlb"))
		t_hugetlb();
	else if (!strcmp(argv[1], "pfnmap"))
		t_pfnmap();
	else if (!strcmp(argv[1], "marker"))
		t_marker();
	else if (!strcmp(argv[1], "notifier"))
		t_notifier();
	else
		die("unknown case %s", argv[1]);
	printf("PASS: %s\n", argv[1]);
	return 0;
}
