/* SPDX-License-Identifier: MIT */
/* meta: event metadata JSON, ids, atomic file replacement. */
#include "meta.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

static int camera_valid(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return n >= 1 && n <= META_CAMERA_MAX;
}

int meta_id(char *buf, size_t size, int64_t start_ns, const char *camera)
{
	time_t sec;
	struct tm tm;
	int n;

	if (!camera_valid(camera) || start_ns < 0 ||
	    start_ns / NS_PER_S > 253402300799LL) {
		errno = EINVAL;
		return -1;
	}
	sec = (time_t)(start_ns / NS_PER_S);
	if (gmtime_r(&sec, &tm) == NULL) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(buf, size, "%04d%02d%02dT%02d%02d%02d.%03dZ-%s",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec,
		     (int)(start_ns % NS_PER_S / NS_PER_MS), camera);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int meta_id_valid(const char *id)
{
	static const char shape[] = "ddddddddTdddddd.dddZ-";
	size_t i;

	for (i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd' ? !(id[i] >= '0' && id[i] <= '9')
				    : id[i] != shape[i])
			return 0;
	}
	return camera_valid(id + i);
}

int meta_id_time(const char *id, int64_t *ns)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, ms;
	time_t t;

	if (!meta_id_valid(id) || sscanf(id, "%4d%2d%2dT%2d%2d%2d.%3dZ", &y,
					 &mo, &d, &h, &mi, &sec, &ms) != 7) {
		errno = EINVAL;
		return -1;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t < 0) {
		errno = EINVAL;
		return -1;
	}
	*ns = (int64_t)t * NS_PER_S + (int64_t)ms * NS_PER_MS;
	return 0;
}

int meta_name_valid(const char *name)
{
	size_t n;

	if (name[0] == '.' || name[0] == '\0')
		return 0;
	for (n = 0; name[n] != '\0'; n++) {
		char c = name[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return 0;
	}
	return n < META_NAME_MAX;
}

/* ------------------------------------------------------------ writing */

struct out {
	char *buf;
	size_t size, len;
	int overflow;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len)
		o->overflow = 1;
	else
		o->len += (size_t)n;
}

static void put_time(struct out *o, const char *key, int64_t ns)
{
	int64_t ms = ns / NS_PER_MS;

	put(o, ",\"%s\":%" PRId64 ".%03d", key, ms / 1000, (int)(ms % 1000));
}

