// SPDX-License-Identifier: GPL-2.0
/* The source's report of a migration that succeeded (mig_src.h). */
#include <stdio.h>
#include "json.h"
#include "mig_src.h"
#include "util.h"

void src_report(struct mig *m)
{
	uint64_t raw = 0, wire = 0, pages = 0;
	struct json j;

	for (size_t i = 0; i < m->nrounds; i++) {
		raw += m->hist[i].raw_bytes;
		wire += m->hist[i].wire_bytes;
		pages += m->hist[i].sent_pages;
	}
	if (!m->o->json && m->ctr) {
		printf("migrated container %s (%.12s) to %s: downtime %llu ms, total %llu ms, "
		       "%zu rounds,\n"
		       "  %llu pages pre-copied (%.1f MiB, %.1f MiB on the wire), checkpoint archive "
		       "%.1f MiB, %zu TCP connection%s\n",
		       m->ctr->w.name, m->ctr->w.id, m->o->to,
		       (unsigned long long)((m->t_restored - m->t_freeze) / 1000000),
		       (unsigned long long)((m->t_restored - m->t0) / 1000000), m->nrounds,
		       (unsigned long long)pages, raw / 1048576.0, wire / 1048576.0,
		       m->image_bytes / 1048576.0, m->nconns, m->nconns == 1 ? "" : "s");
		return;
	}
	if (!m->o->json) {
		printf("migrated %d to %s: downtime %llu ms, total %llu ms, %zu rounds,\n"
		       "  %llu pages pre-copied (%.1f MiB, %.1f MiB on the wire), final images %.1f MiB\n",
		       m->o->pid, m->o->to,
		       (unsigned long long)((m->t_restored - m->t_freeze) / 1000000),
		       (unsigned long long)((m->t_restored - m->t0) / 1000000), m->nrounds,
		       (unsigned long long)pages, raw / 1048576.0, wire / 1048576.0,
		       m->image_bytes / 1048576.0);
		return;
	}
	json_init(&j, stdout);
	json_obj_open(&j, NULL);
	json_u64(&j, "pid", (uint64_t)m->o->pid);
	if (m->ctr) {
		json_obj_open(&j, "container");
		json_str(&j, "engine", m->ctr->w.engine);
		json_str(&j, "id", m->ctr->w.id);
		json_str(&j, "name", m->ctr->w.name);
		/* runc: config.json's SHA-256, and where that is */
		json_str(&j, "image", m->ctr->w.image);
		if (m->ctr->w.bundle[0])
			json_str(&j, "bundle", m->ctr->w.bundle);
		json_arr_open(&j, "volumes");
		for (uint32_t i = 0; i < m->ctr->w.nvols; i++) {
			const struct wire_ctr_vol *v = &m->ctr->w.vols[i];
			bool named = v->kind == WIRE_CTR_VOL_NAMED;
			const struct src_vol *sv = NULL;

			for (uint32_t n = 0; n < m->nvols; n++)
				if (m->vols[n].idx == i)
					sv = &m->vols[n];
			json_obj_open(&j, NULL);
			json_str(&j, "type", named ? "volume" : "bind");
			json_str(&j, "source", v->src);
			json_str(&j, "destination", v->dest);
			json_str(&j, "handling", sv ? "pre-copied" : named ? "copied"
									  : "left-in-place");
			if (sv) {
				/* pre-copy while it ran; then, frozen, what changed */
				json_u64(&j, "precopy_files", sv->pre_st.files);
				json_u64(&j, "precopy_bytes", sv->pre_st.bytes);
				json_u64(&j, "precopy_ms", sv->pre_ms);
				json_u64(&j, "final_files", sv->fin_st.files);
				json_u64(&j, "final_bytes", sv->fin_st.bytes);
				json_u64(&j, "final_deleted", sv->fin_st.deleted);
				json_u64(&j, "final_ms", sv->fin_ms);
			}
			json_obj_close(&j);
		}
		json_arr_close(&j);
		json_obj_close(&j);
	}
	json_str(&j, "to", m->o->to);
	json_u64(&j, "downtime_ms", (m->t_restored - m->t_freeze) / 1000000);
	json_u64(&j, "total_ms", (m->t_restored - m->t0) / 1000000);
	json_u64(&j, "rounds", m->nrounds);
	json_str(&j, "stop_reason", mig_decision_name(m->why));
	json_obj_open(&j, "postcopy");
	json_bool(&j, "used", m->postcopy);
	json_str(&j, "mode", m->o->postcopy == MIG_PC_ALWAYS ? "always" :
			     m->o->postcopy == MIG_PC_AUTO ? "auto" : "never");
	if (m->postcopy) {
		/* always, or the pre-copy's stop reason that made auto switch */
		json_str(&j, "reason", m->o->postcopy == MIG_PC_ALWAYS ? "always"
								 : mig_decision_name(m->why));
		/* from the tree running there to its last page there */
		json_u64(&j, "ms", m->pc_ms);
		json_u64(&j, "pages", m->pc_done[0]);
		json_u64(&j, "pages_on_fault", m->pc_done[1]);
		json_u64(&j, "pages_pushed", m->pc_done[2]);
		json_u64(&j, "destination_ms", m->pc_done[3]);
		/* how long the faults that waited for a page waited */
		json_u64(&j, "fault_wait_median_us", m->pc_done[4]);
		json_u64(&j, "fault_wait_p99_us", m->pc_done[5]);
	}
	json_obj_close(&j);
	json_u64(&j, "destination_budget_bytes", m->budget);
	json_str(&j, "backend", m->backend_name ? m->backend_name : "");
	/* what moved (the frozen tree), and what the pre-copy tracked */
	json_u64(&j, "processes", m->frozen_pids ? m->nfrozen : m->npids);
	json_u64(&j, "processes_tracked", m->npids);
	json_arr_open(&j, "round_stats");
	for (size_t i = 0; i < m->nrounds; i++) {
		json_obj_open(&j, NULL);
		json_u64(&j, "round", i);
		json_u64(&j, "dirty_pages", m->hist[i].dirty_pages);
		json_u64(&j, "sent_pages", m->hist[i].sent_pages);
		json_u64(&j, "raw_bytes", m->hist[i].raw_bytes);
		json_u64(&j, "wire_bytes", m->hist[i].wire_bytes);
		json_u64(&j, "ms", m->hist[i].ns / 1000000);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_u64(&j, "precopy_pages", pages);
	json_u64(&j, "precopy_raw_bytes", raw);
	json_u64(&j, "precopy_wire_bytes", wire);
	json_double(&j, "compression_ratio", raw ? (double)wire / (double)raw : 0.0);
	json_u64(&j, "bytes_on_wire", m->c.bytes_sent);
	json_obj_open(&j, "final");
	json_u64(&j, "dump_ms", (m->t_dumped - m->t_criu) / 1000000);
	json_u64(&j, "frozen_before_transfer_ms", (m->t_dumped - m->t_freeze) / 1000000);
	json_u64(&j, "transfer_ms", (m->t_sent - m->t_dumped) / 1000000);
	json_u64(&j, "restore_ms", (m->t_restored - m->t_sent) / 1000000);
	json_u64(&j, "remote_restore_ms", m->remote_restore_ms);
	json_u64(&j, "image_bytes", m->image_bytes);
	if (m->have_ds) {
		json_u64(&j, "pages_written", m->ds.pages_written);
		json_u64(&j, "pages_skipped_parent", m->ds.pages_skipped_parent);
		json_u64(&j, "frozen_time_us", m->ds.frozen_time);
		json_u64(&j, "freezing_time_us", m->ds.freezing_time);
	}
	json_u64(&j, "pages_restored", m->remote_pages_restored);
	json_obj_close(&j);
	json_u64(&j, "tcp_connections_kept", m->remote_tcp_kept);
	json_u64(&j, "tcp_connections_dumped", m->nconns - m->nended);
	json_u64(&j, "tcp_ended_dumped", m->nended);
	if (m->o->move) {
		char s[96];

		mig_addr_fmt(&m->src_addr, s, sizeof(s));
		json_str(&j, "moved_address", s);
		json_str(&j, "moved_to_dev", m->remote_dev);
	}
	json_obj_close(&j);
	json_end(&j);
}
