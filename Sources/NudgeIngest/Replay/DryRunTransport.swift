import Synchronization

/// `replay --dry-run`: a transport that sends nothing. It answers every request at
/// once as a destination that accepts everything would (2xx), so the machine forms the
/// requests a clean replay would send, in the same order; it counts them and shows
/// each one (`--verbose`). The machine cannot tell it from a real destination: a dry
/// run is this transport and a replay that saves nothing, not a mode of the machine.
package final class DryRunTransport: ReplayTransport {
    /// What would have been sent: requests and the records they carry.
    package struct Count: Sendable, Equatable {
        package var requests = 0
        package var records = 0
    }

    private let show: (@Sendable (OutgoingRequest) -> Void)?
    private let counted = Mutex(Count())

    /// - Parameter show: called with every request, in the order formed.
    package init(show: (@Sendable (OutgoingRequest) -> Void)? = nil) {
        self.show = show
    }

    /// The requests so far.
    package var count: Count { counted.withLock { $0 } }

    package func answerAtOnce(_ request: OutgoingRequest) -> HTTPAnswer? {
        answer(request)
    }

    package func send(_ request: OutgoingRequest) async -> HTTPAnswer {
        answer(request)
    }

    private func answer(_ request: OutgoingRequest) -> HTTPAnswer {
        counted.withLock { count in
            count.requests += 1
            count.records += request.records
        }
        show?(request)
        return HTTPAnswer(status: 200)
    }
}
