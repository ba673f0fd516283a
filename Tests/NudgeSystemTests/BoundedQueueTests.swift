import NudgeSystem
import Synchronization
import Testing

/// The one queue between threads: order, its bound, how it ends, and many threads at
/// once. Threads meet through queues and counters, never through sleeps or clocks.
@Suite struct BoundedQueueTests {
    /// Runs `body` on a thread of its own; `join` waits for it and returns what it returned.
    final class Spawned<T: Sendable>: Sendable {
        private let result = BoundedQueue<T, Never>(capacity: 1)

        init(_ body: @escaping @Sendable () -> T) {
            startThread(named: "queue-test") { [result] in try? result.push(body()) }
        }

        func join() -> T { result.pop()! }
    }

    /// A count that threads add to and read.
    final class Counter: Sendable {
        private let count = Atomic<Int>(0)
        func add(_ amount: Int = 1) { count.add(amount, ordering: .sequentiallyConsistent) }
        var value: Int { count.load(ordering: .sequentiallyConsistent) }
    }

    @Test func elementsComeOutInTheOrderTheyWentIn() {
        let queue = BoundedQueue<Int, Never>(capacity: 3)
        let producer = Spawned {
            for value in 0..<1000 { try! queue.push(value) }
            queue.finish()
        }
        var received: [Int] = []
        while let value = queue.pop() { received.append(value) }
        producer.join()
        #expect(received == Array(0..<1000))
    }

    /// After each pop the consumer reads how many pushes have returned: never more than
    /// it has popped plus the capacity, however the threads interleave.
    @Test(arguments: [1, 2, 5])
    func aProducerNeverGetsMoreThanTheCapacityAhead(capacity: Int) {
        let queue = BoundedQueue<Int, Never>(capacity: capacity)
        let pushed = Counter()
        let producer = Spawned {
            for value in 0..<2000 {
                try! queue.push(value)
                pushed.add()
            }
            queue.finish()
        }
        var popped = 0
        var furthestAhead = 0
        while queue.pop() != nil {
            popped += 1
            furthestAhead = max(furthestAhead, pushed.value - popped)
        }
        producer.join()
        #expect(popped == 2000)
        #expect(furthestAhead <= capacity)
    }

    /// With nobody popping, the producer fills the queue and stops there: the pushes it
    /// has finished stay at the capacity until one element is popped, then one more goes in.
    @Test func aFullQueueHoldsTheProducerUntilAPop() {
        let queue = BoundedQueue<Int, Never>(capacity: 4)
        let pushed = Counter()
        let filled = BoundedQueue<Int, Never>(capacity: 1)
        let producer = Spawned {
            for value in 0..<5 {
                if value == 4 { try! filled.push(value) }
                try! queue.push(value)
                pushed.add()
            }
        }
        // The producer has pushed four and is at the fifth push, which cannot go in.
        #expect(filled.pop() == 4)
        #expect(pushed.value == 4)
        #expect(queue.pop() == 0)
        producer.join()
        #expect(pushed.value == 5)
        queue.finish()
        var rest: [Int] = []
        while let value = queue.pop() { rest.append(value) }
        #expect(rest == [1, 2, 3, 4])
    }

    @Test func aCostBoundsTheQueueInBytes() {
        let queue = BoundedQueue<[UInt8], Never>(capacity: 100) { $0.count }
        let pushedBytes = Counter()
        let producer = Spawned {
            for size in (0..<500).map({ $0 % 37 + 1 }) {
                try! queue.push([UInt8](repeating: 7, count: size))
                pushedBytes.add(size)
            }
            queue.finish()
        }
        var poppedBytes = 0
        var mostQueued = 0
        while let piece = queue.pop() {
            poppedBytes += piece.count
            mostQueued = max(mostQueued, pushedBytes.value - poppedBytes)
        }
        producer.join()
        #expect(poppedBytes == (0..<500).map({ $0 % 37 + 1 }).reduce(0, +))
        // Full at 100 bytes or more: at most 99 plus the largest piece.
        #expect(mostQueued <= 99 + 37)
    }

