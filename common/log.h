/* SPDX-License-Identifier: MIT */
/*
 * log: the daemons' logging, OpenBSD style.  One line per event on stderr:
 * "vigil-capture: cannot open ring '/vigil.cam0': Permission denied".  Under
 * journald (JOURNAL_STREAM set) each line carries the "<N>" level prefix
 * instead of the program name.  Only daemons log; other common/ modules
 * return errors.  Safe to call from any thread (one write(2) per line).
 */
#ifndef VIGIL_LOG_H
#define VIGIL_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* Program name for the prefix; verbosity: messages above level are dropped. */
void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);

/* *_warn appends ": strerror(errno)"; *_warnx does not. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up and privilege changes only: log at error level and exit(1). */
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif
