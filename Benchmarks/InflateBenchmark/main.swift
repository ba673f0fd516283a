// Measures single-core gzip inflate throughput of each backend through the reader's
// public API: `InputReader.decompress`, as the run's decompress thread calls it (file
// reads, the ledger's content hash, inflate), with a sink that only counts bytes.
//
//   swift build -c release --product inflate-benchmark
//   .build/release/inflate-benchmark FILE.gz [ROUNDS]
//
// Prints MB/s of inflated output per backend, the median of ROUNDS (default 5) rounds,
// the backends alternating within each round, by wall time and by this thread's CPU
// time (the fairer figure on a shared machine). Warm the page cache first
// (cat FILE > /dev/null).
import NudgeIngest
import NudgeSpool
import NudgeSystem
import Foundation

let arguments = CommandLine.arguments
guard arguments.count > 1 else {
    FileHandle.standardError.write(Data("usage: inflate-benchmark FILE.gz [ROUNDS]\n".utf8))
    exit(2)
}
let path = arguments[1]
let rounds = arguments.count > 2 ? Int(arguments[2])! : 5
var backends: [InflateBackend] = [.zlib]
if let reason = InflateBackend.isalUnavailableReason {
    print("ISA-L left out: \(reason)")
} else {
    backends.append(.isal)
}

/// This thread's CPU time in seconds.
func threadCPUSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

var times: [InflateBackend: [Double]] = [:]
var cpuTimes: [InflateBackend: [Double]] = [:]
var inflatedBytes = 0
for _ in 0..<rounds {
    for backend in backends {
        let reader = InputReader(maxLineBytes: 1 << 20, inflater: backend)
        var inflated = 0
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = threadCPUSeconds()
        let report = try reader.decompress(InputFile(path: path)) { bytes, _ in inflated += bytes.count }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        cpuTimes[backend, default: []].append(threadCPUSeconds() - cpuStart)
        guard report.end == .complete, report.format == .gzip else {
            print("\(backend): \(path) did not inflate whole: \(report.end)")
            exit(1)
        }
        inflatedBytes = inflated
        times[backend, default: []].append(seconds)
    }
}
print("\(path): \(inflatedBytes) bytes inflated, median of \(rounds) rounds")
for backend in backends {
    let sorted = times[backend]!.sorted()
    let median = sorted[sorted.count / 2]
    let cpu = cpuTimes[backend]!.sorted()[sorted.count / 2]
    print(String(format: "  %@: wall %.3f s = %.0f MB/s (min %.3f s, max %.3f s); CPU %.3f s = %.0f MB/s",
                 backend.rawValue, median, Double(inflatedBytes) / median / 1e6, sorted.first!, sorted.last!,
                 cpu, Double(inflatedBytes) / cpu / 1e6))
}
