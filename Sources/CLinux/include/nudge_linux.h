#ifndef NUDGE_INGEST_CLINUX_H
#define NUDGE_INGEST_CLINUX_H

/// Linux calls that Swift's Glibc module leaves out: it is built without _GNU_SOURCE.

/// Starts writing back the dirty pages of `fd` in [offset, offset + length) without
/// waiting for them and without dropping them from the page cache:
/// `sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE)`. Durability still
/// needs `fsync`; this only makes that `fsync` find little left to do.
/// Returns 0, or -1 with `errno` set (ENOSYS where the call does not exist).
int nudge_start_writeback(int fd, long long offset, long long length);

/// glibc's `mallopt` (in <malloc.h>, which Swift's Glibc module leaves out): frees of
/// blocks of at least `bytes` go back to the system (`M_MMAP_THRESHOLD`, which also
/// stops glibc from raising that bound by itself), and the heap is trimmed once `bytes`
/// at its top are free (`M_TRIM_THRESHOLD`). Returns 1 when both were set.
int nudge_return_freed_blocks_from(int bytes);

/// Gives the calling thread the lowest priority (nice 19): it runs where the threads at
/// the usual priority leave a core idle. Returns 0, or -1 with `errno` set.
int nudge_lower_thread_priority(void);

#endif
