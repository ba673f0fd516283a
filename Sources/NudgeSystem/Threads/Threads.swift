import Foundation

/// A mutex with several condition variables, so that threads waiting for different
/// things are woken separately (`NSCondition` has one condition per lock). The
/// pthread objects live at stable heap addresses owned by this object, initialised in
/// `init` and destroyed in `deinit`.
package final class WaitLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let conditions: UnsafeMutablePointer<pthread_cond_t>
    private let count: Int

    package init(conditions count: Int) {
        self.count = count
        mutex = .allocate(capacity: 1)
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
        conditions = .allocate(capacity: count)
        for index in 0..<count {
            precondition(pthread_cond_init(conditions + index, nil) == 0, "pthread_cond_init failed")
        }
    }

    deinit {
        for index in 0..<count { pthread_cond_destroy(conditions + index) }
        conditions.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    package func lock() { pthread_mutex_lock(mutex) }
    package func unlock() { pthread_mutex_unlock(mutex) }
    /// Waits on condition `index`; the caller holds the lock and rechecks what it waits for.
    package func wait(_ index: Int) { pthread_cond_wait(conditions + index, mutex) }
    package func signal(_ index: Int) { pthread_cond_signal(conditions + index) }
    package func broadcast(_ index: Int) { pthread_cond_broadcast(conditions + index) }
    package func broadcastAll() { for index in 0..<count { broadcast(index) } }
}

/// Starts a thread named `name` (see ``nameCurrentThread(_:)``) that runs `body`.
package func startThread(named name: String, _ body: @escaping @Sendable () -> Void) {
    Thread {
        nameCurrentThread(name)
        body()
    }.start()
}

/// Names the calling thread as `top`, `ps -L` and profilers show it (Linux keeps 15 bytes).
package func nameCurrentThread(_ name: String) {
    Thread.current.name = name
}

/// How many cores this process may run on: the CPUs its affinity mask allows (so
/// `taskset -c 0` counts one), read from `/proc/self/status`; else the online ones.
package func availableCores() -> Int {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) {
        // A hexadecimal mask in comma-separated groups of 32 bits.
        let count = line.dropFirst("Cpus_allowed:".count).reduce(0) { count, character in
            count + (character.hexDigitValue?.nonzeroBitCount ?? 0)
        }
        if count > 0 { return count }
    }
    return max(ProcessInfo.processInfo.activeProcessorCount, 1)
}
