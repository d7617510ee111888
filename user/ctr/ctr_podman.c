// SPDX-License-Identifier: GPL-2.0
/* Podman on either side of a container migration (ctr.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ctr.h"
#include "mig.h"
#include "proc_tcp.h"
#include "util.h"

int ctr_capture(const char *const argv[], char *out, size_t size, const char *log_path,
		int timeout_ms)
{
	uint64_t deadline = ferry_now_ns() + (uint64_t)timeout_ms * 1000000;
	size_t len = 0;
	int p[2], errfd, ret;
	pid_t pid;

	if (!size)
		return -EINVAL;
	out[0] = 0;
	errfd = open(log_path ? log_path : "/dev/null",
		     O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (errfd < 0)
		return -errno;
	if (pipe2(p, O_CLOEXEC)) {
		ret = -errno;
		close(errfd);
		return ret;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(errfd);
		close(p[0]);
		close(p[1]);
		return ret;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		setpgid(0, 0);	/* Ctrl-C is for ferry, which decides */
		if (nul >= 0)
			dup2(nul, 0);
		dup2(p[1], 1);
		dup2(errfd, 2);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(errfd);
	close(p[1]);
	for (;;) {
		uint64_t now = ferry_now_ns();
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		char tmp[4096];
		ssize_t r;

		if (now >= deadline)
			break;
		r = poll(&pfd, 1, (int)((deadline - now) / 1000000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		r = read(p[0], tmp, sizeof(tmp));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;		/* EOF: it is done with its output */
		/* more than fits is read and dropped: the child never blocks */
		if (len < size - 1) {
			size_t n = (size_t)r < size - 1 - len ? (size_t)r : size - 1 - len;

			memcpy(out + len, tmp, n);
			len += n;
		}
	}
	close(p[0]);
	out[len] = 0;
	{
		uint64_t now = ferry_now_ns();
		int left = now < deadline ? (int)((deadline - now) / 1000000) + 1 : 1;

		/* past the bound: its whole process group goes, not only it */
		if (now >= deadline) {
			kill(-pid, SIGKILL);
			mig_wait_child(pid, 10000);
			return -ETIMEDOUT;
		}
		return mig_wait_child(pid, left);
	}
}

/* "name\n" stripped of its trailing newlines */
static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = 0;
}

int ctr_read_cgroup(pid_t pid, char *out, size_t size)
{
	char path[64], buf[8192], *l, *save = NULL;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	n = ferry_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	for (l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "0::/", 4))
			continue;
		if (strstr(l + 3, "/..") || strlen(l + 3) + sizeof("/sys/fs/cgroup") > size)
			return -EINVAL;
		snprintf(out, size, "/sys/fs/cgroup%s", l + 3);
		return 0;
	}
	return -ENOENT;		/* cgroup v1 only: not supported */
}

int ctr_inspect(const char *ref, struct ctr_info *ci, char *err, size_t errlen)
{
	const char *argv[] = {
		"podman", "container", "inspect", "--format",
		"{{.Id}}|{{.Name}}|{{.Image}}|{{.State.Pid}}|{{.State.Status}}|{{.StaticDir}}",
		ref, NULL,
	};
	char out[8192], *f[6], *s;
	const char *status;
	uint64_t v;
	int ret, i;

	memset(ci, 0, sizeof(*ci));
	ret = ctr_capture(argv, out, sizeof(out), NULL, CTR_PODMAN_TIMEOUT_MS);
	if (ret < 0)
		return ferry_errf(err, errlen, ret, "podman container inspect %s: %s", ref,
				  ret == -ENOENT ? "podman not found" : strerror(-ret));
	if (ret)
		return ferry_errf(err, errlen, -ENOENT, "no container %s (podman container inspect "
				  "exited with %d)", ref, ret);
	chomp(out);
	if (strchr(out, '\n'))
		return ferry_errf(err, errlen, -EINVAL, "%s names more than one container", ref);
	for (i = 0, s = out; i < 6; i++) {
		f[i] = s;
		s = i < 5 ? strchr(s, '|') : NULL;
		if (i < 5 && !s)
			return ferry_errf(err, errlen, -EPROTO, "podman container inspect %s: "
					  "unexpected answer", ref);
		if (s)
			*s++ = 0;
	}
	snprintf(ci->w.engine, sizeof(ci->w.engine), "podman");
	snprintf(ci->w.id, sizeof(ci->w.id), "%s", f[0]);
	snprintf(ci->w.name, sizeof(ci->w.name), "%s", f[1]);
	snprintf(ci->w.image, sizeof(ci->w.image), "%s", f[2]);
	snprintf(ci->static_dir, sizeof(ci->static_dir), "%s", f[5]);
	if (!wire_ctr_ok(&ci->w) || ci->static_dir[0] != '/')
		return ferry_errf(err, errlen, -EPROTO, "podman container inspect %s: unexpected "
				  "ID, name, image or directory", ref);
	status = f[4];
	if (strcmp(status, "running"))
		return ferry_errf(err, errlen, -ESRCH, "container %s is %s, not running", ci->w.name,
				  status);
	if (!ferry_parse_u64(f[3], 1, INT32_MAX, &v))
		return ferry_errf(err, errlen, -ESRCH, "container %s has no running init", ci->w.name);
	ci->pid = (pid_t)v;
	ret = ctr_read_cgroup(ci->pid, ci->cgroup, sizeof(ci->cgroup));
	if (ret)
		return ferry_errf(err, errlen, ret, "the cgroup of container %s (v2 needed): %s",
				  ci->w.name, strerror(-ret));
	return 0;
}

