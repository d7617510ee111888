/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences, in one place. Code elsewhere in kmod/ must
 * not test LINUX_VERSION_CODE itself; it calls what this file provides.
 * Supported: Debian's 6.1 and 6.12 kernels (and what lies between).
 */
#ifndef FERRY_COMPAT_H
#define FERRY_COMPAT_H

#include <linux/version.h>
#include <net/genetlink.h>

/* Parsed request attributes of a dump (struct genl_dumpit_info changed
 * shape in 6.2: attrs moved into an embedded struct genl_info). */
static inline struct nlattr **ferry_dump_attrs(struct netlink_callback *cb)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	return genl_dumpit_info(cb)->info.attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

#endif /* FERRY_COMPAT_H */
