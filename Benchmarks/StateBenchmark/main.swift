// Measures the identity state at a given scale: memory per user and per messageId,
// snapshot and journal sizes on disk, and the time to save and load them.
//
//   swift build -c release --product state-benchmark
//   [JOURNALS=N] .build/release/state-benchmark [USERS] [MESSAGE_IDS] [DIR]
//
// Defaults: 10,000,000 users (all identified, each with an anonymousId link) and
// 50,000,000 message ids, in a temporary folder under /tmp, and one journal (JOURNALS
// of them when set, each one day: 20,000 users, 100,000 message ids). Needs about 4 GB
// of memory.
// The numbers in docs/spool.md come from this program.
import NudgeCore
import NudgeSpool
import Foundation

let arguments = CommandLine.arguments
let userCount = arguments.count > 1 ? Int(arguments[1])! : 10_000_000
let messageCount = arguments.count > 2 ? Int(arguments[2])! : 50_000_000
let folder = arguments.count > 3 ? arguments[3] : NSTemporaryDirectory() + "state-benchmark-\(getpid())"
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: folder) }

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = Date()
    try body()
    return Date().timeIntervalSince(start)
}

func residentBytes() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
}

func withBytes<R>(_ text: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    var text = text
    return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
}

/// A Segment-like id: 36 characters, as a UUID.
func uuidLike(_ n: Int, _ salt: UInt64) -> String {
    var x = UInt64(n) &* 0x9E37_79B9_7F4A_7C15 ^ salt
    let digits = Array("0123456789abcdef".utf8)
    return String(unsafeUninitializedCapacity: 36) { text in
        var at = 0
        for i in 0..<32 {
            if i == 8 || i == 12 || i == 16 || i == 20 {
                text[at] = UInt8(ascii: "-")
                at += 1
            }
            x = x &* 6364136223846793005 &+ 1442695040888963407
            text[at] = digits[Int(x >> 60)]
            at += 1
        }
        return at
    }
}

print("building: \(userCount) users, \(messageCount) message ids …")
let baseline = residentBytes()
var state = IdentityState()
var extIDBytes = 0
let build = seconds {
    for user in 0..<userCount {
        let extID = "user_" + String(user)
        extIDBytes += extID.utf8.count
        let index = withBytes(extID) { state.addUser(extID: $0) }
        state.markIdentified(index)
        withBytes(uuidLike(user, 1)) { state.link($0, to: index, origin: .anonymousID) }
        if user % 1_000_000 == 0 { state.markChangesSaved() }
    }
    for message in 0..<messageCount {
        _ = withBytes(uuidLike(message, 2)) { state.rememberMessageID($0) }
        if message % 1_000_000 == 0 { state.markChangesSaved() }
    }
    state.markChangesSaved()
}
let stats = state.statistics
let resident = residentBytes() - baseline
print("built in \(String(format: "%.1f", build)) s")

let snapshot = folder + "/snapshot"
var snapshotBytes = 0
let save = try seconds { snapshotBytes = try StateFile.write(state, kind: .snapshot, commit: 1, to: snapshot) }

// Each day of new activity as a journal: 20,000 new users, 100,000 message ids
// (JOURNALS days, 1 unless set: a spool compacts its journals into a snapshot only once
// they hold an eighth of its bytes, so a large one may carry hundreds).
let journalCount = Int(ProcessInfo.processInfo.environment["JOURNALS"] ?? "") ?? 1
var journals: [StateFile.Part] = []
var journalBytes = 0
var journalSave = 0.0
for day in 0..<journalCount {
    let firstUser = userCount + day * 20_000, firstMessage = messageCount + day * 100_000
    for user in firstUser..<(firstUser + 20_000) {
        let index = withBytes("user_" + String(user)) { state.addUser(extID: $0) }
        state.markIdentified(index)
        withBytes(uuidLike(user, 1)) { state.link($0, to: index, origin: .anonymousID) }
    }
    for message in firstMessage..<(firstMessage + 100_000) {
        _ = withBytes(uuidLike(message, 2)) { state.rememberMessageID($0) }
    }
    let journal = folder + "/" + String(format: "%08d", day + 2) + ".journal"
    journalSave += try seconds { journalBytes = try StateFile.write(state, kind: .journal, commit: day + 2, to: journal) }
    state.markChangesSaved()
    journals.append(.init(path: journal, kind: .journal, commit: day + 2))
}
state = IdentityState()

// Load with the snapshot's pages dropped from the page cache, as after a reboot.
let fd = open(snapshot, O_RDONLY)
posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
close(fd)
var loaded = IdentityState()
let load = try seconds {
    loaded = try StateFile.load([.init(path: snapshot, kind: .snapshot, commit: 1)] + journals)
}
let after = loaded.statistics
precondition(after.users == userCount + 20_000 * journalCount && after.messageIDs == messageCount + 100_000 * journalCount)
loaded = IdentityState()
// Again, the file now in the page cache: what decoding and indexing cost alone.
let warmLoad = try seconds {
    loaded = try StateFile.load([.init(path: snapshot, kind: .snapshot, commit: 1)] + journals)
}

func mb(_ bytes: Int) -> String { String(format: "%.0f MB", Double(bytes) / 1e6) }
func per(_ bytes: Int, _ count: Int) -> String { String(format: "%.1f", Double(bytes) / Double(count)) }
print("""
    state: \(stats.users) users (ext_id \(per(extIDBytes, userCount)) bytes on average), \
    \(stats.links) links, \(stats.messageIDs) message ids
    memory after building: \(mb(stats.memoryBytes)) in tables and arrays, \(mb(resident)) more resident than at start
      per message id: \(per(stats.messageIDBytes, stats.messageIDs)) bytes
      per user:       \(per(stats.userBytes, stats.users)) bytes (table slot, ext_id bytes, end offset, flag)
      per link:       \(per(stats.linkBytes, stats.links)) bytes
    memory after loading: \(mb(after.memoryBytes)) (message ids \(per(after.messageIDBytes, after.messageIDs)), \
    users \(per(after.userBytes, after.users)), links \(per(after.linkBytes, after.links)) bytes each)
    disk: snapshot \(mb(snapshotBytes)) (16 bytes per message id, 20 per link, 4 + ext_id per user)
      journal of one day (20,000 users and links, 100,000 message ids): \(mb(journalBytes))
    save snapshot: \(String(format: "%.2f", save)) s (written and fsynced)
    save journal:  \(String(format: "%.3f", journalSave / Double(journalCount))) s
    load snapshot + \(journalCount) journal(s): \(String(format: "%.2f", load)) s (\(String(format: "%.2f", warmLoad)) s again, the files cached)
    """)
