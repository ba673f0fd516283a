#ifndef NUDGE_INGEST_CISAL_H
#define NUDGE_INGEST_CISAL_H

// Prefixed shims over ISA-L's igzip inflate and deflate (Debian: libisal-dev at build time,
// libisal2 at run time). Nothing here needs ISA-L's own headers: the state is opaque,
// and the library is loaded with dlopen on first use, so a binary built with the
// headers still runs where libisal.so.2 is missing (nudge_isal_available() is then 0).
// Built without the headers (or with -DNUDGE_NO_ISAL), every shim reports "unavailable".
// The build does not notice libisal-dev being installed or removed later (the header's
// absence leaves no dependency behind): touch Sources/CIsal/nudge_isal.c, or clean, then.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One gzip inflate stream: ISA-L's `struct inflate_state`, owned by the caller.
typedef struct nudge_isal_stream nudge_isal_stream;

/// What nudge_isal_inflate reports.
enum {
    /// Input consumed or output full; the member goes on.
    NUDGE_ISAL_OK = 0,
    /// The member ended and its CRC-32 and ISIZE matched; the rest of the input is unread.
    NUDGE_ISAL_MEMBER_END = 1,
    /// ISA-L's own errors, as igzip_lib.h numbers them.
    NUDGE_ISAL_INVALID_BLOCK = -1,
    NUDGE_ISAL_INVALID_SYMBOL = -2,
    NUDGE_ISAL_INVALID_LOOKBACK = -3,
    NUDGE_ISAL_INVALID_WRAPPER = -4,
    NUDGE_ISAL_UNSUPPORTED_METHOD = -5,
    /// A header CRC (FHCRC) or the trailer's CRC-32 or ISIZE did not match.
    NUDGE_ISAL_INCORRECT_CHECKSUM = -6,
    /// Any other status (ISAL_NEED_DICT cannot happen for gzip).
    NUDGE_ISAL_OTHER_ERROR = -100,
};

/// 1 when the ISA-L inflate backend can be used in this process: the package was
/// built with ISA-L's headers and libisal.so.2 loaded. Thread-safe; loads once.
int nudge_isal_available(void);

/// Why the backend is unavailable (a static string), or NULL when it is available.
const char *nudge_isal_unavailable_reason(void);

/// A new stream set up for one gzip member (header and trailer checked), or NULL when
/// the backend is unavailable or memory ran out. Free it with nudge_isal_free.
nudge_isal_stream *nudge_isal_create(void);

/// Frees a stream from nudge_isal_create (NULL is ignored).
void nudge_isal_free(nudge_isal_stream *stream);

/// Sets the stream up for the next gzip member.
void nudge_isal_reset(nudge_isal_stream *stream);

/// Inflates from `input` into `output` until the input is consumed, the output is full,
/// the member ends or an error is found. The stream keeps no pointer to either buffer
/// after the call. `*consumed` is how many input bytes the stream took (some may still
/// sit in its bit buffer: see nudge_isal_buffered_bytes), `*produced` how many bytes it wrote.
int nudge_isal_inflate(nudge_isal_stream *stream, const uint8_t *input, uint32_t input_count,
                       uint32_t *consumed, uint8_t *output, uint32_t output_capacity,
                       uint32_t *produced);

/// Input bytes the stream has taken but not yet decoded (its bit buffer and header buffer).
uint32_t nudge_isal_buffered_bytes(const nudge_isal_stream *stream);

/// 1 once the member's deflate data ended and its trailer was read: an
/// NUDGE_ISAL_INCORRECT_CHECKSUM is then the trailer's, not the header's (FHCRC).
int nudge_isal_member_decoded(const nudge_isal_stream *stream);

/// The CRC-32 of the member's output so far (final once the trailer was checked).
uint32_t nudge_isal_crc(const nudge_isal_stream *stream);

/// The member's output so far, modulo 2^32 (what ISIZE holds).
uint32_t nudge_isal_total_out(const nudge_isal_stream *stream);

/// One raw-deflate compressor at ISA-L's level 1, with its level buffer: owned by one
/// thread at a time.
typedef struct nudge_isal_deflater nudge_isal_deflater;

/// A new compressor, or NULL when the backend is unavailable (or the library lacks
/// isal_deflate) or memory ran out. Free it with nudge_isal_deflater_free.
nudge_isal_deflater *nudge_isal_deflater_create(void);

/// Frees a compressor from nudge_isal_deflater_create (NULL is ignored).
void nudge_isal_deflater_free(nudge_isal_deflater *deflater);

/// Deflates all of `input` as one raw deflate stream (final block set) into `output`,
/// followed by the gzip trailer (CRC-32 and length of `input`, 8 bytes, little-endian),
/// and stores the CRC-32 in `crc`: ISA-L computes it as it reads the input, far faster
/// than a second pass. Returns the bytes of deflate data (the trailer not counted), or 0
/// when `output_capacity` (which counts the trailer) was too small or ISA-L failed. The
/// compressor keeps no pointer to either buffer after the call.
uint32_t nudge_isal_deflate(nudge_isal_deflater *deflater, const uint8_t *input, uint32_t input_count,
                            uint8_t *output, uint32_t output_capacity, uint32_t *crc);

#ifdef __cplusplus
}
#endif

#endif
