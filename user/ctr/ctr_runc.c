// SPDX-License-Identifier: GPL-2.0
/* Plain runc on either side of a container migration (ctr_runc.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <gnutls/crypto.h>
#include "ctr_runc.h"
#include "jscan.h"
#include "mig.h"
#include "util.h"

/*
 * The value of "key" in a JSON text, as runc writes it: a string without
 * escapes, or a bare number. Into out (at most size - 1 bytes, else
 * -E2BIG); -ENOENT without the key, -EPROTO for any other form. The first
 * occurrence counts: both texts read here (runc's state, config.json)
 * have each key asked for once.
 */
static int json_scalar(const char *js, const char *key, char *out, size_t size)
{
	char pat[64];
	const char *p, *e;
	size_t n;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(js, pat);
	if (!p)
		return -ENOENT;
	p += strlen(pat);
	p += strspn(p, " \t\r\n");
	if (*p++ != ':')
		return -EPROTO;
	p += strspn(p, " \t\r\n");
	if (*p == '"') {
		e = ++p;
		while (*e && *e != '"' && *e != '\\' && (unsigned char)*e >= 0x20)
			e++;
		if (*e != '"')
			return -EPROTO;
	} else {
		e = p + strspn(p, "0123456789");
		if (e == p)
			return -EPROTO;
	}
	n = (size_t)(e - p);
	if (n >= size)
		return -E2BIG;
	memcpy(out, p, n);
	out[n] = 0;
	return 0;
}

/* BUNDLE/config.json, whole, into a malloc'ed NUL-terminated buffer. */
static int read_config(const char *bundle, char **text, size_t *len)
{
	char path[WIRE_CTR_PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/config.json", bundle);
	return ferry_read_whole(path, CTR_RUNC_CONFIG_MAX, text, len);
}

static int config_hash(const char *text, size_t len, char hex[WIRE_CTR_ID_LEN + 1])
{
	unsigned char d[32];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, text, len, d))
		return -EIO;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return 0;
}

static int config_cgroup(const char *text, const char *id, char *out, size_t size)
{
	char path[1024];
	int ret;

	ret = json_scalar(text, "cgroupsPath", path, sizeof(path));
	if (ret == -ENOENT || (!ret && !path[0]))
		snprintf(path, sizeof(path), "/%s", id);	/* runc's cgroupfs default */
	else if (ret)
		return ret;
	if (strchr(path, ':'))
		return -ENOTSUP;	/* systemd's slice:prefix:name */
	if (!wire_clean_abs_path(path) || strlen(path) + sizeof("/sys/fs/cgroup") > size)
		return -EINVAL;
	snprintf(out, size, "/sys/fs/cgroup%s", path);
	return 0;
}

/* A raw JSON string (s, n) into out, or -ENAMETOOLONG; prefix (NULL or a
 * directory) goes before it with a '/'. */
static int raw_path(const char *prefix, const char *s, size_t n, char *out, size_t size)
{
	int w = prefix ? snprintf(out, size, "%s/%.*s", prefix, (int)n, s)
		       : snprintf(out, size, "%.*s", (int)n, s);

	return w < 0 || (size_t)w >= size ? -ENAMETOOLONG : 0;
}

/* The string (or member key) at c->p, raw; an escape is refused
 * (compared raw, it could hide a "bind"). */
static int plain_str(struct jscan *c, const char **s, size_t *n, bool key)
{
	bool esc;
	int ret = key ? jscan_key(c, s, n, &esc) : jscan_str(c, s, n, &esc);

	return ret ? ret : esc ? -EINVAL : 0;
}

