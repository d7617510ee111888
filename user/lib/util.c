// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "util.h"

volatile sig_atomic_t ferry_interrupted;

const char *ferry_prog = "ferry";

size_t ferry_sanitize(char *s, bool keep_newlines)
{
	size_t n = 0;

	for (unsigned char *p = (unsigned char *)s; *p; p++) {
		if ((*p == '\n' || *p == '\t') && keep_newlines)
			continue;
		if (*p < 0x20 || *p >= 0x7f) {
			*p = '?';
			n++;
		}
	}
	return n;
}

int ferry_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

void ferry_vline(const char *prefix1, const char *prefix2, const char *fmt, va_list ap)
{
	char *msg = NULL, *line = NULL;
	va_list cp;
	int n;

	va_copy(cp, ap);
	if (vasprintf(&msg, fmt, cp) < 0)
		msg = NULL;
	va_end(cp);
	/* peer strings reach these lines: no escape sequence gets through */
	if (msg)
		ferry_sanitize(msg, true);
	n = msg ? asprintf(&line, "%s%s%s\n", prefix1, prefix2, msg) : -1;
	if (n < 0) {
		/* out of memory: the line in pieces is better than none */
		fprintf(stderr, "%s%s", prefix1, prefix2);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		fflush(stderr);
		ferry_write_all(STDERR_FILENO, line, (size_t)n);
	}
	free(line);
	free(msg);
}

static void vmsg(const char *kind, const char *fmt, va_list ap)
{
	char prefix[128];

	snprintf(prefix, sizeof(prefix), "%s: ", ferry_prog);
	ferry_vline(prefix, kind, fmt, ap);
}

void ferry_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("error: ", fmt, ap);
	va_end(ap);
}

void ferry_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

int ferry_errf(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

int ferry_exit_from_errno(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:		return FERRY_EXIT_OK;
	case ESRCH:	return FERRY_EXIT_NOPROC;
	case EPERM:
	case EACCES:	return FERRY_EXIT_PERM;
	case EINVAL:	return FERRY_EXIT_USAGE;
	default:	return FERRY_EXIT_FAIL;
	}
}

uint64_t ferry_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool ferry_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int ferry_copy_range(int in_fd, uint64_t off, uint64_t len, int out_fd)
{
	loff_t in = (loff_t)off;
	uint8_t *buf = NULL;
	int ret = 0;

	while (len) {
		ssize_t n = copy_file_range(in_fd, &in, out_fd, NULL, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;		/* unsupported here (EXDEV, ...) or short: by hand */
		len -= (uint64_t)n;
	}
	/* a buffer no larger than the copy: a fold calls this per page run */
	size_t bufsize = len > (1u << 20) ? (1u << 20) : (size_t)len;

	while (!ret && len) {
		size_t chunk = len > bufsize ? bufsize : (size_t)len;
		ssize_t r;

		if (!buf && !(buf = malloc(bufsize)))
			return -ENOMEM;
		r = pread(in_fd, buf, chunk, in);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : -EIO;
			break;
		}
		ret = ferry_write_all(out_fd, buf, (size_t)r);
		in += r;
		len -= (uint64_t)r;
	}
	free(buf);
	return ret;
}

int ferry_copy_file(const char *from, const char *to)
{
	struct stat sb;
	int in, out, ret;

	in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -errno;
	if (fstat(in, &sb) || !S_ISREG(sb.st_mode)) {
		ret = fstat(in, &sb) ? -errno : -EINVAL;
		close(in);
		return ret;
	}
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		ret = -errno;
		close(in);
		return ret;
	}
	ret = ferry_copy_range(in, 0, (uint64_t)sb.st_size, out);
	if (close(out) && !ret)
		ret = -errno;
	close(in);
	if (ret)
		unlink(to);
	return ret;
}

static int read_whole(const char *path, int oflags, size_t max, char **text, size_t *len)
{
	struct stat sb;
	char *buf;
	size_t got = 0;
	int fd, ret = 0;

	/* O_NONBLOCK: a FIFO in its place must not block the open */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | oflags);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > max) {
		ret = fstat(fd, &sb) ? -errno : S_ISREG(sb.st_mode) ? -EFBIG : -EINVAL;
		close(fd);
		return ret;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : -EIO;	/* it shrank under us */
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[got] = 0;
	*text = buf;
	*len = got;
	return 0;
}

int ferry_read_whole(const char *path, size_t max, char **text, size_t *len)
{
	return read_whole(path, O_NOFOLLOW, max, text, len);
}

int ferry_read_whole_follow(const char *path, size_t max, char **text, size_t *len)
{
	return read_whole(path, 0, max, text, len);
}

int ferry_read_file(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return (int)n;
}

int ferry_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

void ferry_close_fds_except(int keep)
{
	ferry_close_fds_except2(keep, -1);
}

void ferry_close_fds_except2(int a, int b)
{
	unsigned int from = 3;
	int keep[2] = { a < b ? a : b, a < b ? b : a };

	for (int i = 0; i < 2; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned int)keep[i] > from)
			close_range(from, (unsigned int)keep[i] - 1, 0);
		from = (unsigned int)keep[i] + 1;
	}
	close_range(from, ~0U, 0);
}

void ferry_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ferry_vline("ferry: ", "", fmt, ap);
	va_end(ap);
}

int ferry_mkdirs(const char *path, unsigned int mode)
{
	char buf[4096];

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int ferry_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

bool ferry_u32_in(const uint32_t *v, size_t n, uint32_t x)
{
	return n && bsearch(&x, v, n, sizeof(*v), ferry_cmp_u32);
}

int ferry_arg_push(const char **v, int *n, int max, const char *arg, const char *opt)
{
	if (*n >= max) {
		ferry_err("too many %s (at most %d)", opt, max);
		return -1;
	}
	v[(*n)++] = arg;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ferry_dir_names(int dirfd, size_t max, char ***names, size_t *n)
{
	size_t cap = 0;
	struct dirent *de;
	int fd = dup(dirfd), ret = 0;
	DIR *d;

	*names = NULL;
	*n = 0;
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	/* a dup shares the directory's offset: from its start */
	rewinddir(d);
	while (!ret && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n >= max) {
			ret = -E2BIG;
			break;
		}
		if (*n == cap) {
			char **nn = realloc(*names, (cap = cap ? 2 * cap : 32) * sizeof(**names));

			if (!nn) {
				ret = -ENOMEM;
				break;
			}
			*names = nn;
		}
		if (!((*names)[*n] = strdup(de->d_name))) {
			ret = -ENOMEM;
			break;
		}
		(*n)++;
	}
	closedir(d);
	if (ret) {
		ferry_names_free(*names, *n);
		*names = NULL;
		*n = 0;
		return ret;
	}
	qsort(*names, *n, sizeof(**names), cmp_str);
	return 0;
}

void ferry_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
