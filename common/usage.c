/* SPDX-License-Identifier: MIT */
/* usage: the daemons' --version line and bad-flag line. */
#include "usage.h"

void usage_print_version(FILE *f, const char *prog)
{
	fprintf(f, "%s %s\n", prog, VIGIL_VERSION);
}

void usage_vprint_error(FILE *f, const char *prog, const char *fmt, va_list ap)
{
	fprintf(f, "%s: ", prog);
	vfprintf(f, fmt, ap);
	fprintf(f, " (see %s --help)\n", prog);
}
