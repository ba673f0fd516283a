/// One HTTP attempt the shell must carry out; its answer comes back as
/// ``ReplayMachine/Event/answered(_:_:)`` with the same `id`.
package struct ReplaySend: Sendable, Equatable {
    package var id: Int
    package var request: OutgoingRequest
}
