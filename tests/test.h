/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the cmocka unit tests.  cmocka's includes (and any
 * compatibility macros for its API changes) live here only.
 */
#ifndef VIGIL_TEST_H
#define VIGIL_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

/* A camera name no other test run on this machine uses. */
static inline const char *test_camera(const char *tag)
{
	static char name[32];
	snprintf(name, sizeof(name), "t%d%.8s", (int)getpid(), tag);
	return name;
}

#endif
