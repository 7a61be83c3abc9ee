/* SPDX-License-Identifier: MIT */
/* privdrop: from root to an unprivileged user, checked (see privdrop.h). */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

int privdrop(const struct passwd *pw, const char **why)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (initgroups(pw->pw_name, pw->pw_gid) < 0) {
		*why = "cannot set the user's groups";
		return -1;
	}
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0) {
		*why = "cannot set the group id";
		return -1;
	}
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		*why = "cannot set the user id";
		return -1;
	}
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0) {
		*why = "cannot read back the user and group ids";
		return -1;
	}
	errno = 0;
	if (ru != pw->pw_uid || eu != pw->pw_uid || su != pw->pw_uid ||
	    rg != pw->pw_gid || eg != pw->pw_gid || sg != pw->pw_gid) {
		*why = "the user or group id was not dropped";
		return -1;
	}
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		errno = 0;
		*why = "root could be regained";
		return -1;
	}
	if (pw->pw_gid != 0 && (setgid(0) == 0 || setegid(0) == 0)) {
		errno = 0;
		*why = "group root could be regained";
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		*why = "cannot set no_new_privs";
		return -1;
	}
	return 0;
}