int meta_format(const struct meta *m, char *buf, size_t size)
{
	struct out o = {buf, size, 0, 0};
	unsigned i;

	if (size == 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Every string we write is checked to need no escaping. */
	put(&o, "{\"id\":\"%s\",\"camera\":\"%s\"", m->id, m->camera);
	put_time(&o, "start", m->start_ns);
	if (m->has_end)
		put_time(&o, "end", m->end_ns);
	else
		put(&o, ",\"end\":null");
	put_time(&o, "last", m->last_ns);
	put(&o, ",\"frames\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"score\":%u",
	    m->frames, m->bytes, (unsigned)m->score);
	put(&o, ",\"grid\":\"");
	for (i = 0; i < RECFRAME_GRID_BYTES; i++)
		put(&o, "%02x", m->grid[i]);
	put(&o, "\",\"interrupted\":%s,\"width\":%u,\"height\":%u",
	    m->interrupted ? "true" : "false", (unsigned)m->width,
	    (unsigned)m->height);
	if (m->thumbnail[0] != '\0')
		put(&o, ",\"thumbnail\":\"%s\"", m->thumbnail);
	else
		put(&o, ",\"thumbnail\":null");
	put(&o, ",\"files\":[");
	for (i = 0; i < m->nfiles; i++)
		put(&o, "%s\"%s\"", i ? "," : "", m->files[i]);
	put(&o, "]}\n");
	if (o.overflow) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return (int)o.len;
}

/* ------------------------------------------------------------ parsing */

struct in {
	const char *p, *end;
};

static void skip_ws(struct in *in)
{
	while (in->p < in->end && (*in->p == ' ' || *in->p == '\n' ||
				   *in->p == '\t' || *in->p == '\r'))
		in->p++;
}

static int expect(struct in *in, char c)
{
	skip_ws(in);
	if (in->p >= in->end || *in->p != c)
		return -1;
	in->p++;
	return 0;
}

static int literal(struct in *in, const char *word)
{
	size_t n = strlen(word);

	skip_ws(in);
	if ((size_t)(in->end - in->p) < n || memcmp(in->p, word, n) != 0)
		return -1;
	in->p += n;
	return 0;
}

/* A string of printable ASCII without escapes (all we ever write). */
static int string(struct in *in, char *out, size_t size)
{
	size_t n = 0;

	if (expect(in, '"') < 0)
		return -1;
	while (in->p < in->end && *in->p != '"') {
		unsigned char c = (unsigned char)*in->p++;

		if (c < 0x20 || c >= 0x7f || c == '\\' || n + 1 >= size)
			return -1;
		out[n++] = (char)c;
	}
	if (in->p >= in->end)
		return -1;
	in->p++;
	out[n] = '\0';
	return 0;
}

/* A non-negative decimal with up to 9 fraction digits, as ns (scale 1e9)
 * or as an integer (scale 1). */
static int number(struct in *in, int64_t scale, int64_t *out)
{
	int64_t whole = 0, frac = 0, unit = NS_PER_S / 10;
	int digits = 0;

	skip_ws(in);
	while (in->p < in->end && *in->p >= '0' && *in->p <= '9') {
		if (whole > (INT64_MAX / 10 - 9) / scale)
			return -1;
		whole = whole * 10 + (*in->p++ - '0');
		digits++;
	}
	if (digits == 0)
		return -1;
	if (in->p < in->end && *in->p == '.') {
		in->p++;
		digits = 0;
		while (in->p < in->end && *in->p >= '0' && *in->p <= '9') {
			if (digits++ < 9) {
				frac += (*in->p - '0') * unit;
				unit /= 10;
			}
			in->p++;
		}
		if (digits == 0 || scale != NS_PER_S)
			return -1;
	}
	*out = whole * scale + frac;
	return 0;
}

static int boolean(struct in *in, int *out)
{
	if (literal(in, "true") == 0)
		*out = 1;
	else if (literal(in, "false") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int grid(struct in *in, uint8_t *g)
{
	char hex[2 * RECFRAME_GRID_BYTES + 1];
	size_t i;

	if (string(in, hex, sizeof(hex)) < 0 ||
	    strlen(hex) != 2 * RECFRAME_GRID_BYTES)
		return -1;
	for (i = 0; i < RECFRAME_GRID_BYTES; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		g[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int files(struct in *in, struct meta *m)
{
	if (expect(in, '[') < 0)
		return -1;
	m->nfiles = 0;
	skip_ws(in);
	if (in->p < in->end && *in->p == ']') {
		in->p++;
		return 0;
	}
	for (;;) {
		if (m->nfiles == META_FILES_MAX ||
		    string(in, m->files[m->nfiles], META_NAME_MAX) < 0 ||
		    !meta_name_valid(m->files[m->nfiles]))
			return -1;
		m->nfiles++;
		skip_ws(in);
		if (in->p < in->end && *in->p == ',') {
			in->p++;
			continue;
		}
		return expect(in, ']');
	}
}

/* Skips a value of a key we do not know (scalars only). */
static int skip_value(struct in *in)
{
	char tmp[META_JSON_MAX];
	int64_t n;
	int b;

	skip_ws(in);
	if (in->p < in->end && *in->p == '"')
		return string(in, tmp, sizeof(tmp));
	if (literal(in, "null") == 0 || boolean(in, &b) == 0)
		return 0;
	return number(in, NS_PER_S, &n);
}

static int value(struct in *in, const char *key, struct meta *m, unsigned *seen)
{
	int64_t v;

#define SEEN(bit) (*seen |= 1u << (bit))
	if (strcmp(key, "id") == 0) {
		SEEN(0);
		return string(in, m->id, sizeof(m->id));
	}
	if (strcmp(key, "camera") == 0) {
		SEEN(1);
		return string(in, m->camera, sizeof(m->camera));
	}
	if (strcmp(key, "start") == 0) {
		SEEN(2);
		return number(in, NS_PER_S, &m->start_ns);
	}
	if (strcmp(key, "end") == 0) {
		SEEN(3);
		if (literal(in, "null") == 0) {
			m->has_end = 0;
			return 0;
		}
		m->has_end = 1;
		return number(in, NS_PER_S, &m->end_ns);
	}
	if (strcmp(key, "last") == 0)
		return number(in, NS_PER_S, &m->last_ns);
	if (strcmp(key, "frames") == 0) {
		SEEN(4);
		if (number(in, 1, &v) < 0)
			return -1;
		m->frames = (uint64_t)v;
		return 0;
	}
	if (strcmp(key, "bytes") == 0) {
		SEEN(5);
		if (number(in, 1, &v) < 0)
			return -1;
		m->bytes = (uint64_t)v;
		return 0;
	}
	if (strcmp(key, "score") == 0 || strcmp(key, "width") == 0 ||
	    strcmp(key, "height") == 0) {
		if (number(in, 1, &v) < 0 || v > UINT32_MAX)
			return -1;
		*(key[0] == 's'	  ? &m->score
		  : key[0] == 'w' ? &m->width
				  : &m->height) = (uint32_t)v;
		return 0;
	}
	if (strcmp(key, "grid") == 0)
		return grid(in, m->grid);
	if (strcmp(key, "interrupted") == 0)
		return boolean(in, &m->interrupted);
	if (strcmp(key, "thumbnail") == 0) {
		if (literal(in, "null") == 0) {
			m->thumbnail[0] = '\0';
			return 0;
		}
		if (string(in, m->thumbnail, sizeof(m->thumbnail)) < 0)
			return -1;
		return meta_name_valid(m->thumbnail) ? 0 : -1;
	}
	if (strcmp(key, "files") == 0) {
		SEEN(6);
		return files(in, m);
	}
#undef SEEN
	return skip_value(in);
}

int meta_parse(const char *text, size_t len, struct meta *m)
{
	struct in in = {text, text + len};
	char key[32];
	unsigned seen = 0;

	memset(m, 0, sizeof(*m));
	if (expect(&in, '{') < 0)
		goto fail;
	for (;;) {
		if (string(&in, key, sizeof(key)) < 0 || expect(&in, ':') < 0 ||
		    value(&in, key, m, &seen) < 0)
			goto fail;
		skip_ws(&in);
		if (in.p < in.end && *in.p == ',') {
			in.p++;
			continue;
		}
		if (expect(&in, '}') < 0)
			goto fail;
		break;
	}
	skip_ws(&in);
	if (in.p != in.end || seen != 0x7f || !meta_id_valid(m->id) ||
	    !camera_valid(m->camera))
		goto fail;
	return 0;
fail:
	errno = EINVAL;
	return -1;
}

/* ------------------------------------------------------------ files */

/* What replace() syncs: nothing, the new content, or it and the rename. */
enum sync { SYNC_NONE, SYNC_DATA, SYNC_ALL };

static int replace(int dirfd, const char *name, const void *data, size_t len,
		   enum sync sync)
{
	char tmp[META_NAME_MAX + 8];
	const char *p = data;
	int fd, saved;

	if (snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    META_FILE_MODE);
	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (sync != SYNC_NONE && fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		goto fail;
	/* The rename is durable only once the directory is. */
	if (sync == SYNC_ALL && fsync(dirfd) < 0)
		return -1;
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	errno = saved;
	return -1;
}

int meta_replace(int dirfd, const char *name, const void *data, size_t len)
{
	return replace(dirfd, name, data, len, SYNC_ALL);
}

int meta_replace_update(int dirfd, const char *name, const void *data,
			size_t len)
{
	return replace(dirfd, name, data, len, SYNC_DATA);
}

int meta_replace_nosync(int dirfd, const char *name, const void *data,
			size_t len)
{
	return replace(dirfd, name, data, len, SYNC_NONE);
}

static int write_meta(int dirfd, const struct meta *m, enum sync sync)
{
	char buf[META_JSON_MAX], name[META_NAME_MAX];
	int n = meta_format(m, buf, sizeof(buf));

	if (n < 0)
		return -1;
	snprintf(name, sizeof(name), "%s.json", m->id);
	return replace(dirfd, name, buf, (size_t)n, sync);
}

int meta_write(int dirfd, const struct meta *m)
{
	return write_meta(dirfd, m, SYNC_ALL);
}

int meta_update(int dirfd, const struct meta *m)
{
	return write_meta(dirfd, m, SYNC_DATA);
}

int meta_read(int dirfd, const char *name, struct meta *m)
{
	char buf[META_JSON_MAX];
	size_t len = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf)) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
	}
	close(fd);
	return meta_parse(buf, len, m);
}
