/* SPDX-License-Identifier: MIT */
/*
 * loadgen: MJPEG viewers for the benchmark.  One process, epoll, N
 * connections spread over one or more servers.  For every part it checks
 * the wire format (opening boundary, Content-Length, X-Timestamp, SOI at the
 * start, EOI at the end, the closing CRLF + boundary) and measures the
 * latency from X-Timestamp (the capture's CLOCK_REALTIME) to the arrival of
 * the JPEG's last byte.  JPEG bodies are discarded in the kernel with
 * MSG_TRUNC (only their first and last two bytes are copied), so the load
 * generator costs little CPU beside the servers it measures.
 *
 * Usage: loadgen --connect HOST:PORT [--connect ...] --clients N
 *                [--warmup S] [--duration S] [--path P [--path ...]]
 *                [--pids P,P...]
 * Client i asks for the (i mod paths)-th --path (several cameras' streams
 * from one server) of the (i mod targets)-th --connect.
 * The measuring window (--duration) opens --warmup seconds after every
 * viewer has received its first frame, so a connection storm (SYN retries
 * on a full backlog) is not counted as frames lost.
 * Prints one line of key=value results (see print_results()).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LG_TARGETS_MAX 8
#define LG_PATHS_MAX 16
#define LG_PIDS_MAX 8
#define LG_HDR_MAX 2048
#define LG_BOUNDARY_MAX 72
/* A part larger than any frame the server sends; also what a 32-bit size_t
 * holds without truncating the Content-Length. */
#define LG_BODY_MAX (1ull << 30)
#define LG_READ 4096
#define LG_EVENTS 256
#define LG_SETTLE_MAX_S 10

enum lg_state {
	LG_CONNECTING,
	LG_HEAD, /* response head */
	LG_OPEN, /* "--boundary\r\n" before the first part */
	LG_PART_HDR, /* part headers up to the blank line */
	LG_BODY,
	LG_TAIL, /* "\r\n--boundary\r\n" after the body */
	LG_DEAD,
};

struct conn {
	int fd;
	enum lg_state state;
	char hdr[LG_HDR_MAX];
	size_t hlen;
	char boundary[LG_BOUNDARY_MAX + 8]; /* "\r\n--" + boundary + "\r\n" */
	size_t blen;
	size_t tail_have;
	size_t body_len, body_left;
	uint8_t first[2], last[2];
	int64_t ts_ns;
	uint64_t frames; /* in the measuring window */
	uint64_t frames_all;
	uint64_t invalid;
};

struct target {
	struct sockaddr_in sa;
};

static struct target targets[LG_TARGETS_MAX];
static int ntargets;
static int32_t *lat_us;
static size_t nlat, caplat;
static int64_t win_start, win_end;
static uint64_t invalid_total;
static int nfirst; /* connections that got their first whole part */

static int64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void add_latency(int64_t ns)
{
	if (nlat == caplat) {
		caplat = caplat ? caplat * 2 : 65536;
		lat_us = realloc(lat_us, caplat * sizeof(*lat_us));
		if (lat_us == NULL) {
			perror("loadgen: realloc");
			exit(1);
		}
	}
	lat_us[nlat++] = (int32_t)(ns / 1000);
}

static void conn_fail(struct conn *c, const char *why)
{
	if (c->state != LG_DEAD) {
		c->invalid++;
		invalid_total++;
		if (invalid_total <= 5)
			fprintf(stderr, "loadgen: connection %d: %s\n", c->fd,
				why);
	}
	c->state = LG_DEAD;
	close(c->fd);
}

static const char *hdr_value(const char *hdr, const char *name)
{
	size_t n = strlen(name);
	const char *p = hdr;

	while ((p = strcasestr(p, name)) != NULL) {
		if ((p == hdr || p[-1] == '\n') && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			return p;
		}
		p += n;
	}
	return NULL;
}

