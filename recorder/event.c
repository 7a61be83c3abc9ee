/* SPDX-License-Identifier: MIT */
/* event: start, extend, split and end of motion events. */
#include "event.h"

void event_init(struct event_machine *m, int64_t post_ns, int64_t max_ns)
{
	m->post_ns = post_ns;
	m->max_ns = max_ns;
	event_reset(m);
}

void event_reset(struct event_machine *m)
{
	m->active = 0;
	m->last_motion_ns = 0;
	m->file_start_ns = 0;
}

enum event_step event_frame(struct event_machine *m, int64_t t, int motion)
{
	if (!m->active) {
		if (!motion)
			return EVENT_IDLE;
		m->active = 1;
		m->last_motion_ns = t;
		m->file_start_ns = t;
		return EVENT_START;
	}
	if (motion)
		m->last_motion_ns = t;
	else if (t - m->last_motion_ns > m->post_ns) {
		event_reset(m);
		return EVENT_END;
	}
	if (t - m->file_start_ns >= m->max_ns) {
		m->file_start_ns = t;
		return EVENT_SPLIT;
	}
	return EVENT_RECORD;
}

enum event_step event_tick(struct event_machine *m, int64_t now)
{
	if (!m->active)
		return EVENT_IDLE;
	if (now - m->last_motion_ns > m->post_ns) {
		event_reset(m);
		return EVENT_END;
	}
	return EVENT_RECORD;
}

void event_file_started(struct event_machine *m, int64_t t)
{
	m->file_start_ns = t;
}
