/// An instant read from an RFC 3339 date-time, kept as UTC milliseconds since the
/// Unix epoch: everything JavaScript's `Date` keeps.
package struct Timestamp: Equatable, Sendable {
    package var millisecondsSinceEpoch: Int64
    /// The date-time carried a numeric offset (`+02:00`, `-0500`) rather than `Z`.
    package var hadNumericOffset: Bool

    package init(millisecondsSinceEpoch: Int64, hadNumericOffset: Bool = false) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
        self.hadNumericOffset = hadNumericOffset
    }

    /// Parses an RFC 3339 date-time as the contract reads it: `YYYY-MM-DD`, `T` or `t`,
    /// `HH:MM:SS`, an optional `.` and one or more digits, then `Z`, `z`, `±HH:MM` or
    /// `±HHMM`; a real calendar date, hour ≤ 23, minute and second ≤ 59, offset ≤ 23:59;
    /// nothing before or after. Returns `nil` for anything else.
    package static func parse(_ text: UnsafeRawBufferPointer) -> Timestamp? {
        let n = text.count
        guard n >= 20, let base = text.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        @inline(__always) func digit(_ i: Int) -> Int? {
            let d = base[i] &- 0x30
            return d < 10 ? Int(d) : nil
        }
        @inline(__always) func number(_ i: Int, _ width: Int) -> Int? {
            var value = 0
            for k in i..<(i + width) {
                guard let d = digit(k) else { return nil }
                value = value * 10 + d
            }
            return value
        }
        guard let year = number(0, 4), base[4] == 0x2D, let month = number(5, 2), base[7] == 0x2D,
              let day = number(8, 2), base[10] | 0x20 == 0x74,
              let hour = number(11, 2), base[13] == 0x3A, let minute = number(14, 2), base[16] == 0x3A,
              let second = number(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour <= 23, minute <= 59, second <= 59
        else { return nil }
        var i = 19
        var millis = 0
        if base[i] == 0x2E {
            i += 1
            let fractionStart = i
            while i < n, let d = digit(i) {
                if i - fractionStart < 3 { millis = millis * 10 + d }
                i += 1
            }
            let digits = i - fractionStart
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        guard i < n else { return nil }
        var offsetMinutes = 0
        var numericOffset = false
        switch base[i] {
        case 0x5A, 0x7A:
            i += 1
        case 0x2B, 0x2D:
            let sign = base[i] == 0x2D ? -1 : 1
            i += 1
            guard i + 4 <= n, let oh = number(i, 2) else { return nil }
            i += 2
            if i < n && base[i] == 0x3A { i += 1 }
            guard i + 2 <= n, let om = number(i, 2), oh <= 23, om <= 59 else { return nil }
            i += 2
            offsetMinutes = sign * (oh * 60 + om)
            numericOffset = true
        default:
            return nil
        }
        guard i == n else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return Timestamp(millisecondsSinceEpoch: seconds * 1000 + Int64(millis), hadNumericOffset: numericOffset)
    }

    /// The longest ``writeISOString(to:)`` output: `+YYYYYY-MM-DDTHH:MM:SS.mmmZ`.
    static let maxISOLength = 27

    /// Writes JavaScript's `Date.prototype.toISOString()` form:
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, or `±YYYYYY-…` for years outside 0000–9999.
    /// Returns the length (at most ``maxISOLength``).
    func writeISOString(to out: UnsafeMutablePointer<UInt8>) -> Int {
        let (dayCount, msOfDay) = millisecondsSinceEpoch.floorDivided(by: 86_400_000)
        let (year, month, day) = Self.civilFromDays(Int(dayCount))
        var at = out
        if year >= 0 && year <= 9999 {
            at = Self.writeDigits(year, width: 4, at)
        } else {
            at.pointee = year < 0 ? 0x2D : 0x2B
            at = Self.writeDigits(abs(year), width: 6, at + 1)
        }
        at.pointee = 0x2D; at = Self.writeDigits(month, width: 2, at + 1)
        at.pointee = 0x2D; at = Self.writeDigits(day, width: 2, at + 1)
        at.pointee = 0x54
        let ms = Int(msOfDay)
        at = Self.writeDigits(ms / 3_600_000, width: 2, at + 1)
        at.pointee = 0x3A; at = Self.writeDigits(ms / 60_000 % 60, width: 2, at + 1)
        at.pointee = 0x3A; at = Self.writeDigits(ms / 1000 % 60, width: 2, at + 1)
        at.pointee = 0x2E; at = Self.writeDigits(ms % 1000, width: 3, at + 1)
        at.pointee = 0x5A
        return at + 1 - out
    }

    package func appendISOString(to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.maxISOLength) { text in
            out.append(contentsOf: text[..<writeISOString(to: text.baseAddress!)])
        }
    }

    func appendISOString(to out: inout OutputBuffer) {
        out.appendUnsafe(maximum: Self.maxISOLength) { writeISOString(to: $0) }
    }

    /// Seconds since the Unix epoch.
    package var secondsSinceEpoch: Double { Double(millisecondsSinceEpoch) / 1000 }

    /// The `toISOString()` text, for tests and messages.
    package var isoString: String {
        var bytes: [UInt8] = []
        appendISOString(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes `value` in `width` digits, zero-padded; returns the position after them.
    @inline(__always)
    private static func writeDigits(_ value: Int, width: Int, _ at: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var rest = value
        var position = width
        while position > 0 {
            position -= 1
            at[position] = UInt8(truncatingIfNeeded: 0x30 + rest % 10)
            rest /= 10
        }
        return at + width
    }

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    /// Division rounding toward negative infinity, with a non-negative remainder.
    package func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        var q = self / divisor
        var r = self % divisor
        if r < 0 { q -= 1; r += divisor }
        return (q, r)
    }
}