pid_t ctr_ns_pid(pid_t pid)
{
	char path[64], buf[4096], *l;
	uint64_t v;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	n = ferry_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	l = strstr(buf, "\nNSpid:");
	if (!l)
		return -ENOTSUP;
	l += 7;
	l[strcspn(l, "\n")] = 0;
	l = strrchr(l, '\t') ? strrchr(l, '\t') + 1 : l;	/* the innermost */
	if (!ferry_parse_u64(l, 1, INT32_MAX, &v))
		return -EPROTO;
	return (pid_t)v;
}

int ctr_freeze(const struct ctr_info *ci, bool frozen, int timeout_ms, char *err, size_t errlen)
{
	uint64_t deadline = ferry_now_ns() + (uint64_t)timeout_ms * 1000000;
	char path[4200], ev[4096];
	const char *want = frozen ? "frozen 1" : "frozen 0";
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.freeze", ci->cgroup);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, frozen ? "1" : "0", 1) != 1) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return ferry_errf(err, errlen, -e, "%s: %s", path, strerror(e));
	}
	close(fd);
	snprintf(path, sizeof(path), "%s/cgroup.events", ci->cgroup);
	for (;;) {
		if (ferry_read_file(path, ev, sizeof(ev)) >= 0 && strstr(ev, want))
			return 0;
		if (ferry_now_ns() >= deadline)
			return ferry_errf(err, errlen, -ETIMEDOUT, "cgroup %s not %s within %d ms",
					  ci->cgroup, frozen ? "frozen" : "thawed", timeout_ms);
		usleep(2000);
	}
}

/*
 * Podman's failure says "log file: PATH" (CRIU's log in its directory for
 * the container, which goes with the container): CRIU's own error lines
 * from it, appended to err, and a copy into save_as (when given).
 */
static void append_criu_errors(const char *podman_log, const char *save_as, char *err,
			       size_t errlen)
{
	char line[4400], lines[2048], *p;
	const char *cp_argv[] = { "cp", line, save_as, NULL };
	size_t l;
	FILE *f = fopen(podman_log, "re");

	if (!f)
		return;
	p = NULL;
	while (fgets(line, sizeof(line), f))
		if ((p = strstr(line, "log file: ")))
			break;
	fclose(f);
	if (!p)
		return;
	memmove(line, p + 10, strlen(p + 10) + 1);
	chomp(line);
	if (line[0] != '/')
		return;
	mig_log_errors(line, lines, sizeof(lines));
	l = strlen(err);
	if (lines[0])
		snprintf(err + l, errlen - l, "\nCRIU (%s):\n%s", line, lines);
	if (save_as)
		mig_run_timeout(cp_argv, "/dev/null", 10000);
}

int ctr_checkpoint(const struct ctr_info *ci, const char *archive, const char *log, char *err,
		   size_t errlen)
{
	const char *argv[16];
	char tail[2048];
	int n = 0, ret;

	argv[n++] = "podman";
	argv[n++] = "container";
	argv[n++] = "checkpoint";
	argv[n++] = "--with-previous";	/* runc: --parent-path ../pre-checkpoint */
	argv[n++] = "--leave-running";	/* its cgroup stays frozen: see ctr.h */
	argv[n++] = "--keep";		/* stats-dump and dump.log stay for the report */
	argv[n++] = "--tcp-established";	/* held still by ctr_net_lock() */
	argv[n++] = "--compress";
	argv[n++] = "none";		/* the wire compresses */
	argv[n++] = "--export";
	argv[n++] = archive;
	if (ci->vols_precopied)
		argv[n++] = "--ignore-volumes";	/* they are there already */
	argv[n++] = ci->w.id;
	argv[n] = NULL;
	ret = mig_run_timeout(argv, log, CTR_PODMAN_TIMEOUT_MS);
	if (!ret)
		return 0;
	mig_log_errors(log, tail, sizeof(tail));
	ferry_errf(err, errlen, -EIO, "podman container checkpoint failed (%s%d):\n%s",
		   ret < 0 ? "" : "exit ", ret, tail);
	append_criu_errors(log, NULL, err, errlen);
	return -EIO;
}

