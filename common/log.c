/* SPDX-License-Identifier: MIT */
/* log: one line per event on stderr, journald level prefixes when there. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_LINE_MAX 1024

static const char *log_progname = "vigil";
static enum log_level log_level = LOG_LEVEL_INFO;
static int log_journal;

void log_init(const char *progname, enum log_level level)
{
	log_progname = progname;
	log_level = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

int log_enabled(enum log_level level)
{
	return level <= log_level;
}

static void log_vemit(enum log_level level, int with_errno, int saved_errno,
		      const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t n;
	int r;

	if (!log_enabled(level))
		return;
	if (log_journal)
		r = snprintf(line, sizeof(line), "<%d>", (int)level);
	else
		r = snprintf(line, sizeof(line), "%s: ", log_progname);
	n = r < 0 ? 0 : (size_t)r;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	n = r < 0 ? n : n + (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (with_errno) {
		r = snprintf(line + n, sizeof(line) - n, ": %s",
			     strerror(saved_errno));
		n = r < 0 ? n : n + (size_t)r;
		if (n > sizeof(line) - 2)
			n = sizeof(line) - 2;
	}
	line[n++] = '\n';
	/* One write per line so concurrent lines do not interleave. */
	while (write(STDERR_FILENO, line, n) < 0 && errno == EINTR)
		;
}

#define LOG_DEFINE(fn, level, with_errno)                     \
	void fn(const char *fmt, ...)                         \
	{                                                     \
		int saved = errno;                            \
		va_list ap;                                   \
		va_start(ap, fmt);                            \
		log_vemit(level, with_errno, saved, fmt, ap); \
		va_end(ap);                                   \
		errno = saved;                                \
	}

LOG_DEFINE(log_debug, LOG_LEVEL_DEBUG, 0)
LOG_DEFINE(log_info, LOG_LEVEL_INFO, 0)
LOG_DEFINE(log_warn, LOG_LEVEL_WARNING, 1)
LOG_DEFINE(log_warnx, LOG_LEVEL_WARNING, 0)

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERR, 1, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERR, 0, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
