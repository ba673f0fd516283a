import Foundation

/// A task executor with a thread of its own, for async tests whose servers must answer
/// while other tests block Swift's cooperative threads.
///
/// Swift Testing runs synchronous tests on the cooperative pool, one thread a core, and
/// many of this project's tests block theirs for seconds (a child process, a file being
/// written). On a two-core machine two such tests leave an in-process server's handlers
/// no thread at all, and its client times out. Under `withTaskExecutorPreference` the
/// test's tasks, and the child tasks the server starts for its connections, run here.
package final class DedicatedThreadExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked Sendable: `jobs` is touched only under `condition`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    /// Starts the executor's thread, named `name`. It lives as long as the process.
    package init(name: String) {
        let thread = Thread { [self] in runJobs() }
        thread.name = name
        thread.start()
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.withLock {
            jobs.append(job)
            condition.signal()
        }
    }

    private func runJobs() {
        while true {
            let batch = condition.withLock {
                while jobs.isEmpty { condition.wait() }
                defer { jobs.removeAll(keepingCapacity: true) }
                return jobs
            }
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }
}
