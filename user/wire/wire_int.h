/* SPDX-License-Identifier: GPL-2.0 */
/* Between wire.c (framing, transport) and wire_msg.c (typed messages). */
#ifndef FERRY_WIRE_INT_H
#define FERRY_WIRE_INT_H

#include <stddef.h>
#include <stdint.h>
#include "wire.h"

/* c->err = the message; returns err. */
int wire_fail(struct wire_conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void wire_put_le(uint8_t *p, uint64_t v, int n);
uint64_t wire_get_le(const uint8_t *p, int n);
/* Send b as one frame of type and free it (-ENOMEM if it ran out). */
int wire_send_buf(struct wire_conn *c, uint16_t type, struct wire_buf *b);
/* All n bytes onto the stream, within the frame's limit. */
int wire_write_all(struct wire_conn *c, const void *p, size_t n);

#endif