/* One member of mounts[] at c->p (an object): a bind mount into w. */
static int config_mount(struct jscan *c, const char *bundle, struct wire_ctr *w)
{
	const char *key, *type = NULL, *src = NULL, *dst = NULL, *o;
	size_t kn, tn = 0, sn = 0, dn = 0, on;
	struct wire_ctr_vol *v;
	bool bind = false;
	int more, opt, ret = 0;

	if (c->p >= c->end || *c->p != '{')
		return -EINVAL;
	for (more = jscan_open(c, '{'); more > 0 && !ret; more = jscan_more(c, '}')) {
		ret = plain_str(c, &key, &kn, true);
		if (ret)
			break;
		if (jscan_is(key, kn, "type")) {
			ret = plain_str(c, &type, &tn, false);
		} else if (jscan_is(key, kn, "source")) {
			ret = plain_str(c, &src, &sn, false);
		} else if (jscan_is(key, kn, "destination")) {
			ret = plain_str(c, &dst, &dn, false);
		} else if (jscan_is(key, kn, "options") && c->p < c->end && *c->p == '[') {
			for (opt = jscan_open(c, '['); opt > 0 && !ret; opt = jscan_more(c, ']')) {
				ret = plain_str(c, &o, &on, false);
				if (!ret && (jscan_is(o, on, "bind") || jscan_is(o, on, "rbind")))
					bind = true;
			}
			if (!ret && opt < 0)
				ret = opt;
		} else {
			ret = jscan_value(c);
		}
	}
	if (ret || more < 0)
		return ret ? ret : more;
	if (type && jscan_is(type, tn, "bind"))
		bind = true;
	if (!bind)
		return 0;
	if (!src || !sn || !dst || !dn)
		return -EINVAL;
	if (w->nvols == WIRE_CTR_MAX_VOLS)
		return -E2BIG;
	v = &w->vols[w->nvols];
	memset(v, 0, sizeof(*v));
	v->kind = WIRE_CTR_VOL_BIND;
	/* runc takes a relative source as the bundle's, a relative
	 * destination as the root's */
	ret = raw_path(src[0] == '/' ? NULL : bundle, src, sn, v->src, sizeof(v->src));
	if (!ret)
		ret = raw_path(dst[0] == '/' ? NULL : "", dst, dn, v->dest, sizeof(v->dest));
	if (ret)
		return ret;
	w->nvols++;
	return 0;
}

int ctr_runc_config_binds(const char *text, size_t len, const char *bundle, struct wire_ctr *w)
{
	struct jscan c = { .p = text, .end = text + len };
	const char *key;
	size_t kn;
	int more, el, ret = 0;

	w->nvols = 0;
	for (more = jscan_open(&c, '{'); more > 0 && !ret; more = jscan_more(&c, '}')) {
		ret = plain_str(&c, &key, &kn, true);
		if (ret)
			break;
		if (jscan_is(key, kn, "mounts") && c.p < c.end && *c.p == '[') {
			for (el = jscan_open(&c, '['); el > 0 && !ret; el = jscan_more(&c, ']'))
				ret = config_mount(&c, bundle, w);
			if (!ret && el < 0)
				ret = el;
		} else {
			ret = jscan_value(&c);
		}
	}
	if (!ret && more < 0)
		ret = more;
	if (ret)
		w->nvols = 0;
	return ret;
}

int ctr_runc_config_hash(const char *bundle, char hex[WIRE_CTR_ID_LEN + 1])
{
	size_t len;
	char *text;
	int ret;

	ret = read_config(bundle, &text, &len);
	if (ret)
		return ret;
	ret = config_hash(text, len, hex);
	free(text);
	return ret;
}

int ctr_runc_cgroup(const char *bundle, const char *id, char *out, size_t size)
{
	size_t len;
	char *text;
	int ret;

	ret = read_config(bundle, &text, &len);
	if (ret)
		return ret;
	ret = config_cgroup(text, id, out, size);
	free(text);
	return ret;
}

static void runc_argv0(const char **argv, int *n, const char *root)
{
	argv[(*n)++] = "runc";
	argv[(*n)++] = "--root";
	argv[(*n)++] = root;
}

/* `runc --root ROOT state ID`: its output into out, ctr_capture's result
 * (0 it knows the container, > 0 it does not, -errno it could not run). */
static int runc_state(const char *root, const char *id, char *out, size_t size)
{
	const char *argv[8];
	int n = 0;

	runc_argv0(argv, &n, root);
	argv[n++] = "state";
	argv[n++] = id;
	argv[n] = NULL;
	return ctr_capture(argv, out, size, NULL, CTR_RUNC_TIMEOUT_MS);
}

