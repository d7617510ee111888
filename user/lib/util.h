/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by every ferry command. */
#ifndef FERRY_UTIL_H
#define FERRY_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes: documented in `ferry --help`; scripts depend on them. */
enum ferry_exit {
	FERRY_EXIT_OK		= 0,
	FERRY_EXIT_FAIL		= 1,	/* operation failed */
	FERRY_EXIT_USAGE	= 2,	/* bad command line */
	FERRY_EXIT_MISSING	= 3,	/* `check`: something needed is missing */
	FERRY_EXIT_NOPROC	= 4,	/* no such process */
	FERRY_EXIT_PERM		= 5,	/* not permitted */
	FERRY_EXIT_NOMODULE	= 6,	/* ferry.ko needed but not loaded */
	FERRY_EXIT_UNDECIDED	= 7,	/* migrate: outcome unknown, tree left frozen */
};

extern const char *ferry_prog;

/* Write all of buf (retrying short writes and EINTR): 0 or -errno. */
int ferry_write_all(int fd, const void *buf, size_t len);
/* The same at offset off. */
int ferry_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
/* Copy len bytes of in_fd from offset off to out_fd's file position: by
 * the kernel (copy_file_range) where it can, else read and written here.
 * 0, -EIO if in_fd ends first, -ENOMEM, -errno. */
int ferry_copy_range(int in_fd, uint64_t off, uint64_t len, int out_fd);
/* Regular file from (not through a symbolic link), whole, as a new file
 * to (mode 0600; it must not exist; removed again on failure). 0, -EINVAL
 * (not a regular file), -errno. */
int ferry_copy_file(const char *from, const char *to);

/* One message line "PREFIX1PREFIX2message\n" on stderr, written with a single
 * write(2): a forked helper (the lazy-pages server) shares stderr with its
 * parent, and a line written in pieces can have the other's message land
 * between its text and its newline. The message is passed through
 * ferry_sanitize() (newlines kept): peer strings end up in these lines. */
void ferry_vline(const char *prefix1, const char *prefix2, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
void ferry_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ferry_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Make a string safe for a terminal or a log, in place: every byte that is
 * a control character (ESC above all), DEL or not ASCII becomes '?', so
 * that a peer's host name or message cannot move the cursor, clear the
 * screen or forge a log line. '\n' and '\t' stay when keep_newlines (our
 * own multi-line messages). Returns how many bytes were replaced.
 */
size_t ferry_sanitize(char *s, bool keep_newlines);

/* "ferry: " + a sanitized line on stderr: progress of the commands. */
void ferry_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* mkdir -p: parents 0755, the last component mode; 0 or -errno. */
int ferry_mkdirs(const char *path, unsigned int mode);

/* Map an errno from the kernel or a syscall to an exit code. */
int ferry_exit_from_errno(int err);

/* Format a human reason into err (if given) and return ret: for
 * functions that report failures as -errno plus a message buffer. */
int ferry_errf(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

uint64_t ferry_now_ns(void);	/* CLOCK_MONOTONIC */
/* Set (to the signal number) by a command's SIGINT/SIGTERM/SIGHUP handler;
 * blocking socket I/O then returns -EINTR instead of retrying. */
#include <signal.h>
extern volatile sig_atomic_t ferry_interrupted;

/* Append arg to v (*n of max used) for a repeatable option: 0, or -1 when
 * full (said, naming opt). */
int ferry_arg_push(const char **v, int *n, int max, const char *arg, const char *opt);

/* In a forked helper: close every descriptor above stderr but keep (or
 * but a and b; -1 keeps nothing). */
void ferry_close_fds_except(int keep);
void ferry_close_fds_except2(int a, int b);

/* Parse a decimal number into [min, max]; false on garbage or range. */
bool ferry_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* qsort/bsearch order of uint32_t values */
int ferry_cmp_u32(const void *a, const void *b);
/* Is x among the n sorted (ferry_cmp_u32) values of v? */
bool ferry_u32_in(const uint32_t *v, size_t n, uint32_t x);

/* The names in the directory dirfd, sorted (strcmp), "." and ".." left
 * out, at most max (else -E2BIG): *names and each name malloc'ed, nothing
 * left on an error. The directory is read from its start. */
int ferry_dir_names(int dirfd, size_t max, char ***names, size_t *n);
void ferry_names_free(char **names, size_t n);

/* A regular file of at most max bytes (not through a symbolic link),
 * whole, into a malloc'ed NUL-terminated *text, its length in *len. 0,
 * -EFBIG (larger), -EINVAL (not a regular file), -errno. */
int ferry_read_whole(const char *path, size_t max, char **text, size_t *len);
/* The same through symbolic links (a restore reads images linked into the
 * store); still regular files only, and -EIO if it shrinks while read. */
int ferry_read_whole_follow(const char *path, size_t max, char **text, size_t *len);

/* Read a small text file into buf (NUL-terminated, trailing newline
 * stripped). Returns length or -errno. */
int ferry_read_file(const char *path, char *buf, size_t size);

#endif
