/// Thrown by a push onto a ``BoundedQueue`` that was finished or closed.
package struct QueueClosed: Error, Equatable {
    package init() {}
}

/// A first-in, first-out queue from producers to consumers on other threads, bounded:
/// the one hand-off of the package's pipelines (the background writer, the committer,
/// an S3 object's download).
///
/// A producer's ``push(_:)`` waits (from a task, ``push(_:)-async`` suspends) while the
/// queue is full; a consumer's ``pop()`` waits while it is empty. The queue is full while
/// the cost of what it holds is `capacity` or more: with the default cost of 1 an
/// element it holds at most `capacity` elements; with a cost in bytes, at most
/// `capacity` bytes plus one element's, less one. So memory stays bounded however far
/// the consumer falls behind.
///
/// It ends in one of two ways:
/// - ``finish(throwing:)``: the producers are done. Consumers take what is queued, then
///   `pop` returns nil, or throws the error given.
/// - ``close()``: the consumers are done. What is queued is dropped, and waiting pops
///   return nil.
///
/// Either way, a push from then on, or one waiting for room, throws ``QueueClosed``.
/// ``waitUntilIdle()`` waits for every element pushed to be popped or, when taken with
/// ``handleNext(_:)``, handled.
package final class BoundedQueue<Element: Sendable, Failure: Error>: Sendable {
    /// How much the queue holds before a push waits (see the type's summary).
    package let capacity: Int
    private let cost: @Sendable (Element) -> Int
    private let lock: ConditionLock<Contents>
    private static var notFull: ConditionLock<Contents>.Condition { .init(0) }
    private static var notEmpty: ConditionLock<Contents>.Condition { .init(1) }
    private static var idle: ConditionLock<Contents>.Condition { .init(2) }

    private enum End: Sendable {
        case finished(Failure?)
        case closed
    }

    private struct Contents: Sendable {
        /// The queue from `head` on; slots before it are emptied so their memory goes.
        var slots: [Element?] = []
        var head = 0
        var queuedCost = 0
        /// Pushed, and not yet popped or handled.
        var unfinished = 0
        var end: End?
        /// Async pushes waiting for room, each with its element, first come first in.
        var waitingPushes: [(element: Element, cost: Int, resume: CheckedContinuation<Bool, Never>)] = []

        var isEmpty: Bool { head == slots.count }

        mutating func append(_ element: Element, cost: Int) {
            slots.append(element)
            queuedCost += cost
            unfinished += 1
        }

        mutating func removeFirst(cost: (Element) -> Int) -> Element {
            let element = slots[head].take()!
            head += 1
            if head == slots.count {
                slots.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 64 && head * 2 >= slots.count {
                slots.removeFirst(head)
                head = 0
            }
            queuedCost -= cost(element)
            return element
        }
    }

    /// An empty queue that is full at `capacity` (at least 1) of `cost`.
    package init(capacity: Int, cost: @escaping @Sendable (Element) -> Int = { _ in 1 }) {
        precondition(capacity >= 1, "a bounded queue holds at least one element")
        self.capacity = capacity
        self.cost = cost
        lock = ConditionLock(Contents(), conditions: 3)
    }

    // MARK: Producers

    /// Adds `element` at the back, first waiting while the queue is full.
    package func push(_ element: Element) throws(QueueClosed) {
        let cost = cost(element)
        let pushed = lock.withLock(waitingOn: Self.notFull, until: { $0.end != nil || $0.queuedCost < capacity }) {
            contents in
            guard contents.end == nil else { return false }
            contents.append(element, cost: cost)
            lock.signal(Self.notEmpty)
            return true
        }
        if !pushed { throw QueueClosed() }
    }

    /// Adds `element` at the back, first suspending while the queue is full: for a
    /// producer that is a task, which must not block its thread.
    package func push(_ element: Element) async throws(QueueClosed) {
        let cost = cost(element)
        let pushed = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let now: Bool? = lock.withLock { contents in
                guard contents.end == nil else { return false }
                guard contents.queuedCost < capacity else {
                    contents.waitingPushes.append((element, cost, continuation))
                    return nil
                }
                contents.append(element, cost: cost)
                lock.signal(Self.notEmpty)
                return true
            }
            if let now { continuation.resume(returning: now) }
        }
        if !pushed { throw QueueClosed() }
    }

    /// Ends the queue from the producers' side: consumers take what is queued, then
    /// `pop` returns nil (or throws `error`). Pushes from then on throw ``QueueClosed``.
    /// Only the first of `finish` and `close` counts.
    package func finish(throwing error: Failure? = nil) {
        end(.finished(error))
    }

    // MARK: Consumers

    /// The front element, waiting while the queue is empty; nil once it is finished and
    /// empty, or closed.
    package func pop() throws(Failure) -> Element? {
        try take(handled: true)
    }

    /// Takes the front element as ``pop()`` does and runs `body` on it; the element counts
    /// as unfinished for ``waitUntilIdle()`` until `body` returns. Returns false, without
    /// running `body`, where `pop` returns nil.
    package func handleNext(_ body: (Element) -> Void) throws(Failure) -> Bool {
        guard let element = try take(handled: false) else { return false }
        body(element)
        lock.withLock { contents in
            contents.unfinished -= 1
            if contents.unfinished == 0 { lock.broadcast(Self.idle) }
        }
        return true
    }

    /// Ends the queue from the consumers' side: what is queued is dropped, waiting pops
    /// return nil, and pushes, waiting or to come, throw ``QueueClosed``. Only the first
    /// of `finish` and `close` counts.
    package func close() {
        end(.closed)
    }

    /// Waits until every element pushed has been popped, or handled where it was taken
    /// with ``handleNext(_:)``; at once on a closed queue.
    package func waitUntilIdle() {
        lock.withLock(waitingOn: Self.idle, until: { contents in
            if case .closed = contents.end { return true }
            return contents.unfinished == 0
        }) { _ in }
    }

    // MARK: Internals

    private func take(handled: Bool) throws(Failure) -> Element? {
        let (taken, admitted) = lock.withLock(waitingOn: Self.notEmpty, until: { !$0.isEmpty || $0.end != nil }) {
            contents -> (Result<Element?, Failure>, [CheckedContinuation<Bool, Never>]) in
            if case .closed = contents.end { return (.success(nil), []) }
            guard !contents.isEmpty else {
                if case .finished(let error?) = contents.end { return (.failure(error), []) }
                return (.success(nil), [])
            }
            let element = contents.removeFirst(cost: cost)
            if handled {
                contents.unfinished -= 1
                if contents.unfinished == 0 { lock.broadcast(Self.idle) }
            }
            // Room: async pushes first, in order, then the threads waiting.
            var admitted: [CheckedContinuation<Bool, Never>] = []
            while contents.queuedCost < capacity, !contents.waitingPushes.isEmpty {
                let waiting = contents.waitingPushes.removeFirst()
                contents.append(waiting.element, cost: waiting.cost)
                admitted.append(waiting.resume)
            }
            if !admitted.isEmpty { lock.broadcast(Self.notEmpty) }
            if contents.queuedCost < capacity { lock.broadcast(Self.notFull) }
            return (.success(element), admitted)
        }
        for continuation in admitted { continuation.resume(returning: true) }
        return try taken.get()
    }

    private func end(_ end: End) {
        let refused = lock.withLock { contents -> [CheckedContinuation<Bool, Never>] in
            guard contents.end == nil else { return [] }
            contents.end = end
            if case .closed = end {
                contents.unfinished -= contents.slots.count - contents.head
                contents.slots = []
                contents.head = 0
                contents.queuedCost = 0
            }
            let refused = contents.waitingPushes.map(\.resume)
            contents.waitingPushes = []
            lock.broadcast(Self.notFull)
            lock.broadcast(Self.notEmpty)
            lock.broadcast(Self.idle)
            return refused
        }
        for continuation in refused { continuation.resume(returning: false) }
    }
}
