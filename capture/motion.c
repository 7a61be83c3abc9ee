/* SPDX-License-Identifier: MIT */
/* motion: background, noise-following threshold, regions, frames and hold. */
#include "motion.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOTION_BG_TAU_NS 3000000000ll /* background of unchanged pixels */
#define MOTION_BG_SLOW_TAU_NS 15000000000ll /* of changed ones: a parked car */
#define MOTION_NOISE_TAU_NS 10000000000ll /* how slowly the noise falls */
#define MOTION_MAX_DT_NS 1000000000ll
#define MOTION_TEMPORAL_MIN 5 /* levels: change from the previous frame */
#define MOTION_BANDS 8 /* brightness bands of the compensation */
#define MOTION_DIFF_BINS 255 /* signed whole-level differences, +-127 */
#define MOTION_SAMPLE 2 /* statistics on every 2nd pixel and row */
#define MOTION_ABS_BINS 1024 /* absolute differences in quarter levels */

struct motion {
	struct motion_config cfg;
	int w, h, n; /* small picture; 0 before the first frame */
	int have_bg;
	uint16_t *bg; /* 8.8 fixed point */
	uint8_t *prev; /* the previous small picture */
	uint8_t *ignore; /* 1: masked or in the ignore box */
	int watched; /* pixels not ignored */
	int ignore_dirty;
	uint8_t *changed; /* 0: no, 1: changed, 2: changed and moved */
	int32_t *parent; /* union-find over changed pixels */
	uint32_t *size;
	uint32_t *moved;
	int box_x, box_y, box_w, box_h, box_sw, box_sh;
	int64_t last_mono;
	int32_t noise; /* smoothed robust sigma, 8.8 */
	int run; /* consecutive active frames */
	int gap; /* the run went on over one inactive frame */
	int declared;
	int64_t since_ns;
	int64_t last_active;
	uint64_t periods;
	uint32_t band_hist[MOTION_BANDS][MOTION_DIFF_BINS];
	uint32_t sampled;
	uint32_t band_count[MOTION_BANDS];
	uint32_t temporal_hist[MOTION_DIFF_BINS];
	uint32_t abs_hist[MOTION_ABS_BINS];
	uint32_t tabs_hist[256];
	int32_t offset[256]; /* compensation by background level, 8.8 */
};

void motion_config_defaults(struct motion_config *c)
{
	memset(c, 0, sizeof(*c));
	c->enabled = 1;
	c->threshold = 0;
	c->area = 5;
	c->frames = 2;
	c->hold_ms = 2000;
	c->lightswitch = 40;
}

/* ------------------------------------------------------------ parsers */

/*
 * A strict unsigned decimal with up to `decimals` digits after a '.', as an
 * integer scaled by 10^decimals, at most max; *end is where it stopped.
 */
static int parse_fixed(const char *s, int decimals, long max, long *out,
		       const char **end)
{
	long long v = 0;
	int digits = 0, frac = -1;

	for (; *s != '\0'; s++) {
		if (*s == '.' && frac < 0 && digits > 0 && decimals > 0) {
			frac = 0;
			continue;
		}
		if (*s < '0' || *s > '9')
			break;
		if (frac >= 0 && ++frac > decimals)
			return -1;
		v = v * 10 + (*s - '0');
		digits++;
		if (v > (long long)max * 1000)
			return -1;
	}
	if (digits == 0 || frac == 0)
		return -1;
	for (int i = frac < 0 ? 0 : frac; i < decimals; i++)
		v *= 10;
	if (v > max)
		return -1;
	*out = (long)v;
	*end = s;
	return 0;
}

static int fail(char *why, size_t size, const char *text)
{
	snprintf(why, size, "%s", text);
	return -1;
}

static int parse_whole(const char *text, int decimals, long min, long max,
		       long *out)
{
	const char *end;

	if (text == NULL || parse_fixed(text, decimals, max, out, &end) < 0 ||
	    *end != '\0' || *out < min)
		return -1;
	return 0;
}

int motion_parse_enabled(const char *text, struct motion_config *c, char *why,
			 size_t size)
{
	if (text != NULL && strcmp(text, "on") == 0)
		c->enabled = 1;
	else if (text != NULL && strcmp(text, "off") == 0)
		c->enabled = 0;
	else
		return fail(why, size, "expected on or off");
	return 0;
}