    @Test func finishingLetsTheConsumerTakeWhatIsQueuedThenEnds() throws {
        struct Broken: Error, Equatable {}
        let queue = BoundedQueue<Int, Broken>(capacity: 3)
        try queue.push(1)
        try queue.push(2)
        queue.finish(throwing: Broken())
        #expect(throws: QueueClosed()) { try queue.push(3) }
        #expect(try queue.pop() == 1)
        #expect(try queue.pop() == 2)
        #expect(throws: Broken()) { try queue.pop() }
        #expect(throws: Broken()) { try queue.pop() }
    }

    @Test func closingWakesAWaitingConsumer() {
        let queue = BoundedQueue<Int, Never>(capacity: 1)
        let started = BoundedQueue<Bool, Never>(capacity: 1)
        let consumer = Spawned { () -> Int? in
            try! started.push(true)
            return queue.pop()
        }
        _ = started.pop()
        queue.close()
        #expect(consumer.join() == nil)
    }

    @Test func closingWakesAWaitingProducerAndDropsWhatIsQueued() {
        let queue = BoundedQueue<Int, Never>(capacity: 1)
        try! queue.push(1)
        let started = BoundedQueue<Bool, Never>(capacity: 1)
        let producer = Spawned { () -> Bool in
            try! started.push(true)
            do { try queue.push(2) } catch { return true }
            return false
        }
        _ = started.pop()
        queue.close()
        #expect(producer.join())
        #expect(queue.pop() == nil)
        queue.waitUntilIdle()
    }

    /// Four producers and three consumers: every element arrives once, and each consumer
    /// sees each producer's elements in the order they were pushed.
    @Test func manyProducersAndConsumersLoseNothingAndKeepEachProducersOrder() {
        let queue = BoundedQueue<(producer: Int, value: Int), Never>(capacity: 5)
        let producers = (0..<4).map { producer in
            Spawned { for value in 0..<2000 { try! queue.push((producer, value)) } }
        }
        let consumers = (0..<3).map { _ in
            Spawned { () -> [[Int]] in
                var seen = [[Int]](repeating: [], count: 4)
                while let element = queue.pop() { seen[element.producer].append(element.value) }
                return seen
            }
        }
        for producer in producers { producer.join() }
        queue.finish()
        let seen = consumers.map { $0.join() }
        for producer in 0..<4 {
            for consumer in seen { #expect(consumer[producer] == consumer[producer].sorted()) }
            #expect(seen.flatMap { $0[producer] }.sorted() == Array(0..<2000))
        }
    }

    /// A task pushes without blocking its thread; a thread pops; the bound holds.
    @Test func aTaskProducesAndAThreadConsumes() async {
        let queue = BoundedQueue<Int, Never>(capacity: 2)
        let pushed = Counter()
        let consumer = Spawned { () -> (values: [Int], furthestAhead: Int) in
            var values: [Int] = []
            var furthestAhead = 0
            while let value = queue.pop() {
                values.append(value)
                furthestAhead = max(furthestAhead, pushed.value - values.count)
            }
            return (values, furthestAhead)
        }
        for value in 0..<500 {
            try! await queue.push(value)
            pushed.add()
        }
        queue.finish()
        let (values, furthestAhead) = consumer.join()
        #expect(values == Array(0..<500))
        #expect(furthestAhead <= 2)
    }

    @Test func closingRefusesATaskWaitingForRoom() async {
        let queue = BoundedQueue<Int, Never>(capacity: 1)
        try! await queue.push(1)
        let waiting = Task { () -> Bool in
            do { try await queue.push(2) } catch { return true }
            return false
        }
        // Closed before the push or while it waits: either way it is refused.
        queue.close()
        #expect(await waiting.value)
    }

    /// `waitUntilIdle` returns only once every element has been handled, not just taken.
    @Test func waitUntilIdleWaitsForTheHandling() {
        let queue = BoundedQueue<Int, Never>(capacity: 2)
        let handled = Counter()
        let consumer = Spawned {
            while queue.handleNext({ _ in handled.add() }) {}
        }
        for value in 0..<300 { try! queue.push(value) }
        queue.waitUntilIdle()
        #expect(handled.value == 300)
        queue.finish()
        consumer.join()
    }
}
