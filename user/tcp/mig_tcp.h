/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP connections and the service address of a migration.
 *
 * Source: CRIU dumps the tree with --tcp-established --network-lock
 * nftables. In the host network namespace CRIU 3.17 locks every connection
 * on its own: it creates the nftables table "inet CRIU-<root pid>" whose
 * input and output chains drop the connection's 4-tuples (set conns4 /
 * conns6), puts each socket in TCP_REPAIR mode and dumps it. With
 * --leave-stopped a successful dump leaves both in place, so the peers'
 * packets are dropped (no RST can leave) while the images travel. Then:
 *  - the destination restores: the source kills its copy (a socket in
 *    repair mode closes without a RST) and removes CRIU's table;
 *  - the destination fails: mig_tcp_unlock_source() turns repair off on
 *    every socket CRIU left in repair mode (through pidfd_getfd), puts back
 *    SO_REUSEADDR as the image recorded it, removes the table, and the
 *    tree is resumed: its connections carry on.
 *
 * Destination: the service address moves with the tree. Between adding it
 * and CRIU re-creating the sockets, a peer's retransmission would meet no
 * socket (or the listener) and be answered with a RST; CRIU 3.17 takes no
 * lock on restore in the host netns (it only deletes the dump's table,
 * which does not exist on this host). So ferry locks the address itself:
 * mig_addr_lock() installs "inet ferry_move_A_B_C_D" dropping everything
 * to and from it (CRIU's SOCCR mark excepted, as in CRIU's own lock), the
 * address is added, a gratuitous ARP announces it, and a CRIU post-restore
 * action script -- run after the sockets exist, still in repair mode, and
 * before CRIU turns repair off and resumes the tree, the same point where
 * CRIU drops its own lock -- deletes the table.
 *
 * Order, and why no peer sees a RST:
 *   source: freeze, lock (CRIU-PID table), repair on, dump; remove the
 *           address (the sockets stay, in repair mode, locked)
 *   destination: lock (ferry_move table), add the address, gratuitous ARP,
 *           criu restore [sockets in repair mode; post-restore hook: unlock;
 *           repair off, which sends a window probe; resume]
 *   source: kill the tree (repair-mode sockets close silently), remove
 *           CRIU's table.
 * At every moment a packet of a connection either meets a host without the
 * address (dropped: not local, no forwarding), or the address under a drop
 * rule, or the connection's socket out of repair mode. Dropped packets are
 * retransmitted by the peer, so nothing is lost.
 * If the restore fails, the destination removes the address first and its
 * lock second (the other order would leave a moment with the address and no
 * socket); the source puts the address back, announces it, turns repair
 * off, drops CRIU's table and resumes the tree.
 */
#ifndef FERRY_MIG_TCP_H
#define FERRY_MIG_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <net/if.h>

/* An IPv4 service address that moves with the tree: A.B.C.D/N[@DEV]. */
struct mig_addr {
	struct in_addr addr;
	uint8_t prefix;
	char dev[IF_NAMESIZE];	/* empty: find it */
	int ifindex;
};

/* Parse "A.B.C.D[/N][@DEV]" (N defaults to 32). -EINVAL with err set. */
int mig_addr_parse(const char *spec, struct mig_addr *a, char *err, size_t errlen);
/* "10.99.0.100/24@eth0" */
void mig_addr_fmt(const struct mig_addr *a, char *buf, size_t size);

/* Source: the address must be configured here (on dev, if given); fills
 * dev, ifindex and the configured prefix length. */
int mig_addr_find_local(struct mig_addr *a, char *err, size_t errlen);
/* Destination: the address must not be configured here; resolves dev when
 * empty (the interface with an IPv4 address in the same subnet). */
int mig_addr_check_absent(struct mig_addr *a, char *err, size_t errlen);
int mig_addr_add(const struct mig_addr *a, char *err, size_t errlen);
int mig_addr_del(const struct mig_addr *a, char *err, size_t errlen);
/* Gratuitous ARP (a request and a reply) for the address on its device;
 * -ECANCELED without sending when FERRY_NO_ANNOUNCE is set (to measure how
 * peers fare on neighbour re-resolution alone). */
int mig_addr_announce(const struct mig_addr *a);

/*
 * Destination lock, see above. Writes DIR/unlock.sh (the post-restore
 * action script to hand to `criu restore --action-script`) into script.
 * mig_addr_unlock() removes the table if it is still there: 0 if it was
 * gone already (the script or an earlier call removed it), 1 if this call
 * removed it. With `criu swrk` CRIU notifies ferry instead of running the
 * script, and ferry calls mig_addr_unlock() itself.
 */
int mig_addr_lock(const struct mig_addr *a, const char *dir, char *script, size_t ssize,
		  char *err, size_t errlen);
int mig_addr_unlock(const struct mig_addr *a, const char *dir);

/* A TCP connection of the dump, from CRIU's files.img. */
struct mig_tcp_conn {
	uint32_t ino;		/* the socket's inode on the source */
	uint8_t family;
	uint32_t src[4], dst[4];	/* raw (network order) words as CRIU keeps them */
	uint16_t sport, dport;
	uint32_t state;
	bool reuseaddr;
};

/* The connected TCP sockets that a CRIU image set holds (with a
 * tcp-stream image, i.e. dumped in repair mode). *v malloc'ed. */
int mig_tcp_read_images(const char *dir, struct mig_tcp_conn **v, size_t *n);
/* How many of them are ended connections (CLOSE: no table lists them,
 * here or after the restore; they carry only unread bytes). */
size_t mig_tcp_count_ended(const struct mig_tcp_conn *v, size_t n);

/* Before the freeze: the number of connected TCP sockets of the tree, or
 * -EADDRNOTAVAIL (err says which) if one's local address neither is the
 * moved address (moved may be NULL) nor a loopback one: it would be reset
 * once the tree runs elsewhere. Ended connections (CLOSE, with unread
 * bytes) are in no table and not counted: CRIU dumps them in repair mode
 * without --tcp-established, and a restore with it (the receiver's, always)
 * gives them back their bytes. */
int mig_tcp_tree_check(const pid_t *pids, size_t npids, const struct in_addr *moved,
		       char *err, size_t errlen);
/* The same count for a tree that stays on this host (a checkpoint),
 * whatever the addresses. */
int mig_tcp_tree_count(const pid_t *pids, size_t npids);
/* How many of the tree's connections have retransmitted data not yet
 * acknowledged (tcp_diag.h); -errno if that cannot be read. */
int mig_tcp_tree_recovering(const pid_t *pids, size_t npids);

/* How many of the connections exist in this network namespace, by 4-tuple,
 * in a connected state (the destination after `criu restore`). */
size_t mig_tcp_count_present(const struct mig_tcp_conn *v, size_t n);

/*
 * Source, after a successful dump that must be undone: turn TCP_REPAIR off
 * on the tree's sockets that CRIU left in repair mode (by inode, found in
 * the processes' fd tables), restore SO_REUSEADDR, then remove CRIU's lock
 * table. Returns the number of sockets unlocked, or -errno.
 */
int mig_tcp_unlock_source(pid_t root, const pid_t *pids, size_t npids,
			  const struct mig_tcp_conn *v, size_t n, char *err, size_t errlen);
/* Remove CRIU 3.17's per-tree table "inet CRIU-<root>" (1 removed, 0 none). */
int mig_tcp_drop_criu_table(pid_t root);

#endif
