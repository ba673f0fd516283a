import Foundation

/// A mutex guarding a value, with condition variables to wait on for the value to change:
/// the one lock of the package's threads (``BoundedQueue`` is built on it).
///
/// Its only way in is scoped: ``withLock(_:)`` runs a closure with the lock held, and
/// ``withLock(waitingOn:until:_:)`` first waits, the lock released while it sleeps,
/// until the value is ready. No path can leave it locked, and every wait rechecks what
/// it waits for. Changes that others wait for are announced from inside the closure
/// with ``signal(_:)`` or ``broadcast(_:)``. A lock has several conditions so that
/// threads waiting for different things are woken separately (`NSCondition` has one).
/// The lock is not recursive: a closure must not call `withLock` on the same lock.
///
/// It is the lock for state that threads share, even where no thread waits: its pthread
/// mutex is what ThreadSanitizer understands, while `Synchronization.Mutex` (a futex
/// behind uninstrumented atomics) looks to it like no lock at all. `Mutex` stays only
/// where async code holds state (serve's cache, replay's dry-run counts, S3's request
/// counts).
package final class ConditionLock<State: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: `state` is read and written only with `mutex` held (in the
    // closures of `withLock` and the predicates of its waits), and `State` is Sendable.
    // The pthread objects live at stable heap addresses from `init` to `deinit`.

    /// One of a lock's condition variables: what a group of threads waits for.
    package struct Condition: Sendable, Hashable {
        fileprivate let index: Int

        /// Condition `index` of a lock made with more than `index` conditions.
        package init(_ index: Int) { self.index = index }
    }

    private var state: State
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let conditions: UnsafeMutablePointer<pthread_cond_t>
    private let count: Int

    /// A lock guarding `state`, with `conditions` condition variables.
    package init(_ state: State, conditions count: Int = 1) {
        precondition(count >= 1, "a condition lock has at least one condition")
        self.state = state
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

    /// Runs `body` on the state with the lock held.
    package func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }

    /// Takes the lock, waits on `condition` until `ready` holds of the state (releasing
    /// the lock while asleep; woken, it asks again), then runs `body` with the lock held.
    package func withLock<R, E: Error>(
        waitingOn condition: Condition = Condition(0), until ready: (State) -> Bool,
        _ body: (inout State) throws(E) -> R
    ) throws(E) -> R {
        precondition(condition.index < count, "no such condition")
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !ready(state) { pthread_cond_wait(conditions + condition.index, mutex) }
        return try body(&state)
    }

    /// Wakes one thread waiting on `condition`; called inside `withLock`, after the change.
    package func signal(_ condition: Condition = Condition(0)) {
        pthread_cond_signal(conditions + condition.index)
    }

    /// Wakes every thread waiting on `condition`; called inside `withLock`, after the change.
    package func broadcast(_ condition: Condition = Condition(0)) {
        pthread_cond_broadcast(conditions + condition.index)
    }
}
