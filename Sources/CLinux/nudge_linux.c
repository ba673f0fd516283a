#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nudge_linux.h"

int nudge_start_writeback(int fd, long long offset, long long length) {
#if defined(__linux__)
    return sync_file_range(fd, (off_t)offset, (off_t)length, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd; (void)offset; (void)length;
    errno = ENOSYS;
    return -1;
#endif
}

int nudge_return_freed_blocks_from(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes) == 1 && mallopt(M_TRIM_THRESHOLD, bytes) == 1;
}

int nudge_lower_thread_priority(void) {
#if defined(__linux__)
    // On Linux a nice value belongs to a thread, named by its thread id.
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
#else
    errno = ENOSYS;
    return -1;
#endif
}
