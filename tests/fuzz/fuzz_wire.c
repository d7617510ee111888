// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: a hostile byte stream into the wire layer, as either end
 * reads it. The input is the stream (through the transport hooks, no
 * socket); every frame goes to the parser its type names.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "wire.h"
#include "wire_store.h"
#include "wire_vol.h"
#include "wire_pc.h"

struct stream {
	const uint8_t *p;
	size_t len, off;
};

static ssize_t s_recv(void *ctx, void *buf, size_t n)
{
	struct stream *s = ctx;

	if (n > s->len - s->off)
		n = s->len - s->off;
	memcpy(buf, s->p + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static ssize_t s_send(void *ctx, const void *buf, size_t n)
{
	(void)ctx;
	(void)buf;
	return (ssize_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *pages;
	static int nul = -1;
	struct stream s = { data, size, 0 };
	struct wire_conn c;
	struct wire_msg m;

	if (!pages)
		pages = malloc(WIRE_MAX_PAGES * WIRE_PAGE_SIZE);
	if (nul < 0)
		nul = open("/dev/null", O_WRONLY);
	wire_init(&c, -1);
	c.x.recv = s_recv;
	c.x.send = s_send;
	c.x.ctx = &s;
	for (int frames = 0; frames < 64 && !wire_recv(&c, &m); frames++) {
		union {
			struct wire_hello h;
			struct wire_pages_hdr p;
			struct wire_round r;
			struct wire_file f;
			struct wire_move_addr a;
			struct wire_outcome_msg o;
			struct wire_store_open so;
			struct wire_store_version sv;
			struct wire_store_entry se;
			struct wire_ctr k;
			struct wire_vol vol;
			struct wire_pc_file pcf;
			struct wire_pc_req pcq;
		} u;
		struct wire_ct *ct;
		struct wire_ct6 *ct6;
		uint32_t ct_addr, nct;
		uint8_t ct6_addr[WIRE_CT6_ADDR_LEN];
		static struct wire_store_have have;
		char msg[256];
		int32_t code;
		uint64_t v[6];

		switch (m.type) {
		case WIRE_HELLO:
			wire_parse_hello(&c, &m, &u.h);
			break;
		case WIRE_PAGES:
			wire_parse_pages(&c, &m, &u.p, pages, WIRE_MAX_PAGES * WIRE_PAGE_SIZE);
			break;
		case WIRE_ROUND_END:
		case WIRE_ROUND_ACK:
			wire_parse_round(&c, &m, &u.r);
			break;
		case WIRE_FILE_BEGIN:
			if (!wire_parse_file_begin(&c, &m, &u.f)) {
				struct wire_file f = u.f;

				wire_recv_file_body(&c, &f, nul);
			}
			break;
		case WIRE_MOVE_ADDR:
		case WIRE_MOVE_ADDR_ACK:
			wire_parse_move_addr(&c, &m, &u.a);
			break;
		case WIRE_OUTCOME:
			wire_parse_outcome(&c, &m, &u.o);
			break;
		case WIRE_STORE_OPEN:
			wire_parse_store_open(&c, &m, &u.so);
			break;
		case WIRE_STORE_HAVE:
			wire_parse_store_have(&c, &m, &have);
			break;
		case WIRE_STORE_VERSION:
			wire_parse_store_version(&c, &m, &u.sv);
			break;
		case WIRE_STORE_FILE:
		case WIRE_STORE_LINK:
			if (!wire_parse_store_entry(&c, &m, &u.se) && m.type == WIRE_STORE_FILE) {
				struct wire_file f = { .size = u.se.size };

				wire_recv_file_body(&c, &f, nul);
			}
			break;
		case WIRE_CONTAINER:
			wire_parse_ctr(&c, &m, &u.k);
			break;
		case WIRE_CONNTRACK:
			if (!wire_parse_ct(&c, &m, &ct_addr, &ct, &nct))
				free(ct);
			break;
		case WIRE_CONNTRACK6:
			if (!wire_parse_ct6(&c, &m, ct6_addr, &ct6, &nct))
				free(ct6);
			break;
		case WIRE_VOLUME:
			if (!wire_parse_vol(&c, &m, &u.vol) && u.vol.op == WIRE_VOL_FILE) {
				struct wire_file f = { .size = u.vol.size };

				wire_recv_file_body(&c, &f, nul);
			}
			break;
		case WIRE_PC_FILE:
			wire_parse_pc_file(&c, &m, &u.pcf);
			break;
		case WIRE_PC_REQ:
			wire_parse_pc_req(&c, &m, &u.pcq);
			break;
		case WIRE_PC_DATA:
			wire_parse_pages_as(&c, &m, WIRE_PC_DATA, &u.p, pages,
					    WIRE_MAX_PAGES * WIRE_PAGE_SIZE);
			break;
		case WIRE_PC_DONE:
			wire_parse_u64s(&c, &m, v, WIRE_PC_DONE_N);
			break;
		case WIRE_ERROR:
		case WIRE_ABORT:
		case WIRE_NOT_RESTORED:
			wire_parse_error(&c, &m, &code, msg, sizeof(msg));
			break;
		default:
			wire_parse_u64s(&c, &m, v, m.type == WIRE_RESTORED ? 6 : 1);
			break;
		}
	}
	wire_free(&c);
	return 0;
}
