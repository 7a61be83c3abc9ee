/* SPDX-License-Identifier: MIT */
/* Unit tests of the server's listen addresses and unix socket handling. */
#include "test.h"

#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static void test_check(void **state)
{
	static const struct {
		const char *addr;
		int ok, loopback;
	} cases[] = {
		{"127.0.0.1:8081", 1, 1},
		{"127.1.2.3:1", 1, 1},
		{"[::1]:8081", 1, 1},
		{"unix:/run/vigil/cam0.sock", 1, 1},
		{"0.0.0.0:8081", 1, 0},
		{"192.168.1.2:80", 1, 0},
		{"[::]:8081", 1, 0},
		{"[::ffff:127.0.0.1]:80", 1, 1},
		{"127.0.0.1", 0, 0},
		{"127.0.0.1:", 0, 0},
		{"127.0.0.1:0", 0, 0},
		{"127.0.0.1:65536", 0, 0},
		{"127.0.0.1:80x", 0, 0},
		{"127.0.0.1:-1", 0, 0},
		{"localhost:8081", 0, 0},
		{"::1:8081", 0, 0},
		{"[::1]8081", 0, 0},
		{"[127.0.0.1]:80", 0, 0},
		{"unix:relative.sock", 0, 0},
		{"unix:", 0, 0},
		{"", 0, 0},
	};
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int loopback = -1;
		int rc = listen_check(cases[i].addr, &loopback, err,
				      sizeof(err));

		if (cases[i].ok) {
			assert_int_equal(rc, 0);
			assert_int_equal(loopback, cases[i].loopback);
		} else {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(err, cases[i].addr));
		}
	}
}

static void sock_path(char *buf, size_t size, const char *tag)
{
	snprintf(buf, size, "/tmp/vigil-test-%d-%s.sock", (int)getpid(), tag);
	unlink(buf);
}

static void test_unix_stale_and_live(void **state)
{
	char path[108], addr[120];
	struct stat st;
	int fd, fd2, old;
	struct sockaddr_un un = {.sun_family = AF_UNIX};

	(void)state;
	sock_path(path, sizeof(path), "a");
	snprintf(addr, sizeof(addr), "unix:%s", path);
	/* A stale socket (bound, nobody listening) is replaced. */
	old = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	assert_int_equal(bind(old, (struct sockaddr *)&un, sizeof(un)), 0);
	close(old);
	fd = listen_bind(addr, (uid_t)-1, (gid_t)-1);
	assert_true(fd >= 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, LISTEN_UNIX_MODE);
	/* A live one is not taken over. */
	fd2 = listen_bind(addr, (uid_t)-1, (gid_t)-1);
	assert_int_equal(fd2, -1);
	assert_int_equal(errno, EADDRINUSE);
	close(fd);
	unlink(path);
}

static void test_unix_never_removes_files(void **state)
{
	char path[108], addr[120];
	int fd;

	(void)state;
	sock_path(path, sizeof(path), "b");
	snprintf(addr, sizeof(addr), "unix:%s", path);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(listen_bind(addr, (uid_t)-1, (gid_t)-1), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
}

static void test_tcp_in_use(void **state)
{
	int a, b;

	(void)state;
	a = listen_bind("127.0.0.1:0", (uid_t)-1, (gid_t)-1);
	assert_int_equal(a, -1); /* port 0 is refused by the parser */
	a = listen_bind("127.0.0.1:48123", (uid_t)-1, (gid_t)-1);
	if (a < 0)
		skip(); /* someone else holds the port */
	b = listen_bind("127.0.0.1:48123", (uid_t)-1, (gid_t)-1);
	assert_int_equal(b, -1);
	assert_int_equal(errno, EADDRINUSE);
	close(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_unix_stale_and_live),
		cmocka_unit_test(test_unix_never_removes_files),
		cmocka_unit_test(test_tcp_in_use),
	};
	return cmocka_run_group_tests_name("listen", tests, NULL, NULL);
}
