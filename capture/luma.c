/* SPDX-License-Identifier: MIT */
/* luma: the small grey picture of a frame, from a Y plane or a JPEG. */
#include "luma.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "jpegdc.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#endif

void luma_init(struct luma *l)
{
	memset(l, 0, sizeof(*l));
}

void luma_free(struct luma *l)
{
	if (l == NULL)
		return;
	free(l->pixels);
	free(l->acc);
	free(l->tmp);
	if (l->tj != NULL)
		tjDestroy(l->tj);
	jpegdc_destroy(l->dc);
	luma_init(l);
}

int luma_block(int width)
{
	int b = 1;

	while ((width + b - 1) / b > LUMA_MAX_WIDTH)
		b *= 2;
	return b;
}

static int grow(void **p, size_t *cap, size_t need)
{
	void *n;

	if (need <= *cap)
		return 0;
	n = realloc(*p, need);
	if (n == NULL)
		return -1;
	*p = n;
	*cap = need;
	return 0;
}

/* Sizes the small picture for a width x height source; 0 or -1 (errno). */
static int luma_size(struct luma *l, int width, int height)
{
	int b, w, h;

	l->width = l->height = 0;
	if (width <= 0 || height <= 0 || width > LUMA_MAX_SOURCE ||
	    height > LUMA_MAX_SOURCE) {
		errno = EINVAL;
		return -1;
	}
	b = luma_block(width);
	w = (width + b - 1) / b;
	h = (height + b - 1) / b;
	if (grow((void **)&l->pixels, &l->cap, (size_t)w * h) < 0 ||
	    grow((void **)&l->acc, &l->acc_cap,
		 sizeof(uint32_t) * (w + width / 8 + 1)) < 0) {
		errno = ENOMEM;
		return -1;
	}
	l->block = b;
	l->src_width = width;
	l->src_height = height;
	l->width = w;
	l->height = h;
	return 0;
}

/* The sum of 8 bytes, lane-parallel in one 64-bit word. */
static inline uint32_t sum8(const uint8_t *p)
{
	const uint64_t m = 0x00ff00ff00ff00ffull;
	uint64_t v;

	memcpy(&v, p, 8);
	v = (v & m) + ((v >> 8) & m);
	v += v >> 16;
	v += v >> 32;
	return (uint32_t)(v & 0xffff);
}

/* Sums of absolute differences against zero of 16 or 32 bytes at row k of
 * a block (p, st and zero are the caller's).  The two clang-format versions
 * the project meets lay a macro's arguments out differently: kept as
 * written. */
/* clang-format off */
#define LUMA_SAD256(k) \
	_mm256_sad_epu8( \
		_mm256_loadu_si256((const __m256i *)(const void *)(p + (k) * st)), \
		zero)
#define LUMA_SAD(k) \
	_mm_sad_epu8( \
		_mm_loadu_si128((const __m128i *)(const void *)(p + (k) * st)), \
		zero)
/* clang-format on */

/* Adds one source row, block by block (b < 8), into acc[0..w). */

