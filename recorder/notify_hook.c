/* SPDX-License-Identifier: MIT */
/* notify_hook: event programs, no shell, a time limit, one at a time. */
#include "notify_hook.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define ENV_VARS 9
#define ENV_MAX (NOTIFY_PATH_MAX + 32)
#define HOOK_PATH "PATH=/usr/local/bin:/usr/bin:/bin"

struct notify_hook {
	const char *name, *prog;
	int timeout_ms;
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int busy, pending, stop;
	atomic_int stopping; /* cuts a run short at shutdown */
	char env[ENV_VARS - 1][ENV_MAX]; /* the pending run's */
	atomic_uint_fast64_t run, failed, killed, skipped;
};

struct notify_hook *notify_hook_create(const char *name, const char *prog,
				       int timeout_s, char *err, size_t errsize)
{
	struct notify_hook *h;

	if (prog[0] != '/' || strlen(prog) >= NOTIFY_PATH_MAX ||
	    access(prog, X_OK) < 0) {
		snprintf(err, errsize,
			 "bad hook '%s': want the absolute path of an "
			 "executable file%s%s",
			 prog, prog[0] == '/' ? ": " : "",
			 prog[0] == '/' ? strerror(errno) : "");
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	h->name = name;
	h->prog = prog;
	h->timeout_ms = timeout_s * 1000;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	return h;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Waits for pid until deadline (ms, CLOCK_MONOTONIC); 1 with *status when
 * it ended; 0 also at shutdown (the caller then terminates it). */
static int wait_until(struct notify_hook *h, pid_t pid, int64_t deadline,
		      int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return 1; /* gone (not ours any more) */
		if (mono_ms() >= deadline ||
		    (deadline != INT64_MAX && atomic_load(&h->stopping)))
			return 0;
		pause_ms(NOTIFY_HOOK_POLL_MS);
	}
}

static void run_once(struct notify_hook *h, char env[][ENV_MAX])
{
	char *envp[ENV_VARS + 1], *argv[2], prog[NOTIFY_PATH_MAX];
	char path[] = HOOK_PATH;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int status = 0, rc, i, killed = 0;
	int64_t t0 = mono_ms();
	pid_t pid;

	envp[0] = path;
	for (i = 0; i < ENV_VARS - 1; i++)
		envp[i + 1] = env[i];
	envp[ENV_VARS] = NULL;
	snprintf(prog, sizeof(prog), "%s", h->prog);
	argv[0] = prog;
	argv[1] = NULL;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", 0, 0);
	/* Nothing of ours (the directory's lock, the broker's socket). */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	/* Its own process group, so the time limit reaches its children;
	 * default signal dispositions and an empty mask. */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
					      POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, h->prog, &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	atomic_fetch_add(&h->run, 1);
	if (rc != 0) {
		atomic_fetch_add(&h->failed, 1);
		log_warnx("hook %s '%s': cannot start: %s", h->name, h->prog,
			  strerror(rc));
		return;
	}
	if (!wait_until(h, pid, t0 + h->timeout_ms, &status)) {
		killed = 1;
		log_warnx("hook %s '%s' (pid %ld): still running after %d s: "
			  "terminating it",
			  h->name, h->prog, (long)pid, h->timeout_ms / 1000);
		kill(-pid, SIGTERM);
		if (!wait_until(h, pid, mono_ms() + NOTIFY_HOOK_KILL_GRACE_MS,
				&status)) {
			kill(-pid, SIGKILL);
			wait_until(h, pid, INT64_MAX, &status);
		}
		atomic_fetch_add(&h->killed, 1);
	}
	if (!killed && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		log_info("hook %s '%s': exit status 0 in %.1f s", h->name,
			 h->prog, (double)(mono_ms() - t0) / 1000);
		return;
	}
	atomic_fetch_add(&h->failed, 1);
	if (WIFEXITED(status))
		log_warnx("hook %s '%s': exit status %d", h->name, h->prog,
			  WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warnx("hook %s '%s': ended by signal %d%s", h->name,
			  h->prog, WTERMSIG(status),
			  killed ? " (time limit)" : "");
}

static void *runner(void *arg)
{
	struct notify_hook *h = arg;
	char env[ENV_VARS - 1][ENV_MAX];

	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (!h->pending && !h->stop)
			pthread_cond_wait(&h->cond, &h->lock);
		if (h->stop)
			break;
		memcpy(env, h->env, sizeof(env));
		h->pending = 0;
		h->busy = 1;
		pthread_mutex_unlock(&h->lock);
		run_once(h, env);
		pthread_mutex_lock(&h->lock);
		h->busy = 0;
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

int notify_hook_start(struct notify_hook *h)
{
	int rc = pthread_create(&h->thread, NULL, runner, h);

	if (rc != 0) {
		errno = rc;
		return -1;
	}
	h->started = 1;
	return 0;
}

static void fmt_time(char *buf, size_t size, const char *name, int64_t ns)
{
	int64_t ms = ns / 1000000;

	snprintf(buf, size, "%s=%" PRId64 ".%03d", name, ms / 1000,
		 (int)(ms % 1000));
}

void notify_hook_fire(struct notify_hook *h, const struct notify_event *e)
{
	pthread_mutex_lock(&h->lock);
	if (h->busy || h->pending) {
		pthread_mutex_unlock(&h->lock);
		atomic_fetch_add(&h->skipped, 1);
		log_warnx("hook %s '%s': still running; event '%s' skipped",
			  h->name, h->prog, e->id);
		return;
	}
	snprintf(h->env[0], ENV_MAX, "VIGIL_CAMERA=%s", e->camera);
	snprintf(h->env[1], ENV_MAX, "VIGIL_EVENT_ID=%s", e->id);
	fmt_time(h->env[2], ENV_MAX, "VIGIL_EVENT_START", e->start_ns);
	if (e->end)
		fmt_time(h->env[3], ENV_MAX, "VIGIL_EVENT_END", e->end_ns);
	else
		snprintf(h->env[3], ENV_MAX, "VIGIL_EVENT_END=");
	snprintf(h->env[4], ENV_MAX, "VIGIL_EVENT_SCORE=%u",
		 (unsigned)e->score);
	snprintf(h->env[5], ENV_MAX, "VIGIL_EVENT_CLIP=%s", e->clip);
	snprintf(h->env[6], ENV_MAX, "VIGIL_EVENT_THUMBNAIL=%s", e->thumbnail);
	snprintf(h->env[7], ENV_MAX, "VIGIL_EVENT_TYPE=%s",
		 e->end ? "end" : "start");
	h->pending = 1;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

void notify_hook_stats(struct notify_hook *h, struct notify_hook_stats *s)
{
	s->run += atomic_load(&h->run);
	s->failed += atomic_load(&h->failed);
	s->killed += atomic_load(&h->killed);
	s->skipped += atomic_load(&h->skipped);
}

void notify_hook_destroy(struct notify_hook *h)
{
	if (h == NULL)
		return;
	if (h->started) {
		atomic_store(&h->stopping, 1);
		pthread_mutex_lock(&h->lock);
		h->stop = 1;
		h->pending = 0;
		pthread_cond_signal(&h->cond);
		pthread_mutex_unlock(&h->lock);
		/* A run under way gets SIGTERM now, SIGKILL after the grace
		 * time. */
		pthread_join(h->thread, NULL);
	}
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
