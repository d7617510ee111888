/* SPDX-License-Identifier: GPL-2.0 */
/* Between lazy_map.c (the page map, image files) and lazy_server.c. */
#ifndef FERRY_LAZY_INT_H
#define FERRY_LAZY_INT_H

#include <stdint.h>
#include "lazy_server.h"

#define PAGE 4096ull

uint64_t lz_ext_end(const struct lz_ext *e);
/* Post-copy: the pages files still arriving (set by the server before it
 * loads maps), and the remote file an fd of the loaded maps is open on
 * (its index in lz_remote_cur->f), or -1. */
extern const struct lz_remote *lz_remote_cur;
int lz_remote_file_of(int fd);

#endif