/* The response head: status 200 and the boundary. */
static int parse_head(struct conn *c)
{
	const char *ct, *b;
	size_t n = 0;

	if (strncmp(c->hdr, "HTTP/1.", 7) != 0 ||
	    strncmp(c->hdr + 8, " 200", 4) != 0)
		return -1;
	if (hdr_value(c->hdr, "Transfer-Encoding") != NULL)
		return -1;
	ct = hdr_value(c->hdr, "Content-Type");
	if (ct == NULL || strncmp(ct, "multipart/x-mixed-replace", 25) != 0)
		return -1;
	b = strstr(ct, "boundary=");
	if (b == NULL)
		return -1;
	b += 9;
	if (*b == '"')
		b++;
	memcpy(c->boundary, "\r\n--", 4);
	while (b[n] != '\0' && b[n] != '\r' && b[n] != '"' && b[n] != ';' &&
	       n < LG_BOUNDARY_MAX)
		n++;
	memcpy(c->boundary + 4, b, n);
	memcpy(c->boundary + 4 + n, "\r\n", 2);
	c->blen = n + 6;
	return 0;
}

static int parse_part(struct conn *c)
{
	const char *len = hdr_value(c->hdr, "Content-Length");
	const char *ts = hdr_value(c->hdr, "X-Timestamp");
	long long sec = 0, usec = 0;
	unsigned long long body_len;
	char *end;

	if (len == NULL || ts == NULL ||
	    hdr_value(c->hdr, "Content-Type") == NULL)
		return -1;
	body_len = strtoull(len, &end, 10);
	if (body_len < 4 || body_len > LG_BODY_MAX ||
	    (*end != '\r' && *end != '\0'))
		return -1;
	c->body_len = (size_t)body_len;
	if (sscanf(ts, "%lld.%6lld", &sec, &usec) < 1)
		return -1;
	c->ts_ns = sec * 1000000000LL + usec * 1000LL;
	c->body_left = c->body_len;
	return 0;
}

/* Feeds bytes read from the socket through the part parser. */
static void consume(struct conn *c, const uint8_t *p, size_t n, int64_t now)
{
	while (n > 0 && c->state != LG_DEAD) {
		switch (c->state) {
		case LG_HEAD:
		case LG_PART_HDR: {
			size_t i;
			int done = 0;

			for (i = 0; i < n; i++) {
				if (c->hlen + 1 >= LG_HDR_MAX) {
					conn_fail(c, "header too long");
					return;
				}
				c->hdr[c->hlen++] = (char)p[i];
				if (c->hlen >= 4 &&
				    memcmp(c->hdr + c->hlen - 4, "\r\n\r\n",
					   4) == 0) {
					done = 1;
					i++;
					break;
				}
			}
			p += i;
			n -= i;
			if (!done)
				break;
			c->hdr[c->hlen] = '\0';
			c->hlen = 0;
			if (c->state == LG_HEAD) {
				if (parse_head(c) < 0) {
					conn_fail(c, "bad response head");
					return;
				}
				c->state = LG_OPEN;
				c->tail_have =
					2; /* the opening line lacks the CRLF */
			} else {
				if (parse_part(c) < 0) {
					conn_fail(c, "bad part headers");
					return;
				}
				c->state = LG_BODY;
			}
			break;
		}
		case LG_OPEN:
		case LG_TAIL: {
			size_t want = c->blen - c->tail_have;
			size_t k = n < want ? n : want;

			if (memcmp(p, c->boundary + c->tail_have, k) != 0) {
				conn_fail(c, "part not closed by the boundary");
				return;
			}
			c->tail_have += k;
			p += k;
			n -= k;
			if (c->tail_have == c->blen) {
				c->tail_have = 0;
				c->state = LG_PART_HDR;
			}
			break;
		}
		case LG_BODY: {
			size_t k = n < c->body_left ? n : c->body_left;
			size_t off = c->body_len - c->body_left, i;

			for (i = 0; i < k; i++) {
				if (off + i < 2)
					c->first[off + i] = p[i];
				if (off + i >= c->body_len - 2)
					c->last[off + i - (c->body_len - 2)] =
						p[i];
			}
			c->body_left -= k;
			p += k;
			n -= k;
			if (c->body_left == 0) {
				if (c->first[0] != 0xff ||
				    c->first[1] != 0xd8 || c->last[0] != 0xff ||
				    c->last[1] != 0xd9) {
					conn_fail(c,
						  "not a whole JPEG (SOI/EOI)");
					return;
				}
				if (c->frames_all++ == 0)
					nfirst++;
				if (now >= win_start && now < win_end) {
					c->frames++;
					add_latency(now_ns(CLOCK_REALTIME) -
						    c->ts_ns);
				}
				c->state = LG_TAIL;
			}
			break;
		}
		default:
			return;
		}
	}
}