int ctr_remove(const char *id, const char *log)
{
	const char *argv[] = { "podman", "rm", "--ignore", "-f", "-t", "0", id, NULL };

	return mig_run_timeout(argv, log ? log : "/dev/null", CTR_PODMAN_TIMEOUT_MS) ? -EIO : 0;
}

int ctr_stop(const char *id, const char *log)
{
	const char *argv[] = { "podman", "stop", "-t", "0", id, NULL };

	return mig_run_timeout(argv, log ? log : "/dev/null", CTR_PODMAN_TIMEOUT_MS) ? -EIO : 0;
}

void ctr_forget_checkpoint(const struct ctr_info *ci)
{
	static const char *const sub[] = { "checkpoint", "pre-checkpoint" };
	char path[4200];

	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", ci->static_dir, sub[i]);
		mig_rmtree(path);
	}
}

int ctr_volumes(struct ctr_info *ci, char *err, size_t errlen)
{
	const char *argv[] = {
		"podman", "container", "inspect", "--format",
		"{{range .Mounts}}{{.Type}}\t{{.Name}}\t{{.Source}}\t{{.Destination}}\n{{end}}",
		ci->w.id, NULL,
	};
	const size_t size = 64 * 1024;
	char *out = malloc(size), *l, *save = NULL;
	int ret;

	ci->w.nvols = 0;
	if (!out)
		return ferry_errf(err, errlen, -ENOMEM, "out of memory");
	ret = ctr_capture(argv, out, size, NULL, CTR_PODMAN_TIMEOUT_MS);
	if (ret) {
		free(out);
		return ferry_errf(err, errlen, ret < 0 ? ret : -EIO, "the volumes of container %s: "
				  "podman container inspect %s", ci->w.name,
				  ret < 0 ? strerror(-ret) : "failed");
	}
	for (l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *f[4], *p = l;
		struct wire_ctr_vol *v;
		int i;

		for (i = 0; i < 4 && p; i++) {
			f[i] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = 0;
		}
		if (i < 4 || p) {
			ret = ferry_errf(err, errlen, -EPROTO, "the volumes of container %s: "
					 "unexpected answer from podman", ci->w.name);
			break;
		}
		if (strcmp(f[0], "volume") && strcmp(f[0], "bind")) {
			ferry_warn("container %s: a %s mount at %s is not checked on the destination",
				   ci->w.name, f[0], f[3]);
			continue;
		}
		if (ci->w.nvols == WIRE_CTR_MAX_VOLS) {
			ret = ferry_errf(err, errlen, -E2BIG, "container %s has more than %d volumes",
					 ci->w.name, WIRE_CTR_MAX_VOLS);
			break;
		}
		v = &ci->w.vols[ci->w.nvols];
		v->kind = strcmp(f[0], "volume") ? WIRE_CTR_VOL_BIND : WIRE_CTR_VOL_NAMED;
		if (snprintf(v->src, sizeof(v->src), "%s", v->kind == WIRE_CTR_VOL_NAMED ? f[1] : f[2])
		    >= (int)sizeof(v->src) ||
		    snprintf(v->dest, sizeof(v->dest), "%s", f[3]) >= (int)sizeof(v->dest)) {
			ret = ferry_errf(err, errlen, -ENAMETOOLONG, "container %s: a volume path of "
					 "%d bytes or more", ci->w.name, WIRE_CTR_PATH_MAX);
			break;
		}
		/* one named volume mounted twice is one volume to copy: the
		 * destination makes each name once */
		for (i = 0; v->kind == WIRE_CTR_VOL_NAMED && i < (int)ci->w.nvols; i++)
			if (ci->w.vols[i].kind == WIRE_CTR_VOL_NAMED && !strcmp(ci->w.vols[i].src, v->src))
				break;
		if (v->kind == WIRE_CTR_VOL_NAMED && i < (int)ci->w.nvols) {
			ferry_say("container %s: volume %s is mounted at %s and at %s: copied once",
				  ci->w.name, v->src, ci->w.vols[i].dest, v->dest);
			memset(v, 0, sizeof(*v));
			continue;
		}
		ci->w.nvols++;
	}
	free(out);
	if (!ret && !wire_ctr_ok(&ci->w))
		ret = ferry_errf(err, errlen, -EINVAL, "container %s: a volume ferry cannot name "
				 "(a relative path or an unusual volume name)", ci->w.name);
	if (ret)
		ci->w.nvols = 0;
	return ret;
}

