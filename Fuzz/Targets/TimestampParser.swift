// Fuzz target `timestamp`: the input is one candidate RFC 3339 date-time. The tool's
// parser and formatter are compared with a slow reference written from the contract's
// grammar, which counts days year by year instead of using the civil-date formulas.

import Foundation
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTimestamp(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let parsed = input.withUnsafeBytes { Timestamp.parse($0) }
    let reference = ReferenceTimestamp(input)
    require(parsed?.millisecondsSinceEpoch == reference?.milliseconds,
            "parse gave \(String(describing: parsed)), the reference \(String(describing: reference))")
    guard let parsed, let reference else { return 0 }
    require(parsed.hadNumericOffset == reference.hadNumericOffset, "numeric offset flag")

    let formatted = parsed.isoString
    require(formatted == reference.isoString, "formatted \(formatted), the reference \(reference.isoString)")
    // What the tool writes is itself a date-time it reads back, when the year has 4 digits.
    if !formatted.hasPrefix("+") && !formatted.hasPrefix("-") {
        let again = Array(formatted.utf8).withUnsafeBytes { Timestamp.parse($0) }
        require(again?.millisecondsSinceEpoch == parsed.millisecondsSinceEpoch && again?.hadNumericOffset == false,
                "\(formatted) does not read back")
    }
    return 0
}

/// The contract's date-time, read position by position.
private struct ReferenceTimestamp: CustomStringConvertible {
    var milliseconds: Int64
    var hadNumericOffset: Bool

    var description: String { "\(milliseconds) ms, numeric offset \(hadNumericOffset)" }

    init?(_ text: [UInt8]) {
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= text.count else { return nil }
            var value = 0
            for byte in text[range] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        func byte(_ index: Int, in allowed: String) -> Bool {
            index < text.count && allowed.utf8.contains(text[index])
        }
        guard let year = number(0..<4), byte(4, in: "-"), let month = number(5..<7), byte(7, in: "-"),
              let day = number(8..<10), byte(10, in: "Tt"), let hour = number(11..<13), byte(13, in: ":"),
              let minute = number(14..<16), byte(16, in: ":"), let second = number(17..<19)
        else { return nil }
        var index = 19
        var fractionMilliseconds = 0
        if byte(index, in: ".") {
            index += 1
            var digits = 0
            while index < text.count, (0x30...0x39).contains(text[index]) {
                if digits < 3 { fractionMilliseconds = fractionMilliseconds * 10 + Int(text[index] - 0x30) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 3) { fractionMilliseconds *= 10 }
        }
        var offsetMinutes = 0
        if byte(index, in: "Zz") && index + 1 == text.count {
            hadNumericOffset = false
        } else if byte(index, in: "+-") {
            let sign = text[index] == 0x2B ? 1 : -1
            let rest = text.count - index - 1
            let offsetHour: Int?, offsetMinute: Int?
            if rest == 5 && byte(index + 3, in: ":") {
                (offsetHour, offsetMinute) = (number(index + 1..<index + 3), number(index + 4..<index + 6))
            } else if rest == 4 {
                (offsetHour, offsetMinute) = (number(index + 1..<index + 3), number(index + 3..<index + 5))
            } else {
                return nil
            }
            guard let offsetHour, let offsetMinute, offsetHour <= 23, offsetMinute <= 59 else { return nil }
            offsetMinutes = sign * (offsetHour * 60 + offsetMinute)
            hadNumericOffset = true
        } else {
            return nil
        }
        guard (1...12).contains(month), day >= 1, day <= Self.monthLengths(year)[month - 1],
              hour <= 23, minute <= 59, second <= 59 else { return nil }

        var days = 0
        if year >= 1970 {
            for y in 1970..<year { days += Self.yearLength(y) }
        } else {
            for y in year..<1970 { days -= Self.yearLength(y) }
        }
        days += Self.monthLengths(year)[..<(month - 1)].reduce(0, +) + day - 1
        let seconds = ((days * 24 + hour) * 60 + minute - offsetMinutes) * 60 + second
        milliseconds = Int64(seconds) * 1000 + Int64(fractionMilliseconds)
    }

    /// `Date.prototype.toISOString()`, from the milliseconds, counting days year by year.
    var isoString: String {
        var days = Int(milliseconds / 86_400_000)
        var rest = Int(milliseconds % 86_400_000)
        if rest < 0 { rest += 86_400_000; days -= 1 }
        var year = 1970
        while days < 0 { year -= 1; days += Self.yearLength(year) }
        while days >= Self.yearLength(year) { days -= Self.yearLength(year); year += 1 }
        var month = 1
        for length in Self.monthLengths(year) {
            if days < length { break }
            days -= length
            month += 1
        }
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let yearText = (0...9999).contains(year) ? pad(year, 4) : (year < 0 ? "-" : "+") + pad(abs(year), 6)
        return "\(yearText)-\(pad(month, 2))-\(pad(days + 1, 2))T\(pad(rest / 3_600_000, 2)):"
            + "\(pad(rest / 60_000 % 60, 2)):\(pad(rest / 1000 % 60, 2)).\(pad(rest % 1000, 3))Z"
    }

    static func yearLength(_ year: Int) -> Int { monthLengths(year).reduce(0, +) }

    static func monthLengths(_ year: Int) -> [Int] {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    }
}
