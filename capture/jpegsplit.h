/* SPDX-License-Identifier: MIT */
/*
 * jpegsplit: cuts a byte stream of concatenated JPEGs (a pipe from
 * rpicam-vid or ffmpeg) into whole frames, with a real marker scanner rather
 * than a search for FF D9:
 *   - outside a frame, bytes are skipped (counted as garbage) until SOI
 *     (FF D8 followed by a marker FF);
 *   - in the header part, every marker segment's length is honoured, so an
 *     EXIF thumbnail (a JPEG inside APP1) does not end the frame;
 *   - after SOS, entropy-coded data is scanned for markers: FF 00 (stuffing),
 *     RSTn and FF fill bytes continue the scan, EOI ends the frame, another
 *     marker (progressive JPEGs: DHT, SOS...) is parsed as a segment;
 *   - a new SOI before EOI means the previous frame was truncated; a frame
 *     that outgrows the buffer is oversize; a frame whose structure breaks
 *     (a byte where a marker must be, a bad length, SOF, SOS, DQT, DHT or
 *     DRI contents that do not add up) is corrupt, and so is a frame whose
 *     header has a segment (APPn, COM) ending inside an embedded JPEG (an
 *     EXIF thumbnail is whole; garbage whose segment length landed on a
 *     marker of the next JPEG is not).  All three are counted and never
 *     returned.
 *   - the kept bytes of a frame that failed in its header are scanned
 *     again, in place, from after its SOI: a frame cut inside its header
 *     and glued to the next ones (a segment length swallowed their SOIs)
 *     gives those frames back, also when the bytes scanned again hold
 *     another such frame, and also at the end of the input.  Scanning
 *     again has a work budget, earned by the input: whatever the input, the
 *     work stays linear (stats.rescanned <= 4 * input + 5 * buffer size);
 *     when it is spent, the kept bytes of a broken frame are dropped
 *     (stats.rescans_refused).
 * Pure computation: no I/O, no allocation (the caller owns the buffer), so
 * it is unit tested and fuzzed on its own.  Memory is bounded by the buffer.
 */
#ifndef VIGIL_JPEGSPLIT_H
#define VIGIL_JPEGSPLIT_H

#include <stddef.h>
#include <stdint.h>

struct jpegsplit_stats {
	uint64_t frames; /* complete frames returned */
	uint64_t garbage_bytes; /* bytes outside any frame */
	uint64_t garbage_runs; /* runs of such bytes (one per gap) */
	uint64_t truncated; /* a new SOI, or the end, before EOI */
	uint64_t oversize; /* longer than the buffer */
	uint64_t corrupt; /* broken marker structure, or a header that
				 * swallowed the start of another JPEG */
	uint64_t rescanned; /* kept bytes looked at again or moved down
				 * in the buffer (segment payloads skipped
				 * over are not looked at) */
	uint64_t rescans_refused; /* broken frames not scanned again: the
				   * work budget was spent */
};

/* A complete frame, SOI..EOI.  data is borrowed from the splitter's buffer
 * (not necessarily its start) until the next jpegsplit_push() or
 * jpegsplit_finish(). */
struct jpegsplit_frame {
	const uint8_t *data;
	size_t len;
	int width; /* from the SOFn segment; 0 when there was none */
	int height;
};

/* The state; fields are private (the struct is public so that it can be
 * embedded without allocation). */
struct jpegsplit {
	uint8_t *buf;
	size_t cap;
	size_t base, flen; /* buf[base..flen): the current frame's bytes */
	size_t rp, rend; /* buf[rp..rend): kept bytes to scan again */
	int inplace; /* the bytes being scanned are buf[flen..] */
	unsigned replays; /* scans again set up so far */
	int64_t credit; /* work budget left for scanning again, in bytes */
	int state;
	int pending; /* SOI prefix bytes seen in the seek states */
	int oversize; /* the current frame no longer fits */
	int in_garbage; /* inside a run of garbage (for garbage_runs) */
	uint8_t marker; /* the segment being read */
	uint32_t remain; /* segment bytes still to skip */
	size_t seg_start; /* offset of the segment's payload from base */
	size_t hdr_end; /* offset of the first SOS from base */
	int scanned; /* an SOS was seen in this frame */
	int sof; /* a frame header (SOFn) was seen */
	int ncomp; /* its component ids (0: more than 4, unchecked) */
	uint8_t comp_ids[4];
	int width, height;
	struct jpegsplit_stats stats;
};

/* Frames up to cap bytes are kept in buf (caller-owned, at least 4 bytes,
 * valid for the splitter's life). */
void jpegsplit_init(struct jpegsplit *js, uint8_t *buf, size_t cap);

/*
 * Consumes bytes of data until a frame completes or the data runs out, and
 * sets *consumed to the bytes used.  Returns 1 with *frame filled when a
 * frame completed: call again with the rest of the data, even when none is
 * left (len 0) while jpegsplit_pending() says kept bytes wait to be
 * scanned again.  Returns 0 when all of data (and those bytes) are used.
 */
int jpegsplit_push(struct jpegsplit *js, const uint8_t *data, size_t len,
		   size_t *consumed, struct jpegsplit_frame *frame);

/* 1 when kept bytes of a broken frame still wait to be scanned again (call
 * jpegsplit_push(), len may be 0, before asking for more input). */
int jpegsplit_pending(const struct jpegsplit *js);

/*
 * The input ended: a frame in progress is counted as truncated, SOI prefix
 * bytes as garbage.  Returns 1 when the kept bytes of that frame wait to be
 * scanned again (they may hold whole frames): call jpegsplit_push() with
 * len 0 until it returns 0, then jpegsplit_finish() again.  Returns 0 when
 * the splitter is ready for a new stream.  So, at the end of the input:
 *	while (jpegsplit_finish(js))
 *		while (jpegsplit_push(js, NULL, 0, &used, &frame))
 *			use(&frame);
 */
int jpegsplit_finish(struct jpegsplit *js);

/* Frames skipped so far: truncated + oversize + corrupt. */
uint64_t jpegsplit_skipped(const struct jpegsplit *js);

#endif
