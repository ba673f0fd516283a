import Foundation
import Testing

// Waiting for events, not for time: a test waits until something it can observe has
// happened (a line logged, a file written, a connection opened), never a fixed while.

/// Waits until `condition` holds, looking every 10 ms. The deadline is generous (a
/// loaded machine is slow) and only fails the test: it never decides an outcome.
package func waitUntil(_ what: @autoclosure () -> String, within seconds: Double = 60,
                       sourceLocation: SourceLocation = #_sourceLocation, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while try !condition() {
        try #require(Date() < deadline, "waited \(Int(seconds)) s for \(what())", sourceLocation: sourceLocation)
        usleep(10_000)
    }
}

/// One IPv4 TCP connection of this machine, as `/proc/net/tcp` lists it: what a test
/// sees of a client's socket from outside (whether it is open, how much waits unread).
package struct TCPConnection {
    package var localPort: Int
    package var remotePort: Int
    /// Open on this side: established, or closed by the peer with data perhaps unread
    /// (`CLOSE_WAIT`: a server that sent all it had and hung up).
    package var isOpen: Bool
    /// Bytes received that the socket's owner has not read yet.
    package var unreadBytes: Int

    /// The machine's IPv4 TCP connections now.
    package static func all() -> [TCPConnection] {
        // Read to its end: the kernel makes the file a page at a time, and a read of its
        // stat size (0) would stop after the first.
        let text = String(decoding: FileHandle(forReadingAtPath: "/proc/net/tcp")?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
        // sl local_address rem_address st tx_queue:rx_queue …, addresses as HEXIP:HEXPORT.
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 4, let local = Int(fields[1].split(separator: ":").last ?? "", radix: 16),
                  let remote = Int(fields[2].split(separator: ":").last ?? "", radix: 16),
                  let state = Int(fields[3], radix: 16), let unread = Int(fields[4].split(separator: ":").last ?? "", radix: 16)
            else { return nil }
            return TCPConnection(localPort: local, remotePort: remote, isOpen: state == 0x01 || state == 0x08, unreadBytes: unread)
        }
    }

    /// What a test that waited for a connection prints: every connection to or from `port`.
    package static func described(port: Int) -> String {
        let listed = (try? runProgram("/usr/bin/env", ["ss", "-tinaH"]))?.stdoutText ?? "no ss"
        return "\(all().filter { $0.remotePort == port || $0.localPort == port }); ss: "
            + listed.split(separator: "\n").filter { $0.contains(":\(port)") }.joined(separator: " | ")
    }

    /// The open connections of clients to a server on `port`.
    package static func clients(ofPort port: Int) -> [TCPConnection] {
        all().filter { $0.remotePort == port && $0.isOpen }
    }

    /// How many bytes the clients of the server on `port` have taken from their sockets:
    /// what each received (the kernel's `tcpi_bytes_received`, which `ss -i` shows) less
    /// what waits unread. Nil where `ss` cannot tell.
    package static func bytesTaken(byClientsOfPort port: Int) -> Int? {
        guard let listed = try? runProgram("/usr/bin/env", ["ss", "-tinH", "state", "established", "state", "close-wait", "dst", "127.0.0.1:\(port)"]),
              listed.status == 0 else { return nil }
        // Each connection: a line `State Recv-Q Send-Q local peer`, then an indented one
        // of its details.
        var taken = 0, unread: Int?
        for line in listed.stdoutText.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if line.first == " " || line.first == "\t" {
                guard let received = fields.first(where: { $0.hasPrefix("bytes_received:") }) else { continue }
                guard let queued = unread, let count = Int(received.dropFirst("bytes_received:".count)) else { return nil }
                taken += count - queued
                unread = nil
            } else {
                unread = fields.lazy.compactMap { Int($0) }.first
            }
        }
        return taken
    }
}