int motion_parse_threshold(const char *text, struct motion_config *c, char *why,
			   size_t size)
{
	long v;

	if (text != NULL && strcmp(text, "auto") == 0)
		v = 0;
	else if (parse_whole(text, 0, 1, 255, &v) < 0)
		return fail(why, size, "expected auto or a level 1..255");
	c->threshold = (int)v;
	return 0;
}

int motion_parse_area(const char *text, struct motion_config *c, char *why,
		      size_t size)
{
	long v;

	if (parse_whole(text, 2, 1, 10000, &v) < 0)
		return fail(why, size,
			    "expected a percent 0.01..100 (two decimals)");
	c->area = (int)v;
	return 0;
}

int motion_parse_frames(const char *text, struct motion_config *c, char *why,
			size_t size)
{
	long v;

	if (parse_whole(text, 0, 1, 1000, &v) < 0)
		return fail(why, size, "expected a number of frames 1..1000");
	c->frames = (int)v;
	return 0;
}

int motion_parse_hold(const char *text, struct motion_config *c, char *why,
		      size_t size)
{
	long v;

	if (parse_whole(text, 3, 0, 3600000, &v) < 0)
		return fail(why, size, "expected seconds 0..3600");
	c->hold_ms = (int)v;
	return 0;
}

int motion_parse_lightswitch(const char *text, struct motion_config *c,
			     char *why, size_t size)
{
	long v;

	if (parse_whole(text, 0, 0, 100, &v) < 0)
		return fail(why, size, "expected a percent 0..100 (0: off)");
	c->lightswitch = (int)v;
	return 0;
}

int motion_parse_masks(const char *text, struct motion_config *c, char *why,
		       size_t size)
{
	struct motion_rect r[MOTION_MAX_MASKS];
	const char *s = text;
	int n = 0;

	if (text == NULL)
		return fail(why, size, "expected X,Y,W,H[;X,Y,W,H...]");
	if (*s == '\0' || strcmp(s, "none") == 0) {
		c->nmasks = 0;
		return 0;
	}
	for (;;) {
		long v[4];

		if (n == MOTION_MAX_MASKS) {
			snprintf(why, size, "more than %d masks",
				 MOTION_MAX_MASKS);
			return -1;
		}
		for (int i = 0; i < 4; i++) {
			if (parse_fixed(s, 2, 10000, &v[i], &s) < 0 ||
			    (i < 3 && *s != ',') ||
			    (i == 3 && *s != ';' && *s != '\0')) {
				snprintf(why, size,
					 "mask %d: expected X,Y,W,H in "
					 "percent (up to two decimals)",
					 n + 1);
				return -1;
			}
			if (i < 3)
				s++;
		}
		if (v[2] == 0 || v[3] == 0 || v[0] + v[2] > 10000 ||
		    v[1] + v[3] > 10000) {
			snprintf(why, size,
				 "mask %d: empty or outside the picture "
				 "(X+W and Y+H at most 100)",
				 n + 1);
			return -1;
		}
		r[n++] = (struct motion_rect){(int)v[0], (int)v[1], (int)v[2],
					      (int)v[3]};
		if (*s == '\0')
			break;
		s++;
	}
	memcpy(c->masks, r, sizeof(r[0]) * n);
	c->nmasks = n;
	return 0;
}

/* ----------------------------------------------------------- detector */

struct motion *motion_create(const struct motion_config *cfg)
{
	struct motion *m;

	if (cfg == NULL || cfg->nmasks < 0 || cfg->nmasks > MOTION_MAX_MASKS ||
	    cfg->frames < 1 || cfg->hold_ms < 0 || cfg->area < 1 ||
	    cfg->area > 10000 || cfg->threshold < 0 || cfg->threshold > 255 ||
	    cfg->lightswitch < 0 || cfg->lightswitch > 100) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->cfg = *cfg;
	m->ignore_dirty = 1;
	return m;
}

static void motion_free_buffers(struct motion *m)
{
	free(m->bg);
	free(m->prev);
	free(m->ignore);
	free(m->changed);
	free(m->parent);
	free(m->size);
	free(m->moved);
	m->bg = NULL;
	m->prev = m->ignore = m->changed = NULL;
	m->parent = NULL;
	m->size = m->moved = NULL;
	m->w = m->h = m->n = 0;
}

