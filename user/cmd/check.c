// SPDX-License-Identifier: GPL-2.0
/*
 * ferry check: can this host take part in a migration? Each probe tests
 * the real thing (a soft-dirty round trip, a PAGEMAP_SCAN ioctl, a
 * userfaultfd, `criu check`), not a config file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include "cmds.h"
#include "json.h"
#include "nl.h"
#include "pagemap_scan.h"
#include "util.h"

#define PM_SOFT_DIRTY (1ULL << 55)

struct check_report {
	char kernel[128];
	int module_err;			/* 0: loaded, else -errno */
	struct ferry_info info;
	bool abi_match;
	bool criu_installed;
	char criu_version[64];
	bool criu_ok;
	char criu_msg[512];
	bool soft_dirty;
	bool pagemap_scan;
	bool uffd;
	const char *dirty_mode;
	const char *missing[16];
	int n_missing;
};

/* enum ferry_feature, bit by bit. */
static const char *feature_names[] = {
	"dirty-scan", "dirty-clear", "tcp-dump", "tcp-data", "tcp-packed", "dirty-untracked",
	"tcp-seq-marks",
};

static int pagemap_entry(int fd, void *addr, uint64_t *ent)
{
	off_t off = (off_t)((uintptr_t)addr / (uintptr_t)getpagesize()) * 8;

	return pread(fd, ent, 8, off) == 8 ? 0 : -1;
}