static void on_readable(struct conn *c)
{
	uint8_t buf[LG_READ];
	int rounds;

	for (rounds = 0; rounds < 16 && c->state != LG_DEAD; rounds++) {
		ssize_t r;

		/* Discard the middle of a JPEG in the kernel: no copy. */
		if (c->state == LG_BODY && c->body_len - c->body_left >= 2 &&
		    c->body_left > 2) {
			r = recv(c->fd, NULL, c->body_left - 2,
				 MSG_TRUNC | MSG_DONTWAIT);
			if (r > 0) {
				c->body_left -= (size_t)r;
				continue;
			}
		} else {
			r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r > 0) {
				consume(c, buf, (size_t)r,
					now_ns(CLOCK_MONOTONIC));
				continue;
			}
		}
		if (r == 0) {
			conn_fail(c, "closed by the server");
			return;
		}
		if (errno == EAGAIN || errno == EINTR)
			return;
		conn_fail(c, strerror(errno));
		return;
	}
}

static int parse_target(const char *s, struct target *t)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(&t->sa, 0, sizeof(t->sa));
	t->sa.sin_family = AF_INET;
	t->sa.sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &t->sa.sin_addr) == 1 ? 0 : -1;
}

/* CPU time of every thread of pid, in seconds, with nanosecond resolution
 * (schedstat) rather than the clock ticks of /proc/PID/stat. */
static double cpu_seconds(int pid)
{
	char path[64];
	unsigned long long ns, total = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char p2[320];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p2, sizeof(p2), "/proc/%d/task/%s/schedstat", pid,
			 de->d_name);
		f = fopen(p2, "r");
		if (f == NULL)
			continue;
		if (fscanf(f, "%llu", &ns) == 1)
			total += ns;
		fclose(f);
	}
	closedir(d);
	return (double)total / 1e9;
}

