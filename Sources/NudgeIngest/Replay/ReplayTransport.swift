/// Sends one request and returns its answer, never throwing: network failures are
/// answers too. The real one is `HTTPClientTransport` (module `NudgeReplayHTTP`, over
/// async-http-client); ``DryRunTransport`` sends nothing; tests may answer from memory.
public protocol ReplayTransport: Sendable {
    func send(_ request: OutgoingRequest) async -> HTTPAnswer

    /// The answer, when this transport has it without any I/O or waiting; nil (the
    /// default) when the request must be sent. The shell hands an answer given here to
    /// the machine at once, before anything else happens, so such a transport sees the
    /// requests in the order the machine formed them, every time.
    func answerAtOnce(_ request: OutgoingRequest) -> HTTPAnswer?
}

extension ReplayTransport {
    /// The default: nil, so every request is sent.
    public func answerAtOnce(_ request: OutgoingRequest) -> HTTPAnswer? { nil }
}
