#ifndef NUDGE_INGEST_CBYTES_H
#define NUDGE_INGEST_CBYTES_H

#include <stddef.h>

/// The C library's byte search, and nothing else of it, for the platform-free core:
/// the framer finds each line's end with it. libc's `memchr` reads 32 or 64 bytes an
/// instruction on x86-64, and stays fast in a debug build, where Swift's SIMD types
/// do not (a 10 GiB line is scanned in seconds, not minutes).

/// The offset of the first `byte` in `bytes[0..<count]`, or -1 when there is none.
long nudge_find_byte(const void *bytes, unsigned char byte, size_t count);

/// Asks the processor to bring the cache line at `address` in, without waiting for it
/// (the compiler's prefetch; Swift has none). The `messageId` lookups use it to start a
/// record's table and filter reads while the records before it are decided.
static inline void nudge_prefetch(const void *address) {
    __builtin_prefetch(address);
}

#endif