int ctr_exists(const char *kind, const char *ref, const char *log)
{
	const char *argv[] = { "podman", kind, "exists", ref, NULL };
	char out[256];
	int ret = ctr_capture(argv, out, sizeof(out), log, CTR_PODMAN_TIMEOUT_MS);

	if (ret == 0 || ret == 1)
		return !ret;
	return ret < 0 ? ret : -EIO;
}

/*
 * Podman's archive carries each named volume's content, and its restore
 * refuses to replace a volume of the same name; a bind mount's host path
 * must be here (ctr_binds_here). 0, 1 (why in problem) or -errno. One call
 * of Podman.
 */
static int volumes_here(const struct wire_ctr *k, const char *log, char *problem, size_t size)
{
	const char *argv[] = { "podman", "volume", "ls", "--format", "{{.Name}}", NULL };
	const size_t osize = 64 * 1024;
	char *out = NULL, *l;
	int ret = 0;

	for (uint32_t i = 0; i < k->nvols; i++) {
		const struct wire_ctr_vol *v = &k->vols[i];

		if (v->kind == WIRE_CTR_VOL_BIND)
			continue;	/* ctr_binds_here */
		if (!out) {
			out = malloc(osize);
			if (!out)
				return -ENOMEM;
			ret = ctr_capture(argv, out, osize, log, CTR_PODMAN_TIMEOUT_MS);
			if (ret) {
				free(out);
				return ret < 0 ? ret : -EIO;
			}
		}
		for (l = out; *l; l += strcspn(l, "\n"), l += *l == '\n') {
			size_t n = strcspn(l, "\n");

			if (n == strlen(v->src) && !strncmp(l, v->src, n)) {
				ret = ferry_errf(problem, size, 1, "a volume named %s exists here; the "
						 "container brings its own (at %s), and Podman will "
						 "not replace it", v->src, v->dest);
				break;
			}
		}
		if (ret)
			break;
	}
	free(out);
	return ret;
}

int ctr_check_here(const struct wire_ctr *k, const char *log, char *problem, size_t size)
{
	int ret;

	ret = ctr_exists("image", k->image, log);
	if (ret == 0)
		return ferry_errf(problem, size, 1, "image %.12s is not here (podman save there, "
				  "podman load here gives it the same ID)", k->image);
	if (ret == 1)
		ret = ctr_exists("container", k->id, log);
	if (ret == 1)
		return ferry_errf(problem, size, 1, "a container with ID %.12s exists here", k->id);
	if (ret == 0)
		ret = ctr_exists("container", k->name, log);
	if (ret == 1)
		return ferry_errf(problem, size, 1, "a container named %s exists here", k->name);
	if (ret == 0)
		ret = ctr_binds_here(k, "ferry moves named volumes, not host paths", problem, size);
	if (ret == 0)
		ret = volumes_here(k, log, problem, size);
	if (ret < 0)
		return ferry_errf(problem, size, ret, "podman could not be asked (%s)",
				  ret == -ENOENT ? "not installed" : strerror(-ret));
	return ret;
}

int ctr_previous_tar(const char *parent_dir, const char *work_dir, char *tarf, size_t size,
		     char *err, size_t errlen)
{
	char prev[4200], link[4300], log[4300];
	const char *tar_argv[] = { "tar", "-C", prev, "-chf", tarf, "pre-checkpoint", NULL };
	int ret;

	snprintf(prev, sizeof(prev), "%s/previous", work_dir);
	snprintf(link, sizeof(link), "%s/pre-checkpoint", prev);
	snprintf(log, sizeof(log), "%s/previous-tar.log", work_dir);
	snprintf(tarf, size, "%s/previous.tar", work_dir);
	if (parent_dir[0] != '/')
		return ferry_errf(err, errlen, -EINVAL, "%s: not an absolute path", parent_dir);
	if ((mkdir(prev, 0700) && errno != EEXIST) || symlink(parent_dir, link))
		return ferry_errf(err, errlen, -errno, "%s: %s", link, strerror(errno));
	/* -h: the link and each round's parent link become directories */
	ret = mig_run_timeout(tar_argv, log, CTR_PODMAN_TIMEOUT_MS);
	if (ret)
		return ferry_errf(err, errlen, -EIO, "tar of the pre-copied images failed (%d)", ret);
	return 0;
}

