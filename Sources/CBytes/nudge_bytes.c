#include <string.h>

#include "nudge_bytes.h"

long nudge_find_byte(const void *bytes, unsigned char byte, size_t count) {
    const unsigned char *found = memchr(bytes, byte, count);
    return found ? (long)(found - (const unsigned char *)bytes) : -1;
}
