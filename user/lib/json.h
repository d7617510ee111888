/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal streaming JSON writer for --json reports. Handles commas and
 * string escaping; the caller keeps the nesting straight.
 */
#ifndef FERRY_JSON_H
#define FERRY_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json {
	FILE *f;
	int depth;
	bool need_comma[32];
};

void json_init(struct json *j, FILE *f);
void json_obj_open(struct json *j, const char *key);	/* key NULL in arrays/top */
void json_obj_close(struct json *j);
void json_arr_open(struct json *j, const char *key);
void json_arr_close(struct json *j);
void json_str(struct json *j, const char *key, const char *val);
void json_u64(struct json *j, const char *key, uint64_t val);
void json_i64(struct json *j, const char *key, int64_t val);
void json_double(struct json *j, const char *key, double val);
void json_bool(struct json *j, const char *key, bool val);
void json_null(struct json *j, const char *key);
/* Ends the top-level value with a newline and flushes. */
void json_end(struct json *j);

#endif
