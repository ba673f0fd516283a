import NudgeSystem

/// The loop that carries out a ``ReplayMachine``'s actions: it reads the spool and
/// writes the rejected spool and the checkpoint on the file thread, starts each send as
/// a task of its own, sleeps until the machine's next wake, and feeds every answer,
/// tick and interruption back as an event. All decisions are the machine's.
struct ReplayShell {
    let files: ReplayFiles
    let transport: any ReplayTransport
    /// The monotonic instant the replay started: the machine's clock counts from it.
    let started: Double
    /// Records to deliver, for the progress line.
    let total: Int
    let progress: ((ReplayProgress) -> Void)?

    private var scheduledWake = Double.infinity
    private var lastProgress: Double

    init(files: ReplayFiles, transport: any ReplayTransport, started: Double, total: Int,
         progress: ((ReplayProgress) -> Void)?) {
        self.files = files
        self.transport = transport
        self.started = started
        self.total = total
        self.progress = progress
        lastProgress = started
    }

    /// Seconds since the replay started: the machine's `now`.
    private var clock: Double { MonotonicClock.now - started }

    /// Drives `machine` from its start to its finish.
    ///
    /// - Parameter interrupts: each element is a Ctrl-C; the first stops new requests.
    mutating func drive(_ machine: inout ReplayMachine, interrupts: AsyncStream<Void>?) async throws(ReplayError) -> ReplayEnd {
        let (events, sink) = AsyncStream<ReplayMachine.Event>.makeStream()
        var outcome = Result<ReplayEnd, ReplayError>.success(.delivered)
        // Discarding: a finished send leaves nothing behind (its answer went to `events`).
        await withDiscardingTaskGroup { group in
            if let interrupts {
                group.addTask {
                    for await _ in interrupts { sink.yield(.interrupted) }
                }
            }
            do throws(ReplayError) {
                outcome = .success(try await loop(&machine, events: events, sink: sink, group: &group))
            } catch {
                outcome = .failure(error)
            }
            sink.finish()
            group.cancelAll()
        }
        return try outcome.get()
    }

    /// Carries out actions until the machine finishes, waiting for the next event
    /// whenever it has none left.
    private mutating func loop(
        _ machine: inout ReplayMachine, events: AsyncStream<ReplayMachine.Event>,
        sink: AsyncStream<ReplayMachine.Event>.Continuation, group: inout DiscardingTaskGroup
    ) async throws(ReplayError) -> ReplayEnd {
        var pending = machine.start(now: clock)
        var iterator = events.makeAsyncIterator()
        while true {
            while !pending.isEmpty {
                let action = pending.removeFirst()
                if case .finish(let end) = action { return end }
                if action.writesFiles {
                    // Writes that follow each other go to the file thread in one hop, in order.
                    var writes = [action]
                    while let next = pending.first, next.writesFiles { writes.append(pending.removeFirst()) }
                    try await write(writes)
                    continue
                }
                pending += try await carryOut(action, &machine, sink: sink, group: &group)
            }
            report(machine)
            // The stream ends only when this task is cancelled.
            guard let event = await iterator.next() else { return .delivered }
            let now = clock
            if case .tick = event, now >= scheduledWake { scheduledWake = .infinity }
            pending = machine.handle(event, now: now)
        }
    }

    /// Carries out one action; returns what the machine asks next when the action's
    /// outcome is known at once (records read, an answer given in place).
    private mutating func carryOut(
        _ action: ReplayMachine.Action, _ machine: inout ReplayMachine,
        sink: AsyncStream<ReplayMachine.Event>.Continuation, group: inout DiscardingTaskGroup
    ) async throws(ReplayError) -> [ReplayMachine.Action] {
        switch action {
        case .read(let count):
            let (files, wanted) = (files, machine.wanted)
            let read = try await onFileThread { () throws(ReplayError) in try files.read(upTo: count, wanted: wanted) }
            return machine.handle(.read(read.records, atEnd: read.atEnd), now: clock)
        case .send(let send):
            if let answer = transport.answerAtOnce(send.request) {
                return machine.handle(.answered(send.id, answer), now: clock)
            }
            let transport = transport
            group.addTask {
                let answer = await transport.send(send.request)
                sink.yield(.answered(send.id, answer))
            }
        case .writeRejected, .saveCheckpoint:
            try await write([action])
        case .wake(let at):
            guard at < scheduledWake else { break }
            scheduledWake = at
            let delay = max(at - clock, 0)
            group.addTask {
                try? await Task.sleep(nanoseconds: UInt64(delay * 1e9) + 1_000)
                sink.yield(.tick)
            }
        case .finish:
            break
        }
        return []
    }

    /// Appends rejected lines and saves checkpoints, in the order given, on the file
    /// thread (nothing on a dry run).
    private func write(_ actions: [ReplayMachine.Action]) async throws(ReplayError) {
        guard files.keepsProgress else { return }
        let files = files
        try await onFileThread { () throws(ReplayError) in
            for action in actions {
                switch action {
                case .writeRejected(let lines): try files.appendRejected(lines)
                case .saveCheckpoint(let checkpoint): try files.save(checkpoint)
                case .read, .send, .wake, .finish: break
                }
            }
        }
    }

    /// Calls `progress` at most five times a second.
    private mutating func report(_ machine: ReplayMachine) {
        guard let progress, MonotonicClock.now - lastProgress >= 0.2 else { return }
        lastProgress = MonotonicClock.now
        let tally = machine.tally
        progress(ReplayProgress(
            answered: tally.acknowledged + tally.rejected, total: total, rejected: tally.rejected,
            inFlight: machine.inFlight, concurrency: tally.concurrency, retries: tally.retries,
            elapsedSeconds: lastProgress - started, lastProblem: tally.lastProblem))
    }
}

extension ReplayMachine.Action {
    /// The rejected spool's appends and the checkpoint's saves: the shell's writes.
    fileprivate var writesFiles: Bool {
        switch self {
        case .writeRejected, .saveCheckpoint: true
        case .read, .send, .wake, .finish: false
        }
    }
}