void motion_destroy(struct motion *m)
{
	if (m == NULL)
		return;
	motion_free_buffers(m);
	free(m);
}

uint64_t motion_periods(const struct motion *m)
{
	return m->periods;
}

void motion_set_ignore_box(struct motion *m, int x, int y, int w, int h,
			   int src_width, int src_height)
{
	if (w <= 0 || h <= 0 || src_width <= 0 || src_height <= 0)
		w = h = 0;
	m->box_x = x;
	m->box_y = y;
	m->box_w = w;
	m->box_h = h;
	m->box_sw = src_width;
	m->box_sh = src_height;
	m->ignore_dirty = 1;
}

/* Marks [x0, x1) x [y0, y1) of the small picture (clipped) as ignored. */
static void ignore_rect(struct motion *m, long x0, long y0, long x1, long y1)
{
	x0 = x0 < 0 ? 0 : x0;
	y0 = y0 < 0 ? 0 : y0;
	x1 = x1 > m->w ? m->w : x1;
	y1 = y1 > m->h ? m->h : y1;
	for (long y = y0; y < y1; y++)
		for (long x = x0; x < x1; x++)
			m->ignore[y * m->w + x] = 1;
}

static long floor_div(long a, long b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static void build_ignore(struct motion *m)
{
	memset(m->ignore, 0, (size_t)m->n);
	for (int i = 0; i < m->cfg.nmasks; i++) {
		const struct motion_rect *r = &m->cfg.masks[i];
		ignore_rect(m, (long)r->x * m->w / 10000,
			    (long)r->y * m->h / 10000,
			    ((long)(r->x + r->w) * m->w + 9999) / 10000,
			    ((long)(r->y + r->h) * m->h + 9999) / 10000);
	}
	if (m->box_w > 0) {
		long sw = m->box_sw, sh = m->box_sh;
		ignore_rect(
			m, floor_div((long)m->box_x * m->w, sw),
			floor_div((long)m->box_y * m->h, sh),
			floor_div((long)(m->box_x + m->box_w) * m->w + sw - 1,
				  sw),
			floor_div((long)(m->box_y + m->box_h) * m->h + sh - 1,
				  sh));
	}
	m->watched = 0;
	for (int i = 0; i < m->n; i++)
		m->watched += !m->ignore[i];
	m->ignore_dirty = 0;
}

static int resize(struct motion *m, int w, int h)
{
	size_t n = (size_t)w * h;

	motion_free_buffers(m);
	m->bg = malloc(n * sizeof(*m->bg));
	m->prev = malloc(n);
	m->ignore = malloc(n);
	m->changed = malloc(n);
	m->parent = malloc(n * sizeof(*m->parent));
	m->size = malloc(n * sizeof(*m->size));
	m->moved = malloc(n * sizeof(*m->moved));
	if (m->bg == NULL || m->prev == NULL || m->ignore == NULL ||
	    m->changed == NULL || m->parent == NULL || m->size == NULL ||
	    m->moved == NULL) {
		motion_free_buffers(m);
		errno = ENOMEM;
		return -1;
	}
	m->w = w;
	m->h = h;
	m->n = (int)n;
	m->have_bg = 0;
	m->ignore_dirty = 1;
	return 0;
}

/* The value below which half of the histogram's count lies. */
static int hist_median(const uint32_t *hist, int bins, uint32_t count)
{
	uint32_t acc = 0;

	for (int i = 0; i < bins; i++) {
		acc += hist[i];
		if (2 * acc >= count)
			return i;
	}
	return bins - 1;
}

/*
 * The brightness compensation: the median difference frame - background in
 * each band of background brightness, interpolated over the levels; bands
 * with too few pixels take the global median.
 */
static inline int clamp127(int v)
{
	return v < -127 ? -127 : v > 127 ? 127 : v;
}

static void compensation(struct motion *m, const uint8_t *pix)
{
	uint32_t global[MOTION_DIFF_BINS];
	int32_t band_med[MOTION_BANDS];
	uint32_t total = 0;
	int32_t g;

	memset(m->band_hist, 0, sizeof(m->band_hist));
	memset(m->band_count, 0, sizeof(m->band_count));
	memset(m->temporal_hist, 0, sizeof(m->temporal_hist));
	for (int y = 0; y < m->h; y += MOTION_SAMPLE)
		for (int i = y * m->w; i < (y + 1) * m->w; i += MOTION_SAMPLE) {
			int b, d;
			if (m->ignore[i])
				continue;
			b = m->bg[i] >> 13;
			/* Rounded to whole levels; a shift (the sum is at
			 * least -127, which clamps the same either way). */
			d = clamp127((((int)pix[i] * 256 - m->bg[i] +
				       255 * 256 + 128) >>
				      8) -
				     255);
			m->band_hist[b][d + 127]++;
			m->band_count[b]++;
			m->temporal_hist[clamp127((int)pix[i] - m->prev[i]) +
					 127]++;
		}
	memset(global, 0, sizeof(global));
	for (int b = 0; b < MOTION_BANDS; b++) {
		total += m->band_count[b];
		for (int d = 0; d < MOTION_DIFF_BINS; d++)
			global[d] += m->band_hist[b][d];
	}
	m->sampled = total;
	g = (hist_median(global, MOTION_DIFF_BINS, total) - 127) * 256;
	for (int b = 0; b < MOTION_BANDS; b++) {
		if (m->band_count[b] * 50 >= total && m->band_count[b] >= 16)
			band_med[b] = (hist_median(m->band_hist[b],
						   MOTION_DIFF_BINS,
						   m->band_count[b]) -
				       127) *
				      256;
		else
			band_med[b] = g;
	}
	/* Linear between band centres (16, 48, ... 240), flat outside. */
	for (int v = 0; v < 256; v++) {
		int b = (v - 16) / 32, t;
		if (v < 16) {
			m->offset[v] = band_med[0];
			continue;
		}
		if (b >= MOTION_BANDS - 1) {
			m->offset[v] = band_med[MOTION_BANDS - 1];
			continue;
		}
		t = (v - 16) % 32;
		m->offset[v] = (band_med[b] * (32 - t) + band_med[b + 1] * t) /
			       32;
	}
}

static int32_t find(int32_t *parent, int32_t i)
{
	while (parent[i] != i) {
		parent[i] = parent[parent[i]];
		i = parent[i];
	}
	return i;
}

static void unite(int32_t *parent, int32_t a, int32_t b)
{
	a = find(parent, a);
	b = find(parent, b);
	if (a < b)
		parent[b] = a;
	else if (b < a)
		parent[a] = b;
}

/* Labels the changed pixels; returns the moving pixels of kept regions and
 * marks them in changed[] as 3. */
static uint32_t regions(struct motion *m, uint32_t min_region)
{
	int w = m->w;
	uint32_t moving = 0;

	for (int y = 0; y < m->h; y++)
		for (int x = 0; x < w; x++) {
			int i = y * w + x;
			if (!m->changed[i])
				continue;
			m->parent[i] = i;
			m->size[i] = 0;
			m->moved[i] = 0;
			if (x > 0 && m->changed[i - 1])
				unite(m->parent, i, i - 1);
			if (y > 0) {
				if (m->changed[i - w])
					unite(m->parent, i, i - w);
				if (x > 0 && m->changed[i - w - 1])
					unite(m->parent, i, i - w - 1);
				if (x + 1 < w && m->changed[i - w + 1])
					unite(m->parent, i, i - w + 1);
			}
		}
	for (int i = 0; i < m->n; i++)
		if (m->changed[i]) {
			int32_t r = find(m->parent, i);
			m->size[r]++;
			m->moved[r] += m->changed[i] == 2;
		}
	for (int i = 0; i < m->n; i++) {
		int32_t r;
		uint32_t need;
		if (!m->changed[i])
			continue;
		r = m->parent[i] == i ? i : find(m->parent, i);
		need = m->size[r] / 32 > 2 ? m->size[r] / 32 : 2;
		if (m->size[r] >= min_region && m->moved[r] >= need) {
			m->changed[i] = 3;
			moving++;
		}
	}
	return moving;
}

static void reset_background(struct motion *m, const uint8_t *pix)
{
	for (int i = 0; i < m->n; i++)
		m->bg[i] = (uint16_t)(pix[i] * 256);
	memcpy(m->prev, pix, (size_t)m->n);
}

/*
 * active: 2 when the moving regions cover the minimum area, 1 when they
 * cover half of it (an object still entering the picture), 0 when nothing
 * moves.  A run counts frames of 1 or 2; motion is declared at a frame of
 * 2 that ends a run of `frames`; only frames of 2 hold it.
 */
static void decide(struct motion *m, int active, int64_t mono, int64_t real,
		   struct motion_result *out)
{
	if (active) {
		m->run++;
		m->gap = 0;
		if (active == 2) {
			m->last_active = mono;
			if (!m->declared && m->run >= m->cfg.frames) {
				m->declared = 1;
				m->since_ns = real;
				m->periods++;
			}
		}
	} else {
		/* One inactive frame inside a run (a repeated or dropped
		 * frame: nothing moved since the last one) does not break
		 * it; two do. */
		if (m->run > 0 && !m->gap)
			m->gap = 1;
		else
			m->run = m->gap = 0;
	}
	if (active != 2 && m->declared &&
	    mono - m->last_active >= (int64_t)m->cfg.hold_ms * 1000000) {
		m->declared = 0;
		m->since_ns = 0;
	}
	out->declared = m->declared;
	out->since_ns = m->declared ? m->since_ns : 0;
}

/* The noise-following thresholds, from the sampled pixels: thr over the
 * background (8.8) and tthr from the previous frame (levels). */
static void thresholds(struct motion *m, const uint8_t *pix, int toff,
		       int64_t dt, int32_t *thr, int32_t *tthr)
{
	int32_t sigma;

	memset(m->abs_hist, 0, sizeof(m->abs_hist));
	memset(m->tabs_hist, 0, sizeof(m->tabs_hist));
	for (int y = 0; y < m->h; y += MOTION_SAMPLE)
		for (int i = y * m->w; i < (y + 1) * m->w; i += MOTION_SAMPLE) {
			int32_t e, t;
			if (m->ignore[i])
				continue;
			e = (int32_t)pix[i] * 256 - m->bg[i] -
			    m->offset[m->bg[i] >> 8];
			e = (e < 0 ? -e : e) >> 6;
			m->abs_hist[e < MOTION_ABS_BINS
					    ? e
					    : MOTION_ABS_BINS - 1]++;
			t = (int)pix[i] - m->prev[i] - toff;
			t = t < 0 ? -t : t;
			m->tabs_hist[t > 255 ? 255 : t]++;
		}
	/* sigma = 1.4826 x median absolute difference; 8.8 fixed point. */
	sigma = hist_median(m->abs_hist, MOTION_ABS_BINS, m->sampled) * 64 *
		1518 / 1024;
	if (sigma >= m->noise)
		m->noise = sigma;
	else
		m->noise += (int32_t)((int64_t)(sigma - m->noise) * dt /
				      MOTION_NOISE_TAU_NS);
	if (m->cfg.threshold > 0) {
		*thr = m->cfg.threshold * 256;
	} else {
		*thr = (int32_t)(MOTION_NOISE_K * m->noise);
		if (*thr < MOTION_THRESHOLD_MIN * 256)
			*thr = MOTION_THRESHOLD_MIN * 256;
	}
	*tthr = hist_median(m->tabs_hist, 256, m->sampled) * 1518 / 1024;
	*tthr = (int32_t)(MOTION_NOISE_K * *tthr) + 1;
	if (*tthr < MOTION_TEMPORAL_MIN)
		*tthr = MOTION_TEMPORAL_MIN;
}

/* What classify needs per pixel, gathered once. */
struct classify_args {
	const uint8_t *pix, *ign;
	const int32_t *off;
	uint16_t *bg;
	uint8_t *prev, *chg;
	int32_t toff, thr, tthr, fast, slow;
};

/* classify over pixels [i, n); returns the changed ones. */
static uint32_t classify_scalar(const struct classify_args *c, int i, int n)
{
	uint32_t changed = 0;

	for (; i < n; i++) {
		int32_t p = c->pix[i];
		int32_t b = c->bg[i];
		int32_t d = p * 256 - b;
		int32_t e = d - c->off[b >> 8];
		int32_t t = p - c->prev[i] - c->toff;
		int32_t ch = ((e < 0 ? -e : e) >= c->thr) & (c->ign[i] == 0);
		int32_t mv = ch & ((t < 0 ? -t : t) >= c->tthr);
		int32_t a = ch ? c->slow : c->fast;

		c->chg[i] = (uint8_t)(ch + mv);
		changed += (uint32_t)ch;
		/* floor: at most 1/256 level off the division */
		c->bg[i] = (uint16_t)(b + ((d * a) >> 12));
		c->prev[i] = (uint8_t)p;
	}
	return changed;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/*
 * classify_scalar for 8 pixels at a time with AVX2 (the offset looked up by
 * a gather), on the CPUs that have it (chosen at run time): the same
 * integer arithmetic, so the same decisions.  Does [0, n - n % 8) and
 * returns the changed pixels there.
 */
__attribute__((target("avx2"))) static uint32_t classify_avx2(
	const struct classify_args *c, int n)
{
	const __m256i thr = _mm256_set1_epi32(c->thr - 1);
	const __m256i tthr = _mm256_set1_epi32(c->tthr - 1);
	const __m256i toff = _mm256_set1_epi32(c->toff);
	const __m256i fast = _mm256_set1_epi32(c->fast);
	const __m256i slow = _mm256_set1_epi32(c->slow);
	const __m256i zero = _mm256_setzero_si256();
	const __m256i one = _mm256_set1_epi32(1);
	uint32_t changed = 0;

	for (int i = 0; i + 8 <= n; i += 8) {
		__m128i p8 = _mm_loadl_epi64(
			(const __m128i *)(const void *)(c->pix + i));
		__m256i p = _mm256_cvtepu8_epi32(p8);
		__m256i b = _mm256_cvtepu16_epi32(_mm_loadu_si128(
			(const __m128i *)(const void *)(c->bg + i)));
		__m256i q = _mm256_cvtepu8_epi32(_mm_loadl_epi64(
			(const __m128i *)(const void *)(c->prev + i)));
		__m256i ig = _mm256_cvtepu8_epi32(_mm_loadl_epi64(
			(const __m128i *)(const void *)(c->ign + i)));
		__m256i d = _mm256_sub_epi32(_mm256_slli_epi32(p, 8), b);
		__m256i o = _mm256_i32gather_epi32((const int *)c->off,
						   _mm256_srli_epi32(b, 8), 4);
		__m256i e = _mm256_abs_epi32(_mm256_sub_epi32(d, o));
		__m256i t = _mm256_abs_epi32(
			_mm256_sub_epi32(_mm256_sub_epi32(p, q), toff));
		__m256i ch = _mm256_and_si256(_mm256_cmpeq_epi32(ig, zero),
					      _mm256_cmpgt_epi32(e, thr));
		__m256i mv = _mm256_and_si256(ch, _mm256_cmpgt_epi32(t, tthr));
		__m256i a = _mm256_blendv_epi8(fast, slow, ch);
		__m256i nb = _mm256_add_epi32(
			b, _mm256_srai_epi32(_mm256_mullo_epi32(d, a), 12));
		__m256i cv = _mm256_add_epi32(_mm256_and_si256(ch, one),
					      _mm256_and_si256(mv, one));
		__m256i nb16 = _mm256_permute4x64_epi64(
			_mm256_packus_epi32(nb, nb), 0x08);
		__m256i cv16 = _mm256_permute4x64_epi64(
			_mm256_packus_epi32(cv, cv), 0x08);
		__m128i cv8 = _mm_packus_epi16(_mm256_castsi256_si128(cv16),
					       _mm256_castsi256_si128(cv16));

		_mm_storeu_si128((__m128i *)(void *)(c->bg + i),
				 _mm256_castsi256_si128(nb16));
		_mm_storel_epi64((__m128i *)(void *)(c->chg + i), cv8);
		_mm_storel_epi64((__m128i *)(void *)(c->prev + i), p8);
		changed += (uint32_t)__builtin_popcount(
			(unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(ch)));
	}
	return changed;
}

static int motion_have_avx2(void)
{
	static int known = -1;

	if (known < 0) {
		__builtin_cpu_init();
		known = __builtin_cpu_supports("avx2") ? 1 : 0;
	}
	return known;
}
#define MOTION_AVX2 1
#endif

/*
 * The one pass over every pixel: changed or not (and moved from the
 * previous frame), then the background's update (slow where changed) and
 * the previous frame.  Branch-free (noise makes the changed test
 * unpredictable).  Returns the changed pixels.
 */
static uint32_t classify(struct motion *m, const uint8_t *pix, int toff,
			 int32_t thr, int32_t tthr, int64_t dt)
{
	struct classify_args c = {
		.pix = pix,
		.ign = m->ignore,
		.off = m->offset,
		.bg = m->bg,
		.prev = m->prev,
		.chg = m->changed,
		.toff = toff,
		.thr = thr,
		.tthr = tthr,
		.fast = (int32_t)(dt * 4096 / MOTION_BG_TAU_NS),
		.slow = (int32_t)(dt * 4096 / MOTION_BG_SLOW_TAU_NS),
	};
	uint32_t changed = 0;
	int i = 0;

	c.fast = c.fast < 1 ? 1 : c.fast;
	c.slow = c.slow < 1 ? 1 : c.slow;
#if defined(MOTION_AVX2)
	if (motion_have_avx2()) {
		changed = classify_avx2(&c, m->n);
		i = m->n - m->n % 8;
	}
#endif
	return changed + classify_scalar(&c, i, m->n);
}

int motion_feed(struct motion *m, const struct luma *small, int64_t mono_ns,
		int64_t real_ns, struct motion_result *out)
{
	const uint8_t *pix = small->pixels;
	int64_t dt;
	int32_t thr, tthr;
	uint32_t changed, moving = 0, area_px, min_region;
	int toff;

	memset(out, 0, sizeof(*out));
	if (small->width <= 0 || small->height <= 0 || pix == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((small->width != m->w || small->height != m->h) &&
	    resize(m, small->width, small->height) < 0)
		return -1;
	if (m->ignore_dirty)
		build_ignore(m);
	if (!m->have_bg || m->watched == 0 || !m->cfg.enabled) {
		reset_background(m, pix);
		m->have_bg = 1;
		m->last_mono = mono_ns;
		decide(m, 0, mono_ns, real_ns, out);
		return 0;
	}
	dt = mono_ns - m->last_mono;
	dt = dt < 0 ? 0 : dt > MOTION_MAX_DT_NS ? MOTION_MAX_DT_NS : dt;
	m->last_mono = mono_ns;

	compensation(m, pix);
	if (m->sampled == 0) { /* only a few pixels watched, none sampled */
		reset_background(m, pix);
		decide(m, 0, mono_ns, real_ns, out);
		return 0;
	}
	toff = hist_median(m->temporal_hist, MOTION_DIFF_BINS, m->sampled) -
	       127;
	thresholds(m, pix, toff, dt, &thr, &tthr);
	changed = classify(m, pix, toff, thr, tthr, dt);

	if (m->cfg.lightswitch > 0 &&
	    (uint64_t)changed * 100 >
		    (uint64_t)m->cfg.lightswitch * (uint32_t)m->watched) {
		reset_background(m, pix);
		m->noise = 0;
		decide(m, 0, mono_ns, real_ns, out);
		return 0;
	}

	area_px = (uint32_t)(((int64_t)m->cfg.area * m->n + 5000) / 10000);
	min_region = area_px / 2 > 3 ? area_px / 2 : 3;
	if (changed > 0)
		moving = regions(m, min_region);

	out->score = (uint32_t)((uint64_t)moving * MOTION_SCORE_MAX / m->n);
	if (moving > 0 && out->score == 0)
		out->score = 1;
	if (moving > 0)
		for (int y = 0; y < m->h; y++)
			for (int x = 0; x < m->w; x++) {
				unsigned c, r;
				if (m->changed[y * m->w + x] != 3)
					continue;
				c = (unsigned)x * MOTION_COLS / m->w;
				r = (unsigned)y * MOTION_ROWS / m->h;
				out->grid[r * (MOTION_COLS / 8) + c / 8] |=
					(uint8_t)(1u << (c % 8));
			}
	decide(m,
	       moving >= area_px       ? 2
	       : moving * 2 >= area_px ? 1
				       : 0,
	       mono_ns, real_ns, out);
	return 0;
}
