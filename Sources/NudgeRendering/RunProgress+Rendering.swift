import NudgeCore
import NudgeIngest

extension RunProgress {
    /// One line for a terminal `width` columns wide:
    /// `[2/8] 37% of 194.5 MB · ETA 1m 20s · 547,499 records · 227,582/s · segment-…/1743033600000/part-2.gz`,
    /// the path shortened in its middle so that the line never wraps.
    package func line(width: Int = 160) -> String {
        var head = "[\(inputIndex + 1)/\(inputCount)]"
        if let fraction = fractionDone, let total = bytesTotal {
            // Of the bytes listed or found at the start: an S3 run's progress is its download's.
            head += " \(Int(fraction * 100))% of " + (total >= 1_000_000_000
                ? format1(Double(total) / 1e9) + " GB" : format1(Double(total) / 1e6) + " MB")
            if fraction > 0.005 && elapsedSeconds >= 1 {
                head += " · ETA " + duration(elapsedSeconds * (1 - fraction) / fraction)
            }
        } else if let total = inputBytesTotal, total > 0 {
            head += " this input \(inputBytesRead * 100 / total)%"
        }
        let rate = elapsedSeconds > 0 ? Int(Double(records) / elapsedSeconds) : 0
        head += " · \(group(records)) records · \(group(rate))/s"
        return fitted(head, path, width: width)
    }
}
