/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by ha_store.c and ha_manifest.c. */
#ifndef FERRY_HA_STORE_INT_H
#define FERRY_HA_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>

/* A character of such names: [A-Za-z0-9._-] */
bool ha_name_char(char c);
/* A name a manifest may hold: [A-Za-z0-9._-], 1-200 bytes, not . or .. */
bool ha_name_ok(const char *s, size_t len);
/* The names in dirfd, sorted, without . and .. (malloc'ed). */
int ha_dir_names(int dirfd, char ***names, size_t *n);
void ha_names_free(char **names, size_t n);

#endif
