/* SPDX-License-Identifier: MIT */
/*
 * event: the recorder's state machine, fed one frame (or one idle tick) at
 * a time, with no I/O of its own.  An event starts at a frame that carries
 * RING_FRAME_MOTION, goes on while motion comes back within --post, and ends
 * once the flag has been clear for --post; a file longer than --max-event is
 * split and the event continues in the next file.  Times are
 * CLOCK_MONOTONIC nanoseconds (capture's clock for frames, ours for ticks).
 */
#ifndef VIGIL_EVENT_H
#define VIGIL_EVENT_H

#include <stdint.h>

enum event_step {
	EVENT_IDLE, /* no event: the frame goes to the pre-roll */
	EVENT_START, /* a new event: write the pre-roll, then this frame */
	EVENT_RECORD, /* write this frame into the current file */
	EVENT_SPLIT, /* close the file, open the next one, write this frame */
	EVENT_END, /* the event ended before this frame (or tick); the frame
		      goes to the pre-roll */
};

struct event_machine {
	int64_t post_ns; /* quiet time that ends an event */
	int64_t max_ns; /* longest file */
	int active;
	int64_t last_motion_ns; /* newest frame with the motion flag */
	int64_t file_start_ns; /* first frame of the current file */
};

/* Sets the durations; no event is active. */
void event_init(struct event_machine *m, int64_t post_ns, int64_t max_ns);

/*
 * A frame captured at t with the motion flag on or off.  file_start_ns is
 * what the file's first frame will be: t for SPLIT; for START the caller
 * passes the pre-roll's oldest time through event_file_started().
 */
enum event_step event_frame(struct event_machine *m, int64_t t, int motion);

/* No frame came; now is CLOCK_MONOTONIC.  EVENT_END when the quiet time has
 * passed (the camera stopped, or stopped declaring motion), else
 * EVENT_IDLE or EVENT_RECORD (nothing to write). */
enum event_step event_tick(struct event_machine *m, int64_t now);

/* The caller opened a file whose first frame is at t (the pre-roll may
 * start before the frame that started the event). */
void event_file_started(struct event_machine *m, int64_t t);

/* Ends the event without a quiet time (shutdown). */
void event_reset(struct event_machine *m);

#endif
