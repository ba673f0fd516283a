import Foundation

/// Starts a thread named `name` (see ``nameCurrentThread(_:)``) that runs `body`.
package func startThread(named name: String, _ body: @escaping @Sendable () -> Void) {
    Thread {
        nameCurrentThread(name)
        body()
    }.start()
}

/// Names the calling thread as `top`, `ps -L` and profilers show it (Linux keeps 15 bytes).
package func nameCurrentThread(_ name: String) {
    Thread.current.name = name
}

/// How many cores this process may run on: the CPUs its affinity mask allows (so
/// `taskset -c 0` counts one), read from `/proc/self/status`; else the online ones.
package func availableCores() -> Int {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) {
        // A hexadecimal mask in comma-separated groups of 32 bits.
        let count = line.dropFirst("Cpus_allowed:".count).reduce(0) { count, character in
            count + (character.hexDigitValue?.nonzeroBitCount ?? 0)
        }
        if count > 0 { return count }
    }
    return max(ProcessInfo.processInfo.activeProcessorCount, 1)
}

/// Blocks the calling thread for `seconds`: for a short back-off, never to wait for an
/// event that can be waited on.
package func pauseThread(seconds: Double) {
    Thread.sleep(forTimeInterval: seconds)
}