int ctr_runc_inspect(const char *root, const char *id, struct ctr_info *ci, char *err,
		     size_t errlen)
{
	char out[16384], v[WIRE_CTR_PATH_MAX], *text;
	unsigned char rnd[WIRE_CTR_SHARE_LEN / 2];
	uint64_t pid;
	size_t len;
	int ret;

	memset(ci, 0, sizeof(*ci));
	if (!wire_ctr_name_ok(id))
		return ferry_errf(err, errlen, -EINVAL, "%s: not a runc container ID", id);
	if (root[0] != '/')
		return ferry_errf(err, errlen, -EINVAL, "--runc-root %s: not an absolute path",
				  root);
	ret = runc_state(root, id, out, sizeof(out));
	if (ret < 0)
		return ferry_errf(err, errlen, ret, "runc state %s: %s", id,
				  ret == -ENOENT ? "runc not found" : strerror(-ret));
	if (ret)
		return ferry_errf(err, errlen, -ENOENT, "no runc container %s under %s (runc state "
				  "exited with %d)", id, root, ret);
	snprintf(ci->w.engine, sizeof(ci->w.engine), "runc");
	snprintf(ci->w.id, sizeof(ci->w.id), "%s", id);
	snprintf(ci->w.name, sizeof(ci->w.name), "%s", id);
	snprintf(ci->runc_root, sizeof(ci->runc_root), "%s", root);
	if (json_scalar(out, "status", v, sizeof(v)))
		return ferry_errf(err, errlen, -EPROTO, "runc state %s: no status", id);
	if (strcmp(v, "running"))
		return ferry_errf(err, errlen, -ESRCH, "runc container %s is %s, not running", id,
				  v);
	if (json_scalar(out, "pid", v, sizeof(v)) || !ferry_parse_u64(v, 1, INT32_MAX, &pid))
		return ferry_errf(err, errlen, -ESRCH, "runc container %s has no running init", id);
	ci->pid = (pid_t)pid;
	if (json_scalar(out, "bundle", ci->w.bundle, sizeof(ci->w.bundle)) ||
	    !wire_clean_abs_path(ci->w.bundle))
		return ferry_errf(err, errlen, -EPROTO, "runc state %s: no usable bundle path", id);
	/* read once: what is hashed is what the bind mounts come from */
	ret = read_config(ci->w.bundle, &text, &len);
	if (ret)
		return ferry_errf(err, errlen, ret, "%s/config.json: %s", ci->w.bundle,
				  strerror(-ret));
	ret = config_hash(text, len, ci->w.image);
	if (!ret) {
		ret = ctr_runc_config_binds(text, len, ci->w.bundle, &ci->w);
		if (ret == -E2BIG)
			ferry_errf(err, errlen, ret, "runc container %s has more than %d bind "
				   "mounts", id, WIRE_CTR_MAX_VOLS);
		else if (ret)
			ferry_errf(err, errlen, ret, "%s/config.json: %s", ci->w.bundle,
				   ret == -EINVAL ? "its mounts cannot be read (not JSON, or an "
				   "escape in a mount's type, source, destination or options)"
				   : strerror(-ret));
	} else {
		ferry_errf(err, errlen, ret, "%s/config.json: %s", ci->w.bundle, strerror(-ret));
	}
	free(text);
	if (ret)
		return ret;
	ret = ctr_read_cgroup(ci->pid, ci->cgroup, sizeof(ci->cgroup));
	if (ret)
		return ferry_errf(err, errlen, ret, "the cgroup of runc container %s (v2 needed): %s",
				  id, strerror(-ret));
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return ferry_errf(err, errlen, -errno, "getrandom: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(ci->w.share + 2 * i, 3, "%02x", rnd[i]);
	if (!wire_ctr_ok(&ci->w))
		return ferry_errf(err, errlen, -EPROTO, "runc container %s: unexpected ID or bundle",
				  id);
	return 0;
}

int ctr_runc_share_mark(const struct wire_ctr *w, bool make, char *err, size_t errlen)
{
	char name[64];
	int dfd, fd, ret = 0;

	snprintf(name, sizeof(name), CTR_RUNC_SHARE_PREFIX "%s", w->share);
	dfd = open(w->bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ferry_errf(err, errlen, -errno, "%s: %s", w->bundle, strerror(errno));
	if (!make) {
		if (unlinkat(dfd, name, 0) && errno != ENOENT)
			ret = ferry_errf(err, errlen, -errno, "%s/%s: %s", w->bundle, name,
					 strerror(errno));
		close(dfd);
		return ret;
	}
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fsync(fd) || fsync(dfd))
		ret = ferry_errf(err, errlen, -errno, "%s/%s: %s", w->bundle, name, strerror(errno));
	if (fd >= 0)
		close(fd);
	close(dfd);
	return ret;
}

/* ctr.h */
void ctr_append_criu_log(const char *work_dir, const char *log_name, char *err, size_t errlen)
{
	char path[4300], lines[2048];
	size_t l;

	snprintf(path, sizeof(path), "%s/%s", work_dir, log_name);
	mig_log_errors(path, lines, sizeof(lines));
	l = strlen(err);
	if (lines[0])
		snprintf(err + l, errlen - l, "\nCRIU (%s):\n%s", path, lines);
}

int ctr_runc_checkpoint(const struct ctr_info *ci, const char *image_dir, const char *parent_rel,
			const char *work_dir, char *err, size_t errlen)
{
	const char *argv[24];
	char log[4300], tail[2048];
	int n = 0, ret;

	if (mkdir(work_dir, 0700) && errno != EEXIST)
		return ferry_errf(err, errlen, -errno, "%s: %s", work_dir, strerror(errno));
	snprintf(log, sizeof(log), "%s/runc-checkpoint.log", work_dir);
	runc_argv0(argv, &n, ci->runc_root);
	argv[n++] = "checkpoint";
	argv[n++] = "--image-path";
	argv[n++] = image_dir;
	argv[n++] = "--work-path";
	argv[n++] = work_dir;
	argv[n++] = "--parent-path";
	argv[n++] = parent_rel;
	argv[n++] = "--leave-running";		/* its cgroup stays frozen (ctr.h) */
	argv[n++] = "--tcp-established";	/* held still by ctr_net_lock() */
	argv[n++] = ci->w.id;
	argv[n] = NULL;
	ret = mig_run_timeout(argv, log, CTR_RUNC_TIMEOUT_MS);
	if (!ret)
		return 0;
	mig_log_errors(log, tail, sizeof(tail));
	ferry_errf(err, errlen, -EIO, "runc checkpoint failed (%s%d):\n%s", ret < 0 ? "" : "exit ",
		   ret, tail);
	ctr_append_criu_log(work_dir, "dump.log", err, errlen);
	return -EIO;
}

#define RUNC_DELETE_TRIES	6

int ctr_runc_delete(const char *root, const char *id, const char *log)
{
	const char *del[8];
	char out[256];
	int n = 0;

	runc_argv0(del, &n, root);
	del[n++] = "delete";
	del[n++] = "--force";
	del[n++] = id;
	del[n] = NULL;
	/*
	 * runc 1.1's --force sends SIGKILL and gives up when the init has not
	 * gone within 10 s, which a loaded host misses: again until runc no
	 * longer knows it (gone already is what was asked for).
	 */
	for (int i = 0; i < RUNC_DELETE_TRIES; i++) {
		ctr_unmount_criu_root(id);	/* never delete through it */
		if (!mig_run_timeout(del, log ? log : "/dev/null", CTR_RUNC_TIMEOUT_MS))
			return 0;
		if (runc_state(root, id, out, sizeof(out)) > 0)
			return 0;
		sleep(2);
	}
	return -EIO;
}

int ctr_runc_kill(const char *root, const char *id, const char *log)
{
	const char *argv[8];
	int n = 0;

	runc_argv0(argv, &n, root);
	argv[n++] = "kill";
	argv[n++] = id;
	argv[n++] = "KILL";
	argv[n] = NULL;
	return mig_run_timeout(argv, log ? log : "/dev/null", CTR_RUNC_TIMEOUT_MS) ? -EIO : 0;
}

/* ctr_runc_check_here, with the bundle's config.json as read already
 * (config; NULL: read here) */
static int check_here(const struct wire_ctr *k, const char *root, const char *config,
		      size_t config_len, char *problem, size_t size)
{
	const char *ver[] = { "runc", "--version", NULL };
	char out[4096], hash[WIRE_CTR_ID_LEN + 1], cg[4200], name[64], *text = NULL;
	struct stat sb;
	size_t len = config_len;
	int ret, cg_ret = 0, dfd;

	ret = ctr_capture(ver, out, sizeof(out), NULL, CTR_RUNC_TIMEOUT_MS);
	if (ret)
		return ferry_errf(problem, size, ret < 0 ? ret : -ENOENT, "runc could not be run "
				  "here (%s)", ret == -ENOENT || ret == 127 ? "not installed"
				  : ret < 0 ? strerror(-ret) : "it failed");
	ret = runc_state(root, k->id, out, sizeof(out));
	if (ret < 0)
		return ferry_errf(problem, size, ret, "runc state: %s", strerror(-ret));
	if (ret == 0)
		return ferry_errf(problem, size, 1, "a runc container %s exists here (under %s)",
				  k->id, root);
	dfd = open(k->bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ferry_errf(problem, size, 1, "its bundle %s is not here (%s): ferry moves a "
				  "runc container whose bundle both hosts share", k->bundle,
				  strerror(errno));
	/* no marker: a restore from a store (ctr_runc_check_restore) */
	snprintf(name, sizeof(name), CTR_RUNC_SHARE_PREFIX "%s", k->share);
	ret = k->share[0] ? fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) : 0;
	close(dfd);
	if (ret)
		return ferry_errf(problem, size, 1, "bundle %s here is not the source's (its marker "
				  "%s is not seen here): a runc container moves only with its "
				  "bundle on storage both hosts share", k->bundle, name);
	/* read once: what is hashed is what names the cgroup */
	ret = config ? 0 : read_config(k->bundle, &text, &len);
	if (!ret) {
		ret = config_hash(config ? config : text, len, hash);
		cg_ret = config_cgroup(config ? config : text, k->id, cg, sizeof(cg));
		free(text);
	}
	if (ret)
		return ferry_errf(problem, size, 1, "%s/config.json here: %s", k->bundle,
				  strerror(-ret));
	if (strcmp(hash, k->image))
		return ferry_errf(problem, size, 1, "%s/config.json here differs from the source's",
				  k->bundle);
	if (cg_ret)
		return ferry_errf(problem, size, 1, "its cgroup: %s", cg_ret == -ENOTSUP ?
				  "a systemd cgroupsPath (not supported)" : strerror(-cg_ret));
	if (!stat(cg, &sb))
		return ferry_errf(problem, size, 1, "its cgroup %s exists here", cg);
	return ctr_binds_here(k, "ferry copies no bind mount of a runc container", problem,
			      size);
}

int ctr_runc_check_here(const struct wire_ctr *k, const char *root, char *problem, size_t size)
{
	return check_here(k, root, NULL, 0, problem, size);
}

int ctr_runc_root_opt(const char *arg, const char **root)
{
	if (arg[0] != '/') {
		ferry_err("--runc-root %s: not an absolute path", arg);
		return -1;
	}
	*root = arg;
	return 0;
}

int ctr_runc_check_restore(struct wire_ctr *k, const char *root, char *problem, size_t size)
{
	size_t len;
	char *text;
	int ret;

	k->share[0] = 0;
	k->nvols = 0;
	ret = read_config(k->bundle, &text, &len);
	if (ret)
		return ferry_errf(problem, size, 1, "its bundle's %s/config.json here: %s",
				  k->bundle, strerror(-ret));
	ret = ctr_runc_config_binds(text, len, k->bundle, k);
	if (ret)
		ret = ferry_errf(problem, size, 1, "%s/config.json here: its mounts: %s",
				 k->bundle, strerror(-ret));
	else
		ret = check_here(k, root, text, len, problem, size);
	free(text);
	return ret;
}

int ctr_runc_restore(const struct wire_ctr *k, const char *root, const char *image_dir,
		     const char *work_dir, bool lazy, const char *out_log, int timeout_ms,
		     char *err, size_t errlen)
{
	const char *argv[24];
	char pidf[4300], tail[2048], out[16384], status[64];
	int n = 0, ret;

	if (mkdir(work_dir, 0700) && errno != EEXIST)
		return ferry_errf(err, errlen, -errno, "%s: %s", work_dir, strerror(errno));
	snprintf(pidf, sizeof(pidf), "%s/init.pid", work_dir);
	runc_argv0(argv, &n, root);
	argv[n++] = "restore";
	argv[n++] = "--detach";
	argv[n++] = "--image-path";
	argv[n++] = image_dir;
	argv[n++] = "--work-path";
	argv[n++] = work_dir;
	argv[n++] = "--bundle";
	argv[n++] = k->bundle;
	argv[n++] = "--tcp-established";
	if (lazy)
		argv[n++] = "--lazy-pages";
	argv[n++] = "--pid-file";
	argv[n++] = pidf;
	argv[n++] = k->id;
	argv[n] = NULL;
	/* its output, and the container's own, which inherits it */
	ret = mig_run_flags(argv, out_log, timeout_ms, MIG_RUN_DIE_WITH_PARENT);
	if (!ret) {
		if (runc_state(root, k->id, out, sizeof(out)) ||
		    json_scalar(out, "status", status, sizeof(status)))
			snprintf(status, sizeof(status), "unknown");
		if (!strcmp(status, "running"))
			return 0;
		ferry_errf(err, errlen, -EIO, "runc restore exited 0, but the container is %s",
			   status);
	} else {
		mig_log_errors(out_log, tail, sizeof(tail));
		if (ret == -ETIMEDOUT)
			ferry_errf(err, errlen, -EIO, "runc restore did not finish within %d s: "
				   "killed", timeout_ms / 1000);
		else
			ferry_errf(err, errlen, -EIO, "runc restore failed (%d):\n%s", ret, tail);
		ctr_append_criu_log(work_dir, "restore.log", err, errlen);
	}
	ctr_runc_delete(root, k->id, out_log);
	return -EIO;
}
