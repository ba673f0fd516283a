#ifndef NUDGE_INGEST_CZLIB_SHIM_H
#define NUDGE_INGEST_CZLIB_SHIM_H

#include <zlib.h>

/// `inflateInit2` is a macro in zlib.h; Swift cannot call macros, so this shim does.
static inline int nudge_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}

/// `deflateInit2` is a macro too.
static inline int nudge_deflateInit2(z_streamp stream, int level, int windowBits, int memLevel, int strategy) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, memLevel, strategy);
}

#endif
