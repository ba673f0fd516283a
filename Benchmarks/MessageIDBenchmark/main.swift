// Measures the message-id state as a run uses it: every id checked against all earlier
// ones, recent ids in memory, the rest saved in runs on disk as the budget requires.
//
//   swift build -c release --product message-id-benchmark
//   .build/release/message-id-benchmark [IDS] [BUDGET_MIB] [IDS_PER_COMMIT] [DIR]
//
// Defaults: 10,000,000 ids (1 % of the checks repeat an earlier id), a 256 MiB budget
// (run's default), 200,000 ids a commit (an hourly Segment file of a large source), in a
// temporary folder under /tmp. Prints checks a second, peak memory, and disk and memory
// an id. The numbers in docs/performance.md come from this program. PREFETCH=N in the
// environment prefetches N records ahead instead of the decider's distance (0: none).
import Foundation
import NudgeCore
import NudgeSpool

let arguments = CommandLine.arguments
let idCount = arguments.count > 1 ? Int(arguments[1])! : 10_000_000
let budget = MessageIDBudget(bytes: (arguments.count > 2 ? Int(arguments[2])! : 256) << 20)
let idsPerCommit = arguments.count > 3 ? Int(arguments[3])! : 200_000
let folder = arguments.count > 4 ? arguments[4] : NSTemporaryDirectory() + "message-id-benchmark-\(getpid())"
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: folder) }

/// A kernel figure of this process from /proc/self/status, in bytes.
func status(_ field: String) -> Int {
    let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = text.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
    return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
}

/// The fingerprint of the n-th distinct messageId: hashed from n's bytes, as a run's
/// are from the decoded string, without making the string (which would be most of the time).
func key(_ n: Int) -> Fingerprint {
    withUnsafeBytes(of: n) { IdentityKey.messageID($0) }
}

var notes: [String] = []
let runs = try MessageIDRuns(folder: folder, budget: budget, lastCommit: 0, repairing: true, notes: &notes)
var state = IdentityState()
state.savedMessageIDs = runs
var random = SeededGenerator(seed: 42)
let baseline = status("VmRSS")
print("checking \(idCount) distinct ids (+1 % repeats), \(idsPerCommit) a commit, budget \(bytesText(budget.bytes)) …")
let started = Date()
var (checks, repeatsFound, commit, saveSeconds) = (0, 0, 0, 0.0)
var next = 0

/// Checks `keys` in order as the decider does (a struct's state, inout); returns the
/// repeats found and the checks made.
func check(_ keys: [(key: Fingerprint, isRepeat: Bool)], in state: inout IdentityState) -> (found: Int, checks: Int) {
    var found = 0
    for index in keys.indices {
        if ahead > 0 && index + ahead < keys.count { state.prefetchMessageID(key: keys[index + ahead].key) }
        let (key, isRepeat) = keys[index]
        let seen = state.rememberMessageID(key: key)
        if isRepeat {
            if seen { found += 1 }
        } else {
            precondition(!seen, "a new id was reported seen")
        }
    }
    return (found, keys.count)
}

// A commit's checks, as a run's decider makes them: the key of the record
// `IdentityState.prefetchDistance` ahead is prefetched before each check.
var commitKeys: [(key: Fingerprint, isRepeat: Bool)] = []
let ahead = ProcessInfo.processInfo.environment["PREFETCH"].flatMap { Int($0) } ?? IdentityState.prefetchDistance
while next < idCount {
    let end = min(idCount, next + idsPerCommit)
    commitKeys.removeAll(keepingCapacity: true)
    while next < end {
        if random.next() % 100 == 0 && next > 0 {
            // A repeat of any earlier id: most live on disk by now.
            commitKeys.append((key(Int(random.next() % UInt64(next))), true))
        } else {
            commitKeys.append((key(next), false))
            next += 1
        }
    }
    let (found, made) = check(commitKeys, in: &state)
    repeatsFound += found
    checks += made
    commit += 1
    state.markChangesSaved()
    if state.messageIDs.count >= budget.recentIDs {
        let saveStart = Date()
        try runs.save(state.messageIDs, throughCommit: commit)
        state.messageIDs = FingerprintTable(storesValues: false)
        saveSeconds += Date().timeIntervalSince(saveStart)
    }
}
let seconds = Date().timeIntervalSince(started)
let checked = checks - idCount
precondition(repeatsFound == checked, "a repeated id was missed: \(repeatsFound) of \(checked)")
let memory = state.messageIDs.memoryBytes + runs.memoryBytes
let per = { (bytes: Int) in format1(Double(bytes) / Double(idCount)) }
print("""
    \(idCount) ids, \(commit) commits, \(runs.runCount) runs on disk (through commit \(runs.throughCommit))
    checks: \(checks) in \(format1(seconds)) s = \(Int(Double(checks) / seconds)) a second on one core \
    (saving and merging runs: \(format1(saveSeconds)) s of it)
    disk: \(bytesText(runs.diskBytes)) = \(per(runs.diskBytes)) bytes an id
    memory of the state: \(bytesText(memory)) = \(per(memory)) bytes an id \
    (recent table \(bytesText(state.messageIDs.memoryBytes)), filters and fences \(bytesText(runs.memoryBytes)))
    peak RSS: \(bytesText(status("VmHWM"))) (\(bytesText(baseline)) before the first id)
    """)
