// SPDX-License-Identifier: GPL-2.0
/*
 * ferry.ko: kernel assistance for live migration of processes.
 * Module entry points only; each feature lives in its own file.
 */
#include <linux/module.h>
#include "ferry.h"

static int __init ferry_init(void)
{
	int ret;

	ret = genl_register_family(&ferry_genl_family);
	if (ret) {
		pr_err("ferry: cannot register generic netlink family: %d\n", ret);
		return ret;
	}
	pr_info("ferry: version %s, ABI %u loaded\n", FERRY_VERSION, FERRY_ABI_VERSION);
	return 0;
}

static void __exit ferry_exit(void)
{
	/*
	 * genl_unregister_family() waits for every doit/dumpit call in
	 * progress (it takes the genetlink locks for writing); a dump that is
	 * between two calls holds a reference on this module, so we cannot
	 * get here while one is pending.
	 */
	genl_unregister_family(&ferry_genl_family);
	pr_info("ferry: unloaded\n");
}

module_init(ferry_init);
module_exit(ferry_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The ferry developers");
MODULE_DESCRIPTION("ferry: dirty-page tracking and TCP state export for live migration");
MODULE_VERSION(FERRY_VERSION);
MODULE_ALIAS_GENL_FAMILY(FERRY_GENL_NAME);
