// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: PREFLIGHT (what a source sends the receiver) and
 * PREFLIGHT_ANS (what a destination sends the source) payloads; the first
 * byte picks which. Parsing only: preflight_check() would open the paths.
 */
#include <stdint.h>
#include <string.h>
#include "preflight.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_conn c;
	struct wire_msg m;

	if (!size || size - 1 > WIRE_MAX_PAYLOAD)
		return 0;
	wire_init(&c, -1);
	m.type = data[0] & 1 ? WIRE_PREFLIGHT_ANS : WIRE_PREFLIGHT;
	m.payload = data + 1;
	m.len = (uint32_t)(size - 1);
	if (m.type == WIRE_PREFLIGHT) {
		struct pf_list l;

		if (!preflight_parse(&c, &m, &l))
			pf_list_free(&l);
	} else {
		struct pf_report r;
		char line[8192];

		if (!preflight_parse_report(&c, &m, &r)) {
			for (size_t i = 0; i < r.n; i++)
				pf_problem_str(&r.v[i], line, sizeof(line));
			pf_report_free(&r);
		}
	}
	wire_free(&c);
	return 0;
}
