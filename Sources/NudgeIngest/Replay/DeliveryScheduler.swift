import NudgeCore

/// The ordering rules of `replay`, as a state machine with no I/O, so they can be
/// tested without sockets:
///
/// - **A user's records arrive in spool order**: a record is sent only once every
///   earlier record of its `ext_id` has been answered, so at most one request per
///   user is in flight (a batch may carry several of its tracks, in order).
/// - **Identify before track on the wire**: an accepted track always follows an
///   accepted identify of its user in the spool (rule 12), so with the first rule its
///   identify has been acknowledged before it is sent.
/// - **A user whose identify was rejected** has its later tracks rejected too, without
///   a request ("identify_rejected").
/// - **Progress** is a watermark (every record before it is done: acknowledged or
///   rejected) plus the done records after it, bounded by the window, plus the records
///   before it that `requeue` put back; that is what a checkpoint saves, so a resumed
///   replay repeats only what was not saved as done.
///
/// How many requests are in flight is not its business: the ``ReplayMachine`` asks
/// for the next request only when it has a free slot.
package struct DeliveryScheduler: Sendable {
    package private(set) var limits: DeliveryLimits
    /// Records read and not yet done, in spool order, from `head` on; the done prefix
    /// before `head` is dropped in bulk, so that moving past it costs no copy.
    private var window: [Entry] = []
    private var head = 0
    /// Users of the records in the window, by a dense number: the scan of ``next()``
    /// looks users up in arrays, hashing no string. A number is given back when its
    /// user has no record left in the window, so the tables stay as small as it is.
    private var userNumbers: [String: Int] = [:]
    private var userNames: [String] = []
    /// Per user number: records in the window, requests in flight carrying the user,
    /// and the scan that last found the user blocked.
    private var userRecords: [Int] = []
    private var userBusy: [Int] = []
    private var userBlockedInScan: [Int] = []
    private var freeUserNumbers: [Int] = []
    private var scanNumber = 0
    /// Users whose identify Nudge rejected.
    package private(set) var rejectedUsers: Set<String>
    /// Requests sent and not answered, with the user numbers they carry.
    private var inFlight: [Int: (request: DeliveryRequest, users: [Int])] = [:]
    private var nextRequestID = 1
    /// Every record before this sequence is done.
    package private(set) var watermark: Int
    /// Done records at or after the watermark.
    package private(set) var doneAfterWatermark: Set<Int>
    /// Records before the watermark that are to be sent again (`requeue`).
    package private(set) var requeued: Set<Int>

    private struct Entry {
        var record: ReplayRecord
        var user: Int
        var state: State
        enum State { case waiting, sent, done }
    }

    /// - Parameters:
    ///   - watermark, done: the progress a checkpoint saved; records they cover are
    ///     skipped when enqueued.
    ///   - rejectedUsers: users whose identify an earlier replay saw rejected.
    ///   - requeued: records before the watermark to send again.
    package init(limits: DeliveryLimits, watermark: Int = 0, done: Set<Int> = [], rejectedUsers: Set<String> = [],
                requeued: Set<Int> = []) {
        self.limits = limits
        self.watermark = watermark
        self.doneAfterWatermark = done
        self.rejectedUsers = rejectedUsers
        self.requeued = requeued
    }

    /// Records read and not yet done.
    package var pendingCount: Int { window.count - head }
    /// The caller may read more records.
    package var wantsRecords: Bool { pendingCount < limits.window }
    /// How many more records the window holds.
    package var room: Int { max(limits.window - pendingCount, 0) }
    /// Nothing read is left to do.
    package var isIdle: Bool { head == window.count }
    /// Some record read waits to be sent.
    package var hasWaiting: Bool { waitingCount > 0 }
    private var waitingCount = 0
    /// Where reading the spool starts: the first requeued record, or the watermark.
    package var firstWanted: Int { min(requeued.min() ?? watermark, watermark) }

    /// Whether the record at `sequence` is still to be delivered (the reader skips the
    /// others without parsing them).
    package func wants(_ sequence: Int) -> Bool {
        requeued.contains(sequence) || (sequence >= watermark && !doneAfterWatermark.contains(sequence))
    }

    /// The records still to be delivered, as a value the reader can take along.
    package var wanted: WantedRecords {
        WantedRecords(watermark: watermark, doneAfterWatermark: doneAfterWatermark, requeued: requeued)
    }

    /// Adds the next record in spool order. Returns false when a checkpoint says it is
    /// done already (it is then dropped).
    @discardableResult
    package mutating func enqueue(_ record: ReplayRecord) -> Bool {
        precondition(window.last.map { $0.record.sequence < record.sequence } ?? true, "records must come in spool order")
        if !wants(record.sequence) {
            // Done before; with nothing earlier waiting, the watermark moves past it.
            if isIdle { advanceWatermark(past: record.sequence) }
            return false
        }
        window.append(Entry(record: record, user: number(of: record.extID), state: .waiting))
        waitingCount += 1
        return true
    }

    /// What the caller must do next: send a request, reject tracks of rejected users,
    /// or nothing for now (wait for an answer, or read more records).
    package enum Step: Sendable, Equatable {
        case send(DeliveryRequest)
        /// Tracks of a user whose identify was rejected: write them to the rejected
        /// spool, then call ``markRejectedWithoutRequest(_:)``.
        case rejectWithoutRequest([Int])
        case wait
    }

    /// The next step, following the rules above.
    package mutating func next() -> Step {
        scanNumber += 1
        let scan = scanNumber
        var batch: [Int] = []
        var batchBytes = 0
        var orphans: [Int] = []
        // How far one call looks past records it cannot send: bounded, so that a full
        // window of blocked users costs each call a few thousand steps, not the window.
        var examined = 0
        let lookahead = max(4 * limits.batchCount, 4096)
        scan: for index in head..<window.count where window[index].state == .waiting {
            examined += 1
            if examined > lookahead { break }
            let record = window[index].record
            let user = window[index].user
            if userBlockedInScan[user] == scan || userBusy[user] > 0 {
                userBlockedInScan[user] = scan
                continue
            }
            switch record.kind {
            case .identify:
                guard batch.isEmpty && orphans.isEmpty else {
                    userBlockedInScan[user] = scan  // the user's later records wait behind it
                    continue
                }
                return .send(start(.identify, [index]))
            case .track:
                if !rejectedUsers.isEmpty && rejectedUsers.contains(record.extID) {
                    guard batch.isEmpty else { userBlockedInScan[user] = scan; continue }
                    orphans.append(index)
                    continue
                }
                guard orphans.isEmpty else { userBlockedInScan[user] = scan; continue }
                let fits = batch.count < limits.batchCount
                    && (batch.isEmpty || batchBytes + record.bodyBytes <= limits.batchBytes)
                guard fits else { userBlockedInScan[user] = scan; continue }
                batch.append(index)
                batchBytes += record.bodyBytes
                if batch.count == limits.batchCount { break scan }
            }
        }
        if !orphans.isEmpty {
            return .rejectWithoutRequest(orphans.map { window[$0].record.sequence })
        }
        if !batch.isEmpty { return .send(start(.track, batch)) }
        return .wait
    }

    private mutating func start(_ kind: ReplayRecord.Kind, _ indices: [Int]) -> DeliveryRequest {
        let request = DeliveryRequest(id: nextRequestID, kind: kind, sequences: indices.map { window[$0].record.sequence })
        nextRequestID += 1
        var users: [Int] = []
        waitingCount -= indices.count
        for index in indices {
            window[index].state = .sent
            let user = window[index].user
            if userBusy[user] == 0 { users.append(user) }
            userBusy[user] = 1
        }
        inFlight[request.id] = (request, users)
        return request
    }

    /// The request was answered 2xx: its records are done. An acknowledged identify
    /// also lifts an earlier rejection of its user.
    package mutating func acknowledged(_ requestID: Int) {
        if let (request, users) = inFlight[requestID], request.kind == .identify {
            for user in users { rejectedUsers.remove(userNames[user]) }
        }
        finish(requestID)
    }

    /// The request was answered with a permanent error: its records are done (the
    /// caller has written them to the rejected spool). A rejected identify makes its
    /// user's later tracks rejected too.
    package mutating func rejected(_ requestID: Int) {
        if let (request, users) = inFlight[requestID], request.kind == .identify {
            for user in users { rejectedUsers.insert(userNames[user]) }
        }
        finish(requestID)
    }

    /// Tracks handed out by ``Step/rejectWithoutRequest(_:)`` are written: they are done.
    package mutating func markRejectedWithoutRequest(_ sequences: [Int]) {
        markDone(Set(sequences))
    }

    /// Nudge answered 413 to a batch of `count` records and `bytes` body bytes: later
    /// batches carry at most half of each (at least one record).
    package mutating func shrinkBatches(below count: Int, bytes: Int) {
        limits.batchCount = max(1, min(limits.batchCount, count / 2))
        limits.batchBytes = max(1, min(limits.batchBytes, bytes / 2))
    }

    /// The request will not be answered for good in this process (the replay stops, or
    /// the request is split): its records go back to waiting, to be sent again.
    package mutating func abandon(_ requestID: Int) {
        guard let (request, users) = inFlight.removeValue(forKey: requestID) else { return }
        for sequence in request.sequences {
            if let index = index(of: sequence) {
                window[index].state = .waiting
                waitingCount += 1
            }
        }
        for user in users { userBusy[user] = 0 }
    }

    private mutating func finish(_ requestID: Int) {
        guard let (request, users) = inFlight.removeValue(forKey: requestID) else { return }
        for user in users { userBusy[user] = 0 }
        markDone(Set(request.sequences))
    }

    private mutating func markDone(_ sequences: Set<Int>) {
        for sequence in sequences {
            if let index = index(of: sequence) {
                if window[index].state == .waiting { waitingCount -= 1 }
                window[index].state = .done
                release(window[index].user)
            }
        }
        for sequence in sequences {
            if sequence < watermark { requeued.remove(sequence) } else { doneAfterWatermark.insert(sequence) }
        }
        // Drop the done prefix of the window and move the watermark past it.
        var prefix = head
        while prefix < window.count && window[prefix].state == .done { prefix += 1 }
        if prefix > head {
            advanceWatermark(past: window[prefix - 1].record.sequence)
            head = prefix
            if head >= 1024 && head * 2 >= window.count {
                window.removeFirst(head)
                head = 0
            }
        }
    }

    /// The dense number of a user, given on its first record in the window.
    private mutating func number(of user: String) -> Int {
        if let number = userNumbers[user] {
            userRecords[number] += 1
            return number
        }
        let number: Int
        if let free = freeUserNumbers.popLast() {
            number = free
            userNames[number] = user
            userRecords[number] = 1
        } else {
            number = userNames.count
            userNames.append(user)
            userRecords.append(1)
            userBusy.append(0)
            userBlockedInScan.append(0)
        }
        userNumbers[user] = number
        return number
    }

    /// One of the user's records left the window; with none left, its number is free.
    private mutating func release(_ user: Int) {
        userRecords[user] -= 1
        guard userRecords[user] == 0 else { return }
        userNumbers[userNames[user]] = nil
        userNames[user] = ""
        userBusy[user] = 0
        userBlockedInScan[user] = 0
        freeUserNumbers.append(user)
    }

    /// Where `sequence` is in the window (which is in spool order): a binary search.
    private func index(of sequence: Int) -> Int? {
        var low = head
        var high = window.count
        while low < high {
            let middle = (low + high) / 2
            if window[middle].record.sequence < sequence { low = middle + 1 } else { high = middle }
        }
        return low < window.count && window[low].record.sequence == sequence ? low : nil
    }

    /// Moves the watermark past `sequence` (and past any done records that follow).
    private mutating func advanceWatermark(past sequence: Int) {
        guard sequence >= watermark else { return }
        for done in watermark...sequence { doneAfterWatermark.remove(done) }
        watermark = sequence + 1
        while doneAfterWatermark.remove(watermark) != nil { watermark += 1 }
    }
}
