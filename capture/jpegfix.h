/* SPDX-License-Identifier: MIT */
/*
 * jpegfix: many USB webcams send MJPEG frames without Huffman tables (no DHT
 * segment), relying on the decoder to assume the standard tables of ITU-T
 * T.81 Annex K.3.  Browsers and some decoders refuse such frames, so capture
 * inserts those tables before the frame is published.
 */
#ifndef VIGIL_JPEGFIX_H
#define VIGIL_JPEGFIX_H

#include <stddef.h>
#include <stdint.h>

/* Size of the DHT segment jpegfix inserts (marker included). */
#define JPEGFIX_DHT_SIZE 420u

enum jpegfix_result {
	JPEGFIX_OK, /* the JPEG has its Huffman tables: publish as is */
	JPEGFIX_NEEDED, /* no DHT before the first SOS: jpegfix_insert it */
	JPEGFIX_BAD, /* not a JPEG, or its headers are truncated/corrupt */
};

/*
 * Walks the marker segments from SOI to the first SOS (never past len) and
 * says whether the standard tables must be inserted.  On JPEGFIX_NEEDED,
 * *sos_offset is the offset of the SOS marker (where the tables go).
 */
enum jpegfix_result jpegfix_check(const uint8_t *jpeg, size_t len,
				  size_t *sos_offset);

/*
 * Writes jpeg with the standard DHT segment inserted at sos_offset into out
 * (cap bytes, at least len + JPEGFIX_DHT_SIZE).  Returns the new length, or
 * 0 when cap is too small or sos_offset is out of range.
 */
size_t jpegfix_insert(const uint8_t *jpeg, size_t len, size_t sos_offset,
		      uint8_t *out, size_t cap);

/* The DHT segment itself (JPEGFIX_DHT_SIZE bytes, starting FF C4). */
const uint8_t *jpegfix_dht(void);

#endif
