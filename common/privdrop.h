/* SPDX-License-Identifier: MIT */
/*
 * privdrop: a daemon started as root becomes an unprivileged user, in
 * OpenBSD's order: the user's groups (initgroups: a ring or a recordings
 * directory may be readable through a supplementary group only), the group
 * id, the user id, then checks that none of them can be regained, and sets
 * no_new_privs.  common/ never logs or exits: the daemon reports the failure
 * and stops.
 */
#ifndef VIGIL_PRIVDROP_H
#define VIGIL_PRIVDROP_H

#include <pwd.h>

/*
 * Drops to pw.  0, or -1 with *why set to a static description of the step
 * that failed (errno set where a system call failed, 0 for a check that
 * found a privilege still there).  Any failure must be fatal.
 */
int privdrop(const struct passwd *pw, const char **why);

#endif
