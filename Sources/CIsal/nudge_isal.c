// ISA-L inflate and deflate shims: see include/nudge_isal.h.
//
// Optional at build time: without <isa-l/igzip_lib.h> (Debian: libisal-dev), or with
// -DNUDGE_NO_ISAL, every shim reports "unavailable". Optional at run time: libisal.so.2
// is loaded with dlopen on first use, never linked, so the binary starts without it.

#include "nudge_isal.h"

#include <stdlib.h>
#include <string.h>

#if !defined(NUDGE_NO_ISAL) && defined(__has_include)
#if __has_include(<isa-l/igzip_lib.h>) && __has_include(<dlfcn.h>) && __has_include(<pthread.h>)
#define NUDGE_HAVE_ISAL 1
#endif
#endif

#if NUDGE_HAVE_ISAL

#include <dlfcn.h>
#include <pthread.h>
#include <isa-l/igzip_lib.h>

struct nudge_isal_stream {
    struct inflate_state state;
    // The member's header as parsed so far. isal_inflate's own header parsing keeps it
    // in a local, so a header split across calls loses its flags (FNAME then FCOMMENT,
    // FHCRC) when it resumes; parsing with this copy, which outlives the call, does not.
    struct isal_gzip_header header;
};

// The functions used, resolved from libisal.so.2 once.
static void (*isal_inflate_init_fn)(struct inflate_state *);
static void (*isal_inflate_reset_fn)(struct inflate_state *);
static int (*isal_inflate_fn)(struct inflate_state *);
static void (*isal_gzip_header_init_fn)(struct isal_gzip_header *);
static int (*isal_read_gzip_header_fn)(struct inflate_state *, struct isal_gzip_header *);
static const char *load_failure = "libisal.so.2 has not been loaded";
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load_isal(void) {
    // The soname of the 2.x ABI that igzip_lib.h (and struct inflate_state) describes.
    void *library = dlopen("libisal.so.2", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        load_failure = "libisal.so.2 could not be loaded (Debian: apt-get install libisal2)";
        return;
    }
    *(void **)&isal_inflate_init_fn = dlsym(library, "isal_inflate_init");
    *(void **)&isal_inflate_reset_fn = dlsym(library, "isal_inflate_reset");
    *(void **)&isal_inflate_fn = dlsym(library, "isal_inflate");
    *(void **)&isal_gzip_header_init_fn = dlsym(library, "isal_gzip_header_init");
    *(void **)&isal_read_gzip_header_fn = dlsym(library, "isal_read_gzip_header");
    if (isal_inflate_init_fn == NULL || isal_inflate_reset_fn == NULL || isal_inflate_fn == NULL
        || isal_gzip_header_init_fn == NULL || isal_read_gzip_header_fn == NULL) {
        isal_inflate_init_fn = NULL;
        isal_inflate_reset_fn = NULL;
        isal_inflate_fn = NULL;
        isal_gzip_header_init_fn = NULL;
        isal_read_gzip_header_fn = NULL;
        load_failure = "libisal.so.2 lacks one of the igzip inflate functions this build uses";
        dlclose(library);
        return;
    }
    // The library stays loaded for the life of the process.
    load_failure = NULL;
}

int nudge_isal_available(void) {
    pthread_once(&load_once, load_isal);
    return load_failure == NULL;
}

const char *nudge_isal_unavailable_reason(void) {
    pthread_once(&load_once, load_isal);
    return load_failure;
}

static void begin_member(nudge_isal_stream *stream) {
    // gzip wrapper: once isal_read_gzip_header has parsed the header (FHCRC checked when
    // present), isal_inflate decodes the deflate data and compares the trailer's CRC-32
    // and ISIZE with the output (ISAL_INCORRECT_CHECKSUM).
    stream->state.crc_flag = ISAL_GZIP;
    // 0: the full 32 KiB window, as zlib's windowBits 15.
    stream->state.hist_bits = 0;
    // No buffers for FEXTRA, FNAME or FCOMMENT: they are skipped.
    isal_gzip_header_init_fn(&stream->header);
}

nudge_isal_stream *nudge_isal_create(void) {
    if (!nudge_isal_available()) return NULL;
    nudge_isal_stream *stream = calloc(1, sizeof(nudge_isal_stream));
    if (stream == NULL) return NULL;
    isal_inflate_init_fn(&stream->state);
    begin_member(stream);
    return stream;
}

void nudge_isal_free(nudge_isal_stream *stream) {
    free(stream);
}

