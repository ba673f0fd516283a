import Foundation

/// The fake Nudge (`scripts/fake_nudge.py`) on loopback: answers replay's requests as
/// Nudge does, with the faults asked for, and logs every request it received.
package final class FakeNudge {
    /// The API key the replay tests send (and the server checks).
    package static let apiKey = "test-key-7f3a9c"

    let process = Process()
    package let log: URL
    package let port: Int

    /// - Parameter port: where to listen: 0 for a free port; a stopped server's port
    ///   for "the same Nudge" behaving differently (a replay's progress belongs to
    ///   its endpoint).
    package init(in dir: URL, faults: String = "{}", port: Int = 0) throws {
        log = dir.appendingPathComponent("server-\(UUID().uuidString.prefix(6)).ndjson")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repositoryRoot.appendingPathComponent("scripts/fake_nudge.py").path,
                             "--log", log.path, "--api-key", Self.apiKey, "--faults", faults, "--port", "\(port)"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // It prints `listening on PORT` once it accepts connections.
        var line = Data()
        while !line.contains(0x0A), let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty {
            line += byte
        }
        self.port = Int(String(decoding: line, as: UTF8.self).split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
    }

    deinit {
        stop()
    }

    /// Ends the server (its log stays), so that another may take its port.
    package func stop() {
        guard process.isRunning else { return }
        // SIGKILL: the test process's blocked signals are inherited, so SIGTERM may never arrive.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    package var endpoint: String { "http://127.0.0.1:\(port)" }

    /// Every request received, in arrival order.
    package func requests() throws -> [[String: Any]] {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { try parseJSON(Data($0.utf8)) as! [String: Any] }
    }
}