static void add_row(uint32_t *acc, const uint8_t *row, int width, int b)
{
	int full = width / b, x;

	for (int i = 0; i < full; i++) {
		uint32_t s = 0;
		for (int k = 0; k < b; k++)
			s += row[b * i + k];
		acc[i] += s;
	}
	x = full * b;
	if (x < width) {
		uint32_t s = 0;
		for (int k = x; k < width; k++)
			s += row[k];
		acc[full] += s;
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* group_sums for 8 rows with AVX2 (32 bytes, four groups, per load), on
 * the CPUs that have it (chosen at run time); returns the groups done. */
__attribute__((target("avx2"))) static int group_sums8_avx2(uint32_t *g,
							    const uint8_t *src,
							    size_t st,
							    int groups)
{
	const __m256i zero = _mm256_setzero_si256();
	int j = 0;

	for (; j + 4 <= groups; j += 4) {
		const uint8_t *p = src + 8 * j;
		__m256i a = _mm256_add_epi64(
			_mm256_add_epi64(_mm256_add_epi64(LUMA_SAD256(0),
							  LUMA_SAD256(1)),
					 _mm256_add_epi64(LUMA_SAD256(2),
							  LUMA_SAD256(3))),
			_mm256_add_epi64(_mm256_add_epi64(LUMA_SAD256(4),
							  LUMA_SAD256(5)),
					 _mm256_add_epi64(LUMA_SAD256(6),
							  LUMA_SAD256(7))));
#undef LUMA_SAD256
		g[j] = (uint32_t)_mm256_extract_epi64(a, 0);
		g[j + 1] = (uint32_t)_mm256_extract_epi64(a, 1);
		g[j + 2] = (uint32_t)_mm256_extract_epi64(a, 2);
		g[j + 3] = (uint32_t)_mm256_extract_epi64(a, 3);
	}
	return j;
}

static int have_avx2(void)
{
	static int known = -1;

	if (known < 0) {
		__builtin_cpu_init();
		known = __builtin_cpu_supports("avx2") ? 1 : 0;
	}
	return known;
}
#define LUMA_AVX2 1
#endif

/*
 * g[j] = the sum of columns 8j..8j+7 over `rows` rows, for j < groups: the
 * inner loop of the box average, one SIMD instruction or two per 16 bytes
 * where there is SIMD (SSE2: sums of absolute differences to zero; NEON:
 * pairwise widening adds).
 */
static void group_sums(uint32_t *g, const uint8_t *src, int stride, int rows,
		       int groups)
{
	int j = 0;

#if defined(__SSE2__)
	const __m128i zero = _mm_setzero_si128();
#if defined(LUMA_AVX2)
	if (rows == 8 && have_avx2())
		j = group_sums8_avx2(g, src, (size_t)stride, groups);
#endif
	if (rows == 8) {
		/* The usual case (b = 8, a whole block row): unrolled, eight
		 * independent sums per 16 bytes. */
		const size_t st = (size_t)stride;
		for (; j + 2 <= groups; j += 2) {
			const uint8_t *p = src + 8 * j;
			__m128i a = _mm_add_epi64(
				_mm_add_epi64(
					_mm_add_epi64(LUMA_SAD(0), LUMA_SAD(1)),
					_mm_add_epi64(LUMA_SAD(2),
						      LUMA_SAD(3))),
				_mm_add_epi64(
					_mm_add_epi64(LUMA_SAD(4), LUMA_SAD(5)),
					_mm_add_epi64(LUMA_SAD(6),
						      LUMA_SAD(7))));
#undef LUMA_SAD
			g[j] = (uint32_t)_mm_cvtsi128_si32(a);
			g[j + 1] = (uint32_t)_mm_cvtsi128_si32(
				_mm_srli_si128(a, 8));
		}
	}
	for (; j + 2 <= groups; j += 2) {
		__m128i a = zero;
		for (int r = 0; r < rows; r++) {
			__m128i v = _mm_loadu_si128(
				(const __m128i *)(const void *)(src +
								(size_t)r *
									stride +
								8 * j));
			a = _mm_add_epi64(a, _mm_sad_epu8(v, zero));
		}
		g[j] = (uint32_t)_mm_cvtsi128_si32(a);
		g[j + 1] = (uint32_t)_mm_cvtsi128_si32(_mm_srli_si128(a, 8));
	}
#elif defined(__ARM_NEON)
	for (; j + 2 <= groups; j += 2) {
		uint16x8_t a = vdupq_n_u16(0);
		uint64x2_t o;
		for (int r = 0; r < rows; r++)
			a = vpadalq_u8(
				a, vld1q_u8(src + (size_t)r * stride + 8 * j));
		o = vpaddlq_u32(vpaddlq_u16(a));
		g[j] = (uint32_t)vgetq_lane_u64(o, 0);
		g[j + 1] = (uint32_t)vgetq_lane_u64(o, 1);
	}
#endif
	for (; j < groups; j++) {
		uint32_t s = 0;
		for (int r = 0; r < rows; r++)
			s += sum8(src + (size_t)r * stride + 8 * j);
		g[j] = s;
	}
}

/* Box average of b x b blocks of src (sw x sh, stride) into dst (dw wide);
 * acc holds at least dw + sw / 8 words. */
static void box(uint8_t *dst, uint32_t *acc, const uint8_t *src, int sw, int sh,
		int stride, int b)
{
	int dw = (sw + b - 1) / b, groups = sw / 8, per = b / 8, shift = 0,
	    full;
	uint32_t *g = acc + dw, half;

	while ((1 << shift) < b)
		shift++;
	shift *= 2; /* b x b = 1 << shift */
	half = shift > 0 ? 1u << (shift - 1) : 0;

	for (int y0 = 0, r = 0; y0 < sh; y0 += b, r++) {
		int rows = sh - y0 < b ? sh - y0 : b;
		const uint8_t *top = src + (size_t)y0 * stride;

		if (b >= 8) {
			group_sums(g, top, stride, rows, groups);
			if (per == 1) {
				/* b = 8: one group per small pixel */
				memcpy(acc, g, sizeof(uint32_t) * groups);
				if (groups < dw)
					acc[groups] = 0;
			} else
				for (int x = 0; x < dw; x++) {
					int end = (x + 1) * per < groups
							  ? (x + 1) * per
							  : groups;
					uint32_t s = 0;
					for (int j = x * per; j < end; j++)
						s += g[j];
					acc[x] = s;
				}
			if (groups * 8 < sw)
				for (int y = 0; y < rows; y++)
					for (int k = groups * 8; k < sw; k++)
						acc[dw - 1] +=
							top[(size_t)y * stride +
							    k];
		} else {
			memset(acc, 0, sizeof(uint32_t) * dw);
			for (int y = 0; y < rows; y++)
				add_row(acc, top + (size_t)y * stride, sw, b);
		}
		/* Whole blocks (b x b, a power of two) divide by a shift;
		 * only the blocks cut by the border divide. */
		full = rows == b ? sw / b : 0;
		for (int x = 0; x < full; x++)
			dst[(size_t)r * dw + x] = (uint8_t)((acc[x] + half) >>
							    shift);
		for (int x = full; x < dw; x++) {
			int cols = sw - x * b < b ? sw - x * b : b;
			uint32_t n = (uint32_t)(cols * rows);
			dst[(size_t)r * dw + x] = (uint8_t)((acc[x] + n / 2) /
							    n);
		}
	}
}

int luma_from_plane(struct luma *l, const uint8_t *y, int width, int height,
		    int stride)
{
	if (y == NULL || stride < width) {
		l->width = l->height = 0;
		errno = EINVAL;
		return -1;
	}
	if (luma_size(l, width, height) < 0)
		return -1;
	box(l->pixels, l->acc, y, width, height, stride, l->block);
	return 0;
}

int luma_from_jpeg(struct luma *l, const uint8_t *jpeg, size_t len)
{
	int w, h, subsamp, cs, s, sw, sh, over;
	uint8_t *dst;

	l->width = l->height = 0;
	if (jpeg == NULL || len == 0 || len > (size_t)0x7fffffff) {
		errno = EBADMSG;
		return -1;
	}
	if (l->dc == NULL)
		l->dc = jpegdc_create(); /* without it, TurboJPEG alone */
	/* A block of 8 or more pixels reads only the DC coefficients: a
	 * decoder of its own that skips the rest, where the JPEG is baseline
	 * (else, or when the picture is corrupt, TurboJPEG decides). */
	if (l->dc != NULL && jpegdc_header(l->dc, jpeg, len, &w, &h) == 0 &&
	    luma_block(w) >= 8) {
		if (luma_size(l, w, h) < 0)
			return -1;
		sw = (w + 7) / 8;
		sh = (h + 7) / 8;
		over = l->block / 8;
		dst = l->pixels;
		if (over > 1) {
			if (grow((void **)&l->tmp, &l->tmp_cap,
				 (size_t)sw * sh) < 0) {
				l->width = l->height = 0;
				errno = ENOMEM;
				return -1;
			}
			dst = l->tmp;
		}
		if (jpegdc_decode(l->dc, dst, sw) == 0) {
			if (over > 1)
				box(l->pixels, l->acc, l->tmp, sw, sh, sw,
				    over);
			return 0;
		}
	}
	if (l->tj == NULL && (l->tj = tjInitDecompress()) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if (tjDecompressHeader3(l->tj, jpeg, (unsigned long)len, &w, &h,
				&subsamp, &cs) < 0) {
		tjDestroy(l->tj);
		l->tj = NULL;
		errno = EBADMSG;
		return -1;
	}
	if (luma_size(l, w, h) < 0)
		return -1;
	/* TurboJPEG scales by 1/1, 1/2, 1/4 or 1/8 (each a power of two, as
	 * the block is); beyond 1/8 the decoded picture is boxed again. */
	s = l->block > 8 ? 8 : l->block;
	sw = (w + s - 1) / s;
	sh = (h + s - 1) / s;
	over = l->block / s; /* boxed again after the decode when > 1 */
	dst = l->pixels;
	if (over > 1) {
		if (grow((void **)&l->tmp, &l->tmp_cap, (size_t)sw * sh) < 0) {
			l->width = l->height = 0;
			errno = ENOMEM;
			return -1;
		}
		dst = l->tmp;
	}
	if (tjDecompress2(l->tj, jpeg, (unsigned long)len, dst, sw, sw, sh,
			  TJPF_GRAY, TJFLAG_FASTDCT) < 0) {
		/* A decompressor that failed mid-picture starts afresh: some
		 * libjpeg-turbo versions carry its state into the next call. */
		tjDestroy(l->tj);
		l->tj = NULL;
		l->width = l->height = 0;
		errno = EBADMSG;
		return -1;
	}
	if (over > 1)
		box(l->pixels, l->acc, l->tmp, sw, sh, sw, over);
	return 0;
}