/* Clear our own soft-dirty bits, write a page, see bit 55 appear. */
static bool probe_soft_dirty(void)
{
	long psz = getpagesize();
	volatile char *p;
	uint64_t before = 0, after = 0;
	bool ok = false;
	int pm, cr;

	p = mmap(NULL, (size_t)psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	p[0] = 1;
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	cr = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (pm >= 0 && cr >= 0 && write(cr, "4", 1) == 1 &&
	    pagemap_entry(pm, (void *)p, &before) == 0) {
		p[0] = 2;
		if (pagemap_entry(pm, (void *)p, &after) == 0)
			ok = !(before & PM_SOFT_DIRTY) && (after & PM_SOFT_DIRTY);
	}
	if (pm >= 0)
		close(pm);
	if (cr >= 0)
		close(cr);
	munmap((void *)p, (size_t)psz);
	return ok;
}

/* An invalid argument tells "supported" (EINVAL/EFAULT) from "absent" (ENOTTY). */
static bool probe_pagemap_scan(void)
{
	struct pm_scan_arg arg = { .size = 1 };	/* deliberately bad size */
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = ioctl(fd, PAGEMAP_SCAN, &arg) < 0 && errno != ENOTTY;
	close(fd);
	return ok;
}

static bool probe_uffd(void)
{
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return false;
	close((int)fd);
	return true;
}

/* Run argv, capture the first line(s) of combined output into out. */
static int run_capture(char *const argv[], char *out, size_t size)
{
	int pipefd[2], status;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], out + used, size - 1 - used)) > 0) {
		used += (size_t)n;
		if (used >= size - 1) {
			/* Drain the rest so the child does not block. */
			char sink[4096];

			while (read(pipefd[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	out[used] = '\0';
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	while (used > 0 && (out[used - 1] == '\n' || out[used - 1] == ' '))
		out[--used] = '\0';
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void probe_criu(struct check_report *r)
{
	char *ver[] = { "criu", "--version", NULL };
	char *chk[] = { "criu", "check", NULL };
	char buf[512], *v;
	int rc;

	rc = run_capture(ver, buf, sizeof(buf));
	if (rc != 0) {
		snprintf(r->criu_msg, sizeof(r->criu_msg), "criu not found in PATH");
		return;
	}
	r->criu_installed = true;
	v = strstr(buf, "Version: ");
	v = v ? v + 9 : buf;
	memcpy(r->criu_version, v, strnlen(v, sizeof(r->criu_version) - 1));
	r->criu_version[strcspn(r->criu_version, "\n")] = '\0';
	rc = run_capture(chk, r->criu_msg, sizeof(r->criu_msg));
	r->criu_ok = rc == 0;
}

static void add_missing(struct check_report *r, const char *what)
{
	if (r->n_missing < (int)(sizeof(r->missing) / sizeof(r->missing[0])))
		r->missing[r->n_missing++] = what;
}

static void gather(struct check_report *r, bool skip_criu)
{
	struct ferry_nl nl;
	struct utsname u;

	memset(r, 0, sizeof(*r));
	if (uname(&u) == 0)
		snprintf(r->kernel, sizeof(r->kernel), "%s", u.release);

	r->module_err = ferry_nl_open(&nl);
	if (!r->module_err) {
		r->module_err = ferry_nl_info(&nl, &r->info);
		ferry_nl_close(&nl);
	}
	r->abi_match = !r->module_err && r->info.abi == FERRY_ABI_VERSION;

	r->soft_dirty = probe_soft_dirty();
	r->pagemap_scan = probe_pagemap_scan();
	r->uffd = probe_uffd();
	if (!skip_criu)
		probe_criu(r);

	if (r->abi_match && (r->info.features & FERRY_FEATURE_DIRTY_CLEAR))
		r->dirty_mode = "module";
	else if (r->pagemap_scan)
		r->dirty_mode = "pagemap-scan";
	else if (r->soft_dirty)
		r->dirty_mode = "pagemap";
	else
		r->dirty_mode = "none";

	if (r->module_err)
		add_missing(r, "ferry.ko is not loaded (modprobe ferry)");
	else if (!r->abi_match)
		add_missing(r, "ferry.ko ABI differs from this ferry tool");
	if (!r->soft_dirty)
		add_missing(r, "soft-dirty page tracking (CONFIG_MEM_SOFT_DIRTY)");
	if (!skip_criu && !r->criu_installed)
		add_missing(r, "criu is not installed");
	else if (!skip_criu && !r->criu_ok)
		add_missing(r, "`criu check` fails");
}

static void print_json(const struct check_report *r, bool skip_criu)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_open(&j, NULL);
	json_str(&j, "version", FERRY_VERSION);
	json_u64(&j, "abi", FERRY_ABI_VERSION);
	json_str(&j, "kernel", r->kernel);
	json_obj_open(&j, "module");
	json_bool(&j, "loaded", !r->module_err);
	if (!r->module_err) {
		json_str(&j, "version", r->info.version);
		json_u64(&j, "abi", r->info.abi);
		json_bool(&j, "abi_match", r->abi_match);
		json_str(&j, "built_for", r->info.kernel);
		json_arr_open(&j, "features");
		for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
			if (r->info.features & (1ULL << i))
				json_str(&j, NULL, feature_names[i]);
		json_arr_close(&j);
	} else {
		json_str(&j, "error", strerror(-r->module_err));
	}
	json_obj_close(&j);
	if (!skip_criu) {
		json_obj_open(&j, "criu");
		json_bool(&j, "installed", r->criu_installed);
		json_str(&j, "version", r->criu_installed ? r->criu_version : NULL);
		json_bool(&j, "check_ok", r->criu_ok);
		json_str(&j, "check_output", r->criu_msg);
		json_obj_close(&j);
	}
	json_bool(&j, "soft_dirty", r->soft_dirty);
	json_bool(&j, "pagemap_scan", r->pagemap_scan);
	json_bool(&j, "userfaultfd", r->uffd);
	json_str(&j, "dirty_tracking", r->dirty_mode);
	json_arr_open(&j, "missing");
	for (int i = 0; i < r->n_missing; i++)
		json_str(&j, NULL, r->missing[i]);
	json_arr_close(&j);
	json_bool(&j, "ready", r->n_missing == 0);
	json_obj_close(&j);
	json_end(&j);
}

static const char *yesno(bool b) { return b ? "yes" : "no"; }

static void print_text(const struct check_report *r, bool skip_criu)
{
	printf("ferry %s (ABI %d)\n", FERRY_VERSION, FERRY_ABI_VERSION);
	printf("kernel:          %s\n", r->kernel);
	if (r->module_err) {
		printf("ferry.ko:        not loaded (%s)\n", strerror(-r->module_err));
	} else {
		printf("ferry.ko:        %s, ABI %u%s, built for %s\n", r->info.version,
		       r->info.abi, r->abi_match ? "" : " (MISMATCH)", r->info.kernel);
		printf("  features:     ");
		for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
			if (r->info.features & (1ULL << i))
				printf(" %s", feature_names[i]);
		printf("\n");
	}
	if (!skip_criu) {
		if (r->criu_installed)
			printf("criu:            %s, criu check: %s\n", r->criu_version,
			       r->criu_ok ? "ok" : "FAILED");
		else
			printf("criu:            not installed\n");
		if (r->criu_installed && !r->criu_ok)
			printf("  %s\n", r->criu_msg);
	}
	printf("soft-dirty:      %s\n", yesno(r->soft_dirty));
	printf("PAGEMAP_SCAN:    %s\n", yesno(r->pagemap_scan));
	printf("userfaultfd:     %s\n", yesno(r->uffd));
	printf("dirty tracking:  %s\n", r->dirty_mode);
	if (r->n_missing) {
		printf("\nmissing for migration:\n");
		for (int i = 0; i < r->n_missing; i++)
			printf("  - %s\n", r->missing[i]);
	} else {
		printf("\nready for migration\n");
	}
}

static void check_usage(FILE *f)
{
	fprintf(f,
"Usage: ferry check [--json] [--no-criu]\n"
"\n"
"Reports whether this host can take part in a live migration: kernel\n"
"release, whether ferry.ko is loaded (its version, features and whether\n"
"its ABI matches this tool), the CRIU version and the result of\n"
"`criu check`, soft-dirty support (tested with a real write), PAGEMAP_SCAN\n"
"and userfaultfd availability, and the dirty-tracking mode ferry will use:\n"
"  module        ferry.ko reports and re-arms pages without freezing\n"
"  pagemap-scan  PAGEMAP_SCAN ioctl (report only; re-arming needs a freeze)\n"
"  pagemap       /proc/PID/pagemap + clear_refs under a freeze\n"
"\n"
"  --json      print one JSON object (keys: version, kernel, module, criu,\n"
"              soft_dirty, pagemap_scan, userfaultfd, dirty_tracking,\n"
"              missing, ready)\n"
"  --no-criu   skip the CRIU probes (they take a few seconds)\n"
"\n"
"Exit status: 0 ready, 3 something is missing (listed), 2 usage.\n");
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-criu", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct check_report r;
	bool json = false, skip_criu = false;
	int c;

	while ((c = getopt_long(argc, argv, "jnh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'n': skip_criu = true; break;
		case 'h': check_usage(stdout); return FERRY_EXIT_OK;
		default: check_usage(stderr); return FERRY_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		check_usage(stderr);
		return FERRY_EXIT_USAGE;
	}
	gather(&r, skip_criu);
	if (json)
		print_json(&r, skip_criu);
	else
		print_text(&r, skip_criu);
	return r.n_missing ? FERRY_EXIT_MISSING : FERRY_EXIT_OK;
}
