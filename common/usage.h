/* SPDX-License-Identifier: MIT */
/*
 * usage: the command-line dialect every vigil daemon speaks.
 *
 *   PROG --version   prints "PROG VERSION" on stdout, exits 0
 *   PROG --help      prints "usage: PROG [options]", a line of purpose, the
 *                    options, and the exit statuses on stdout, exits 0
 *   a bad flag       prints one line on stderr,
 *                    "PROG: what is wrong (see PROG --help)", exits USAGE_EXIT
 *
 * common/ never exits: the daemon prints with these and exits itself.
 */
#ifndef VIGIL_USAGE_H
#define VIGIL_USAGE_H

#include <stdarg.h>
#include <stdio.h>

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "0.1.0" /* make can set it: -DVIGIL_VERSION=... */
#endif

#define USAGE_EXIT 2 /* exit status of a bad command line */

/* "prog VERSION\n" on f. */
void usage_print_version(FILE *f, const char *prog);

/* "prog: <fmt...> (see prog --help)\n" on f, one line. */
void usage_vprint_error(FILE *f, const char *prog, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