void nudge_isal_reset(nudge_isal_stream *stream) {
    isal_inflate_reset_fn(&stream->state);
    begin_member(stream);
}

int nudge_isal_inflate(nudge_isal_stream *stream, const uint8_t *input, uint32_t input_count,
                       uint32_t *consumed, uint8_t *output, uint32_t output_capacity,
                       uint32_t *produced) {
    struct inflate_state *state = &stream->state;
    state->next_in = (uint8_t *)input;  // ISA-L never writes through next_in
    state->avail_in = input_count;
    state->next_out = output;
    state->avail_out = output_capacity;
    int status = ISAL_DECOMP_OK;
    if (!state->wrapper_flag) {
        // Still in the header: wrapper_flag is set once it has been read whole.
        status = isal_read_gzip_header_fn(state, &stream->header);
        if (status > 0) status = ISAL_DECOMP_OK;  // ISAL_END_INPUT: more header to come
    }
    // Called with no input too: ISA-L may still hold output that did not fit last time.
    if (status == ISAL_DECOMP_OK && state->wrapper_flag) {
        status = isal_inflate_fn(state);
    }
    if (status < 0 && state->next_in >= input && state->next_in <= input + input_count) {
        // On an error, 2.30's assembly decoder returns with avail_in still short by its
        // input slop (8 bytes); the bytes after next_in are unread whatever it says.
        state->avail_in = (uint32_t)(input + input_count - state->next_in);
    }
    *consumed = input_count - state->avail_in;
    *produced = output_capacity - state->avail_out;
    // The stream keeps no pointer to the caller's buffers.
    state->next_in = NULL;
    state->avail_in = 0;
    state->next_out = NULL;
    state->avail_out = 0;
    switch (status) {
    case ISAL_DECOMP_OK:
        return state->block_state == ISAL_BLOCK_FINISH ? NUDGE_ISAL_MEMBER_END : NUDGE_ISAL_OK;
    case ISAL_INVALID_BLOCK: return NUDGE_ISAL_INVALID_BLOCK;
    case ISAL_INVALID_SYMBOL: return NUDGE_ISAL_INVALID_SYMBOL;
    case ISAL_INVALID_LOOKBACK: return NUDGE_ISAL_INVALID_LOOKBACK;
    case ISAL_INVALID_WRAPPER: return NUDGE_ISAL_INVALID_WRAPPER;
    case ISAL_UNSUPPORTED_METHOD: return NUDGE_ISAL_UNSUPPORTED_METHOD;
    case ISAL_INCORRECT_CHECKSUM: return NUDGE_ISAL_INCORRECT_CHECKSUM;
    default: return NUDGE_ISAL_OTHER_ERROR;
    }
}

uint32_t nudge_isal_buffered_bytes(const nudge_isal_stream *stream) {
    int32_t bits = stream->state.read_in_length;
    int32_t held = stream->state.tmp_in_size;
    return (uint32_t)((bits > 0 ? bits / 8 : 0) + (held > 0 ? held : 0));
}

int nudge_isal_member_decoded(const nudge_isal_stream *stream) {
    return stream->state.block_state == ISAL_BLOCK_FINISH;
}

uint32_t nudge_isal_crc(const nudge_isal_stream *stream) {
    return stream->state.crc;
}

uint32_t nudge_isal_total_out(const nudge_isal_stream *stream) {
    return stream->state.total_out;
}

struct nudge_isal_deflater {
    struct isal_zstream stream;
    uint8_t level_buffer[ISAL_DEF_LVL1_DEFAULT];
};

// The deflate functions, resolved once, apart from inflate's: a library that lacks them
// still inflates.
static void (*isal_deflate_init_fn)(struct isal_zstream *);
static int (*isal_deflate_fn)(struct isal_zstream *);
static pthread_once_t deflate_load_once = PTHREAD_ONCE_INIT;