/* Why `podman container restore` (exit status or -errno ret, its log in
 * log) failed, into err: its last errors and CRIU's, whose restore log is
 * kept as work_dir/criu-restore.log. */
static void restore_failed(int ret, const char *log, const char *work_dir, int timeout_ms,
			   char *err, size_t errlen)
{
	char tail[2048], saved[4300];

	mig_log_errors(log, tail, sizeof(tail));
	if (ret == -ETIMEDOUT)
		ferry_errf(err, errlen, -EIO, "podman container restore did not finish within "
			   "%d s: killed", timeout_ms / 1000);
	else
		ferry_errf(err, errlen, -EIO, "podman container restore failed (%d):\n%s", ret,
			   tail);
	snprintf(saved, sizeof(saved), "%s/criu-restore.log", work_dir);
	append_criu_errors(log, saved, err, errlen);
}

int ctr_restore(const struct wire_ctr *k, const char *archive, const char *previous_tar,
		bool vols_here, const char *work_dir, int timeout_ms, char *err, size_t errlen)
{
	const char *argv[16];
	char log[4300];
	struct ctr_info ci;
	int n = 0, ret;

	snprintf(log, sizeof(log), "%s/podman-restore.log", work_dir);
	argv[n++] = "podman";
	argv[n++] = "container";
	argv[n++] = "restore";
	argv[n++] = "--import";
	argv[n++] = archive;
	if (previous_tar) {	/* otherwise CRIU reads ferry's images (ctr_criuconf.h) */
		argv[n++] = "--import-previous";
		argv[n++] = previous_tar;
	}
	argv[n++] = "--tcp-established";	/* ignored by Podman if none were dumped */
	if (vols_here)
		argv[n++] = "--ignore-volumes";	/* the container takes them as they are */
	argv[n] = NULL;
	ret = mig_run_flags(argv, log, timeout_ms, MIG_RUN_DIE_WITH_PARENT);
	if (!ret) {
		char ierr[256];

		if (ctr_inspect(k->id, &ci, ierr, sizeof(ierr)))
			ret = ferry_errf(err, errlen, -EIO, "podman restored %.12s, but: %s", k->id,
					 ierr);
		else if (strcmp(ci.w.id, k->id) || strcmp(ci.w.name, k->name))
			ret = ferry_errf(err, errlen, -EIO, "podman restored %.12s as %s (%.12s)", k->id,
					 ci.w.name, ci.w.id);
		if (!ret)
			return 0;
	} else {
		restore_failed(ret, log, work_dir, timeout_ms, err, errlen);
	}
	/* undo: whatever it created goes, so the source may resume (a runc
	 * killed by Podman's timeout may have left its bind mount) */
	ctr_unmount_criu_root(k->id);
	if (ctr_exists("container", k->id, log) == 1 && ctr_remove(k->id, log)) {
		size_t l = strlen(err);

		snprintf(err + l, errlen - l, "; removing container %.12s failed too", k->id);
	}
	return -EIO;
}

int ctr_restore_archive(const char *archive, const char *work_dir, int timeout_ms,
			struct ctr_info *ci, char *err, size_t errlen)
{
	const char *argv[] = {
		"podman", "container", "restore", "--import", archive,
		"--tcp-established",	/* ignored by Podman if none were dumped */
		NULL,
	};
	char log[4300], out[256];
	size_t len;
	int ret;

	snprintf(log, sizeof(log), "%s/podman-restore.log", work_dir);
	ret = ctr_capture(argv, out, sizeof(out), log, timeout_ms);
	if (ret) {
		restore_failed(ret, log, work_dir, timeout_ms, err, errlen);
		return -EIO;
	}
	/* it prints the restored container's ID, and only that */
	chomp(out);
	len = strspn(out, "0123456789abcdef");
	if (len != 64 || out[len])
		return ferry_errf(err, errlen, -EIO, "podman container restore --import said '%.80s', "
				  "not a container ID", out);
	ret = ctr_inspect(out, ci, err, errlen);
	return ret ? -EIO : 0;
}

static int count_conn(const struct proc_tcp_sock *s, void *arg)
{
	if (s->state != 0x0A && s->state != 0x06)	/* LISTEN, TIME_WAIT */
		++*(int *)arg;
	return 0;
}

int ctr_tcp_connections(pid_t pid)
{
	int count = 0, ret = proc_tcp_each(pid, 1, count_conn, &count);

	return ret < 0 ? ret : count;
}
