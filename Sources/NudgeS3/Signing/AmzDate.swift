import NudgeCore

/// The instant a request is signed at, in Signature V4's two spellings.
package struct AmzDate: Sendable, Equatable {
    /// `YYYYMMDD'T'HHMMSS'Z'`, the `X-Amz-Date` header.
    package var dateTime: String
    /// `YYYYMMDD`, the credential scope's date.
    package var date: String { String(dateTime.prefix(8)) }

    /// The instant `timestamp`, to the second.
    package init(_ timestamp: Timestamp) {
        var iso: [UInt8] = []
        Timestamp(millisecondsSinceEpoch: timestamp.millisecondsSinceEpoch).appendISOString(to: &iso)
        // 2015-08-30T12:36:00.000Z → 20150830T123600Z
        let kept = iso.prefix(19).filter { $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: ":") }
        dateTime = String(decoding: kept, as: UTF8.self) + "Z"
    }

    /// Reads `YYYYMMDD'T'HHMMSS'Z'`.
    package init?(_ dateTime: String) {
        let bytes = Array(dateTime.utf8)
        let digits = bytes.indices.filter { $0 != 8 && $0 != 15 }
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z"),
              digits.allSatisfy({ bytes[$0] &- UInt8(ascii: "0") < 10 }) else { return nil }
        self.dateTime = dateTime
    }
}
