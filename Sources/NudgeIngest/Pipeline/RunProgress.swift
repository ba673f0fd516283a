/// Where a long run stands, for a progress line.
package struct RunProgress: Sendable {
    package var inputIndex: Int
    package var inputCount: Int
    package var path: String
    package var inputBytesRead: Int
    package var inputBytesTotal: Int?
    /// File bytes of the inputs before this one, and of all the run's inputs (nil when
    /// some size is unknown: standard input, a FIFO).
    package var bytesBefore: Int = 0
    package var bytesTotal: Int?
    package var records: Int
    package var elapsedSeconds: Double

    /// The share of all the run's input bytes read, 0–1, when the total is known.
    package var fractionDone: Double? {
        guard let total = bytesTotal, total > 0 else { return nil }
        return min(Double(bytesBefore + inputBytesRead) / Double(total), 1)
    }
}