static void load_isal_deflate(void) {
    if (!nudge_isal_available()) return;
    // Already loaded by inflate's dlopen: this only finds it again.
    void *library = dlopen("libisal.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (library == NULL) return;
    *(void **)&isal_deflate_init_fn = dlsym(library, "isal_deflate_init");
    *(void **)&isal_deflate_fn = dlsym(library, "isal_deflate");
    if (isal_deflate_init_fn == NULL || isal_deflate_fn == NULL) {
        isal_deflate_init_fn = NULL;
        isal_deflate_fn = NULL;
    }
    dlclose(library);  // drops the reference this call took; inflate's keeps it loaded
}

nudge_isal_deflater *nudge_isal_deflater_create(void) {
    pthread_once(&deflate_load_once, load_isal_deflate);
    if (isal_deflate_fn == NULL) return NULL;
    return calloc(1, sizeof(nudge_isal_deflater));
}

void nudge_isal_deflater_free(nudge_isal_deflater *deflater) {
    free(deflater);
}

uint32_t nudge_isal_deflate(nudge_isal_deflater *deflater, const uint8_t *input, uint32_t input_count,
                            uint8_t *output, uint32_t output_capacity, uint32_t *crc) {
    // Every member from the same state: isal_deflate_init leaves the level buffer's hash
    // table as the last member left it, and its stale entries would change the matches
    // found, so the same records would compress differently on different threads.
    memset(deflater, 0, sizeof(*deflater));
    struct isal_zstream *stream = &deflater->stream;
    isal_deflate_init_fn(stream);
    stream->level = 1;
    stream->level_buf = deflater->level_buffer;
    stream->level_buf_size = sizeof(deflater->level_buffer);
    // Only the gzip trailer is written (the caller writes its own header), so ISA-L
    // computes the CRC-32 while it hashes the input.
    stream->gzip_flag = IGZIP_GZIP_NO_HDR;
    stream->flush = NO_FLUSH;
    stream->end_of_stream = 1;
    stream->next_in = (uint8_t *)input;  // ISA-L never writes through next_in
    stream->avail_in = input_count;
    stream->next_out = output;
    stream->avail_out = output_capacity;
    int status = isal_deflate_fn(stream);
    uint32_t written = stream->total_out;
    int finished = status == COMP_OK && stream->avail_in == 0 && stream->internal_state.state == ZSTATE_END
        && written >= 8;
    stream->next_in = NULL;
    stream->next_out = NULL;
    if (!finished) return 0;
    const uint8_t *trailer = output + written - 8;
    uint32_t length = (uint32_t)trailer[4] | (uint32_t)trailer[5] << 8 | (uint32_t)trailer[6] << 16
        | (uint32_t)trailer[7] << 24;
    if (length != input_count) return 0;
    *crc = (uint32_t)trailer[0] | (uint32_t)trailer[1] << 8 | (uint32_t)trailer[2] << 16 | (uint32_t)trailer[3] << 24;
    return written - 8;
}

#else  // built without ISA-L's headers

int nudge_isal_available(void) {
    return 0;
}

const char *nudge_isal_unavailable_reason(void) {
#if defined(NUDGE_NO_ISAL)
    return "built with NUDGE_NO_ISAL";
#else
    return "built without ISA-L's headers (Debian: apt-get install libisal-dev, then rebuild)";
#endif
}

nudge_isal_stream *nudge_isal_create(void) {
    return NULL;
}

void nudge_isal_free(nudge_isal_stream *stream) {
    (void)stream;
}

void nudge_isal_reset(nudge_isal_stream *stream) {
    (void)stream;
}

int nudge_isal_inflate(nudge_isal_stream *stream, const uint8_t *input, uint32_t input_count,
                       uint32_t *consumed, uint8_t *output, uint32_t output_capacity,
                       uint32_t *produced) {
    (void)stream, (void)input, (void)input_count, (void)output, (void)output_capacity;
    *consumed = 0;
    *produced = 0;
    return NUDGE_ISAL_OTHER_ERROR;
}

nudge_isal_deflater *nudge_isal_deflater_create(void) {
    return NULL;
}

void nudge_isal_deflater_free(nudge_isal_deflater *deflater) {
    (void)deflater;
}

uint32_t nudge_isal_deflate(nudge_isal_deflater *deflater, const uint8_t *input, uint32_t input_count,
                            uint8_t *output, uint32_t output_capacity, uint32_t *crc) {
    (void)deflater, (void)input, (void)input_count, (void)output, (void)output_capacity, (void)crc;
    return 0;
}

uint32_t nudge_isal_buffered_bytes(const nudge_isal_stream *stream) {
    (void)stream;
    return 0;
}

int nudge_isal_member_decoded(const nudge_isal_stream *stream) {
    (void)stream;
    return 0;
}

uint32_t nudge_isal_crc(const nudge_isal_stream *stream) {
    (void)stream;
    return 0;
}

uint32_t nudge_isal_total_out(const nudge_isal_stream *stream) {
    (void)stream;
    return 0;
}

#endif
