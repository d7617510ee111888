/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One account of the disk a receiver has granted to its concurrent
 * sessions. Each session runs in a process of its own and is granted its
 * budget at pre-flight against the free space of the same directory; with
 * no common account, --max-sessions migrations could together be promised
 * several times the disk there is. The account is a small file in the
 * receiver's state directory (--state-dir, beside the outcome records;
 * --dir stays for images only), STATE/.disk-grants, one line per session
 * ("PID STARTTIME BYTES"), changed only under flock(): a session reads
 * what the others were granted, is granted against the free space less
 * that, and adds its own line; it removes it when it ends. A line whose
 * process is gone (same PID, other start time: reused) is dropped by the
 * next reader, so a killed session frees its grant too.
 *
 * The account is conservative: the bytes a running session has already
 * written count twice (once as used disk, once in its grant), so a second
 * migration may be refused earlier than strictly needed, never later.
 */
#ifndef FERRY_RECV_LEDGER_H
#define FERRY_RECV_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LEDGER_NAME		".disk-grants"	/* dot: the outcome expiry skips it */
#define LEDGER_MAX_ENTRIES	256	/* more lines than sessions can exist */
#define LEDGER_MAX_BYTES	16384	/* what is read of the file */
#define RECV_LEDGER_WAIT_MS	10000	/* another session holds it for milliseconds */

struct ledger_entry {
	pid_t pid;
	uint64_t start;		/* /proc/PID/stat start time: PID reuse */
	uint64_t bytes;
};

struct ledger {
	int fd;			/* locked; -1 when not held */
	char path[4200];
	struct ledger_entry v[LEDGER_MAX_ENTRIES];
	size_t n;
};

/* Parse up to max entries of text; malformed lines are skipped. */
size_t ledger_parse(const char *text, size_t len, struct ledger_entry *v, size_t max);
/* Sum of the grants in v[0..n) other than self's, saturating. */
uint64_t ledger_others(const struct ledger_entry *v, size_t n, pid_t self);

/*
 * Open and lock the account in DIR (waits at most timeout_ms for another
 * session's short hold), read it and drop the lines of sessions that
 * ended. 0 or -errno (err says why).
 */
int ledger_open(struct ledger *l, const char *dir, int timeout_ms, char *err, size_t errlen);
/* Record bytes granted to this process (replacing its line), write and
 * unlock. 0 or -errno. */
int ledger_commit(struct ledger *l, uint64_t bytes, char *err, size_t errlen);
/* Unlock without recording anything. */
void ledger_close(struct ledger *l);
/* Remove this process's line from the account in DIR (session end). */
void ledger_release(const char *dir);

#endif