/* A field of /proc/PID/status in kB ("VmRSS:", "RssAnon:"), or 0. */
static long status_kb(int pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, n) == 0 &&
		    sscanf(line + n, "%ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"connect", required_argument, NULL, 'c'},
		{"clients", required_argument, NULL, 'n'},
		{"warmup", required_argument, NULL, 'w'},
		{"duration", required_argument, NULL, 'd'},
		{"path", required_argument, NULL, 'p'},
		{"pids", required_argument, NULL, 'P'},
		{NULL, 0, NULL, 0},
	};
	const char *paths[LG_PATHS_MAX] = {"/stream.mjpg"};
	int npaths = 0;
	double warmup = 2, duration = 5;
	int nclients = 10, pids[LG_PIDS_MAX], npids = 0, ch, i, ep;
	double cpu0[LG_PIDS_MAX], cpu_sum = 0, *fps;
	long rss_max = 0, anon_max = 0;
	struct conn *conns;
	struct epoll_event evs[LG_EVENTS];
	struct rlimit rl;
	struct rusage ru0, ru1;
	char req[LG_PATHS_MAX][256];
	int64_t start;
	int measuring = 0, connected = 0, alive = 0;
	uint64_t frames_total = 0;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (ntargets == LG_TARGETS_MAX ||
			    parse_target(optarg, &targets[ntargets++]) < 0) {
				fprintf(stderr, "loadgen: bad --connect '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'n':
			nclients = atoi(optarg);
			break;
		case 'w':
			warmup = atof(optarg);
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 'p':
			if (npaths == LG_PATHS_MAX) {
				fprintf(stderr, "loadgen: at most %d --path\n",
					LG_PATHS_MAX);
				return 2;
			}
			paths[npaths++] = optarg;
			break;
		case 'P': {
			char *s = optarg, *tok;

			while ((tok = strsep(&s, ",")) != NULL &&
			       npids < LG_PIDS_MAX)
				if (*tok)
					pids[npids++] = atoi(tok);
			break;
		}
		default:
			return 2;
		}
	}
	if (ntargets == 0 || nclients < 1) {
		fprintf(stderr,
			"usage: loadgen --connect HOST:PORT... --clients N "
			"[--warmup S] [--duration S] [--path P] [--pids P,P]\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	conns = calloc((size_t)nclients, sizeof(*conns));
	fps = calloc((size_t)nclients, sizeof(*fps));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (conns == NULL || fps == NULL || ep < 0)
		return 1;
	if (npaths == 0)
		npaths = 1;
	for (i = 0; i < npaths; i++)
		snprintf(req[i], sizeof(req[i]),
			 "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n",
			 paths[i]);
	/* The window opens warmup seconds after every viewer has its first
	 * frame (connection storms settle first), or after LG_SETTLE_MAX_S. */
	start = now_ns(CLOCK_MONOTONIC);
	win_start = INT64_MAX;
	win_end = INT64_MAX;
	for (i = 0; i < nclients; i++) {
		struct conn *c = &conns[i];
		struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
		const struct target *t = &targets[i % ntargets];

		c->fd = socket(AF_INET,
			       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			perror("loadgen: socket");
			return 1;
		}
		c->state = LG_CONNECTING;
		if (connect(c->fd, (const struct sockaddr *)&t->sa,
			    sizeof(t->sa)) < 0 &&
		    errno != EINPROGRESS) {
			conn_fail(c, strerror(errno));
			continue;
		}
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	}
	for (;;) {
		int64_t now = now_ns(CLOCK_MONOTONIC);
		int n, timeout;

		if (win_start == INT64_MAX &&
		    (nfirst >= nclients - (int)invalid_total ||
		     now - start > (int64_t)LG_SETTLE_MAX_S * 1000000000)) {
			win_start = now + (int64_t)(warmup * 1e9);
			win_end = win_start + (int64_t)(duration * 1e9);
		}
		if (!measuring && now >= win_start) {
			measuring = 1;
			for (i = 0; i < npids; i++)
				cpu0[i] = cpu_seconds(pids[i]);
			getrusage(RUSAGE_SELF, &ru0);
		}
		if (now >= win_end)
			break;
		timeout = win_start == INT64_MAX
				  ? 100
				  : (int)(((measuring ? win_end : win_start) -
					   now) /
					  1000000) +
					    1;
		n = epoll_wait(ep, evs, LG_EVENTS, timeout);
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c->state == LG_CONNECTING) {
				int err = 0;
				socklen_t len = sizeof(err);
				struct epoll_event ev = {.events = EPOLLIN,
							 .data.ptr = c};

				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err,
					   &len);
				const char *r = req[(c - conns) % npaths];

				if (err != 0 ||
				    send(c->fd, r, strlen(r), MSG_NOSIGNAL) !=
					    (ssize_t)strlen(r)) {
					conn_fail(c,
						  err ? strerror(err) : "send");
					continue;
				}
				c->state = LG_HEAD;
				connected++;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				continue;
			}
			on_readable(c);
		}
	}
	getrusage(RUSAGE_SELF, &ru1);
	for (i = 0; i < npids; i++) {
		long kb = status_kb(pids[i], "VmRSS:");
		long anon = status_kb(pids[i], "RssAnon:");

		cpu_sum += cpu_seconds(pids[i]) - cpu0[i];
		if (kb > rss_max)
			rss_max = kb;
		if (anon > anon_max)
			anon_max = anon;
	}
	for (i = 0; i < nclients; i++) {
		fps[i] = (double)conns[i].frames / duration;
		frames_total += conns[i].frames;
		alive += conns[i].state != LG_DEAD;
	}
	qsort(fps, (size_t)nclients, sizeof(*fps), cmp_double);
	qsort(lat_us, nlat, sizeof(*lat_us), cmp_i32);
	{
		double lg_cpu =
			(double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec +
				 ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
			(double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec +
				 ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) /
				1e6;

		printf("clients=%d connected=%d alive=%d frames=%" PRIu64
		       " fps_min=%.2f fps_med=%.2f lat_p50_ms=%.3f lat_p99_ms=%.3f"
		       " lat_max_ms=%.3f invalid=%" PRIu64
		       " cpu_pct=%.1f rss_kb=%ld anon_kb=%ld"
		       " loadgen_cpu_pct=%.1f\n",
		       nclients, connected, alive, frames_total, fps[0],
		       fps[nclients / 2],
		       nlat ? lat_us[nlat / 2] / 1000.0 : -1.0,
		       nlat ? lat_us[nlat * 99 / 100] / 1000.0 : -1.0,
		       nlat ? lat_us[nlat - 1] / 1000.0 : -1.0, invalid_total,
		       cpu_sum * 100.0 / duration, rss_max, anon_max,
		       lg_cpu * 100.0 / duration);
	}
	return 0;
}
