import NudgeSystem

/// Where a long run stands, for a progress line.
public struct RunProgress: Sendable {
    /// The input being read: its 0-based index among the inputs the run processes.
    public var inputIndex: Int
    /// Inputs the run sets out to process (those it skips not counted).
    public var inputCount: Int
    /// The path of the input being read.
    public var path: String
    package var inputBytesRead: Int
    package var inputBytesTotal: Int?
    /// File bytes of the inputs before this one, and of all the run's inputs (nil when
    /// some size is unknown: standard input, a FIFO).
    package var bytesBefore: Int = 0
    package var bytesTotal: Int?
    /// Records decided so far in this run, over all its inputs.
    public var records: Int
    /// Seconds since the run started.
    public var elapsedSeconds: Double

    /// The share of all the run's input bytes read, 0–1, when the total is known.
    public var fractionDone: Double? {
        guard let total = bytesTotal, total > 0 else { return nil }
        return min(Double(bytesBefore + inputBytesRead) / Double(total), 1)
    }
}

/// The progress callback of a run, called at most every 0.2 s.
struct ProgressReport {
    let started: Double
    let plan: InputPlan
    let report: (RunProgress) -> Void
    /// File bytes of all the run's inputs; nil when some size is unknown.
    let bytesTotal: Int?
    private var last: Double

    init(started: Double, plan: InputPlan, report: @escaping (RunProgress) -> Void) {
        (self.started, self.plan, self.report, last) = (started, plan, report, started)
        bytesTotal = plan.sizes.contains(nil) ? nil : plan.sizes.reduce(0) { $0 + $1! }
    }

    /// Reports where input `index` stands, if the last report is 0.2 s old.
    mutating func update(input index: Int, fileBytesRead: Int, bytesBefore: Int, records: Int) {
        guard MonotonicClock.now - last >= 0.2 else { return }
        last = MonotonicClock.now
        report(RunProgress(
            inputIndex: index, inputCount: plan.toProcess.count, path: plan.toProcess[index].path,
            inputBytesRead: fileBytesRead, inputBytesTotal: plan.sizes[index],
            bytesBefore: bytesBefore, bytesTotal: bytesTotal, records: records, elapsedSeconds: last - started))
    }
}
