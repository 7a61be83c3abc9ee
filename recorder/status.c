/* SPDX-License-Identifier: MIT */
/* status: state.json, the recorder's state for servers and monitoring. */
#include "status.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "meta.h"
#include "store.h"

#define STATUS_JSON_MAX 2048

static int fmt_time(char *buf, size_t size, int64_t ns)
{
	int64_t ms = ns / 1000000;

	return snprintf(buf, size, "%" PRId64 ".%03d", ms / 1000,
			(int)(ms % 1000));
}

/* The error text goes through a JSON string escape of its own. */
static void escape(char *out, size_t size, const char *in)
{
	size_t n = 0;

	for (; *in != '\0' && n + 7 < size; in++) {
		unsigned char c = (unsigned char)*in;

		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			n += (size_t)snprintf(out + n, size - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = '\0';
}

int status_write(int dirfd, const struct status *st, int64_t now_ns)
{
	char buf[STATUS_JSON_MAX], err[2 * STATUS_ERROR_MAX + 16];
	char errtime[32], updated[32], event[META_ID_MAX + 2];
	int n;

	fmt_time(updated, sizeof(updated), now_ns);
	if (st->last_error[0] != '\0') {
		char esc[2 * STATUS_ERROR_MAX];

		escape(esc, sizeof(esc), st->last_error);
		snprintf(err, sizeof(err), "\"%s\"", esc);
		fmt_time(errtime, sizeof(errtime), st->last_error_ns);
	} else {
		snprintf(err, sizeof(err), "null");
		snprintf(errtime, sizeof(errtime), "null");
	}
	if (st->event != NULL)
		snprintf(event, sizeof(event), "\"%s\"", st->event);
	else
		snprintf(event, sizeof(event), "null");
	n = snprintf(buf, sizeof(buf),
		     "{\"camera\":\"%s\",\"pid\":%ld,\"recording\":%s,"
		     "\"event\":%s,\"events\":%u,\"bytes\":%" PRIu64
		     ",\"free_bytes\":%" PRIu64 ",\"total_bytes\":%" PRIu64
		     ",\"frames\":%" PRIu64 ",\"frames_missed\":%" PRIu64
		     ",\"camera_online\":%s,\"last_error\":%s,"
		     "\"last_error_time\":%s,%s%s%s\"updated\":%s}\n",
		     st->camera, (long)getpid(),
		     st->recording ? "true" : "false", event, st->events,
		     st->bytes, st->free_bytes, st->total_bytes, st->frames,
		     st->frames_missed, st->camera_online ? "true" : "false",
		     err, errtime, st->notify ? "\"notify\":" : "",
		     st->notify ? st->notify : "", st->notify ? "," : "",
		     updated);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	/* Not synced: nothing reads it back at start (every field is this
	 * run's, or counted from the directory), so a power cut that loses
	 * it loses nothing; an fsync a second would cost more than the
	 * clips' own. */
	return meta_replace_nosync(dirfd, STORE_STATE_NAME, buf, (size_t)n);
}
