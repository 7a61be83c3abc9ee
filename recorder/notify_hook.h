/* SPDX-License-Identifier: MIT */
/*
 * notify_hook: runs --on-event-start / --on-event-end programs.  No shell:
 * argv is [PROG] alone and the environment holds only PATH and the event
 * (VIGIL_CAMERA, VIGIL_EVENT_ID, VIGIL_EVENT_START, VIGIL_EVENT_END,
 * VIGIL_EVENT_SCORE, VIGIL_EVENT_CLIP, VIGIL_EVENT_THUMBNAIL).  Each hook
 * has a thread that starts the program in a process group of its own,
 * waits for it, and past the time limit sends SIGTERM to the group, then
 * SIGKILL 5 s later; the exit status is logged.  At most one run per hook at
 * a time: an event that comes while the previous run of the same hook is
 * still going is skipped and counted (never queued), so a slow hook never
 * piles up processes.  No signal handler: the thread reaps its own child.
 */
#ifndef VIGIL_NOTIFY_HOOK_H
#define VIGIL_NOTIFY_HOOK_H

#include <stdint.h>

#include "notify.h"

#define NOTIFY_HOOK_KILL_GRACE_MS 5000 /* SIGTERM to SIGKILL */
#define NOTIFY_HOOK_POLL_MS 20 /* how often the thread looks at its child */

struct notify_hook;

/* A hook running prog (checked: an absolute path to an executable file)
 * for at most timeout_s seconds.  NULL with a reason in err. */
struct notify_hook *notify_hook_create(const char *name, const char *prog,
				       int timeout_s, char *err,
				       size_t errsize);
int notify_hook_start(struct notify_hook *h);

/* Runs the hook for e, unless it is still running (skipped, counted). */
void notify_hook_fire(struct notify_hook *h, const struct notify_event *e);

struct notify_hook_stats {
	uint64_t run; /* started */
	uint64_t failed; /* could not start, or exited non-zero, or killed */
	uint64_t killed; /* past the time limit */
	uint64_t skipped; /* the previous run was still going */
};
/* Adds this hook's counts to *s. */
void notify_hook_stats(struct notify_hook *h, struct notify_hook_stats *s);

/* Stops the thread; a running program gets SIGTERM, then SIGKILL after the
 * grace time.  Accepts NULL. */
void notify_hook_destroy(struct notify_hook *h);

#endif
