/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The destination's guard over a restore it has not yet reported.
 *
 * Until the source has been told "the tree runs here", the source resumes
 * its own copy on any failure, so a tree restored here must not outlive a
 * receiver that dies first (SIGKILL, OOM, a crash): there would be two live
 * copies. The guard is a small child that holds the read end of a pipe.
 * When the receiver commits (RESTORED sent) or cleans up a failure itself,
 * it writes one byte and the guard exits (another byte, from
 * mig_guard_fire(), has it undo as below without the message a dead
 * receiver's guard prints). When the pipe closes without that
 * byte, the receiver is gone: the guard kills the CRIU worker and every
 * process of the tree that started after the guard did (so never a process
 * that merely owns one of the tree's PIDs). The undo callback runs before
 * the kills (phase 0: lock the moved service address, so that no socket
 * of the dying tree answers a peer with a RST) and after them (phase 1:
 * the address goes).
 */
#ifndef FERRY_MIG_GUARD_H
#define FERRY_MIG_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mig_guard {
	pid_t pid;	/* the guard, 0 when none */
	int fd;		/* write end of its pipe */
};

/*
 * Start a guard over the tree whose PIDs are pids[0..n) (pstree.img),
 * restored by worker (0: none to kill). undo(arg, 0) and undo(arg, 1) run
 * in the guard, before and after the kills. 0 or -errno.
 */
int mig_guard_start(struct mig_guard *g, const uint32_t *pids, size_t n, pid_t worker,
		    void (*undo)(void *arg, int phase), void *arg);
/* Stand down: the receiver committed or cleaned up. */
void mig_guard_release(struct mig_guard *g);
/* Undo now, as if the receiver had died, and wait for it (the source will
 * resume: e.g. RESTORED could not be sent). */
void mig_guard_fire(struct mig_guard *g);

/* Pure, for the unit tests: field 22 (starttime) of a /proc/PID/stat line,
 * whose comm may hold spaces and parentheses. 0 if malformed. */
uint64_t mig_stat_starttime(const char *stat);
/* Start time of PID (field 22 of /proc/PID/stat); 0 if it is gone. */
uint64_t mig_pid_starttime(pid_t pid);

#endif
