/// Why a line is not strict JSON (RFC 8259) in UTF-8.
package struct JSONSyntaxError: Error, Equatable, Sendable {
    package enum Problem: Equatable, Sendable {
        case unexpectedEnd
        case unexpectedByte(UInt8)
        case invalidUTF8
        case controlCharacterInString(UInt8)
        case invalidEscape
        case loneSurrogate
        case invalidNumber
        case invalidLiteral
        case expectedKey
        case expectedColon
        case expectedCommaOrEnd
        case trailingContent
        case tooDeep(limit: Int)
    }

    /// Byte offset in the line where the problem was found.
    package var offset: Int
    package var problem: Problem

    /// One line for a person: what is wrong and where.
    package var detail: String {
        let what: String
        switch problem {
        case .unexpectedEnd: what = "the line ends inside a JSON value"
        case .unexpectedByte(let byte): what = "unexpected \(Self.describe(byte)) where a JSON value should start"
        case .invalidUTF8: what = "invalid UTF-8 byte sequence"
        case .controlCharacterInString(let byte): what = "unescaped control character \(Self.describe(byte)) in a string"
        case .invalidEscape: what = "invalid backslash escape in a string"
        case .loneSurrogate: what = "\\u escape of a lone UTF-16 surrogate"
        case .invalidNumber: what = "invalid number (JSON numbers have no leading zeros, `+`, NaN or Infinity)"
        case .invalidLiteral: what = "invalid literal (only true, false and null)"
        case .expectedKey: what = "expected a quoted object key"
        case .expectedColon: what = "expected ':' after an object key"
        case .expectedCommaOrEnd: what = "expected ',' or the end of the object or array (no trailing commas or comments)"
        case .trailingContent: what = "unexpected content after the JSON value"
        case .tooDeep(let limit): what = "nesting deeper than \(limit) levels"
        }
        return "not valid JSON at byte \(offset): \(what)"
    }

    static func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
    }
}
