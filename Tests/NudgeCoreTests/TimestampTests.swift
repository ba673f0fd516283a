import NudgeTestSupport
import Testing
@testable import NudgeCore

@Suite struct TimestampTests {
    func iso(_ text: String) -> String? {
        Array(text.utf8).withUnsafeBytes { Timestamp.parse($0) }?.isoString
    }

    /// Expected values printed by node: `new Date(s).toISOString()`.
    @Test(arguments: [
        ("2025-05-14T09:30:00+02:00", "2025-05-14T07:30:00.000Z"),
        ("0000-01-01T00:30:00+01:00", "-000001-12-31T23:30:00.000Z"),
        ("9999-12-31T23:30:00-01:00", "+010000-01-01T00:30:00.000Z"),
        ("2016-02-29T23:59:59.9999-0130", "2016-03-01T01:29:59.999Z"),
        ("2015-12-12T19:11:01.249Z", "2015-12-12T19:11:01.249Z"),
        ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"),
        ("1900-03-01T00:00:00.5Z", "1900-03-01T00:00:00.500Z"),
        ("2018-09-05T23:05:25.862826965Z", "2018-09-05T23:05:25.862Z"),
        ("2000-02-29t12:00:00z", "2000-02-29T12:00:00.000Z"),
        ("2024-06-30T23:59:59+23:59", "2024-06-30T00:00:59.000Z"),
        ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000Z"),
    ])
    func parsesAndFormatsLikeJavaScript(input: String, expected: String) {
        #expect(iso(input) == expected)
    }

    @Test(arguments: [
        "2100-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-00-10T00:00:00Z", "2024-13-10T00:00:00Z",
        "2024-01-00T00:00:00Z", "2024-01-01T00:00:00+2400", "2024-01-01T00:00:00+00:0", "2024-01-01T00:00:00+00:000",
        "2024-01-01T00:00:00.123", "2024-01-01", "2024-01-01T00:00Z", "+2024-01-01T00:00:00Z", "2024-01-01T00:00:00.1.2Z",
        "2024-01-01T00:00:00 Z", "２０２４-01-01T00:00:00Z", "",
    ])
    func rejects(_ input: String) {
        #expect(iso(input) == nil)
    }

    @Test func numericOffsetsAreMarked() {
        let zulu = Array("2024-01-01T00:00:00Z".utf8).withUnsafeBytes { Timestamp.parse($0) }
        let offset = Array("2024-01-01T00:00:00+00:00".utf8).withUnsafeBytes { Timestamp.parse($0) }
        #expect(zulu?.hadNumericOffset == false)
        #expect(offset?.hadNumericOffset == true)
        #expect(zulu?.millisecondsSinceEpoch == offset?.millisecondsSinceEpoch)
    }

    /// Every day from 1600 to 2400 round-trips through the calendar arithmetic.
    @Test func calendarArithmeticRoundTrips() {
        var days = Timestamp.daysFromCivil(year: 1600, month: 1, day: 1)
        for year in 1600...2400 {
            for month in 1...12 {
                for day in 1...Timestamp.daysIn(month: month, year: year) {
                    #expect(Timestamp.daysFromCivil(year: year, month: month, day: day) == days)
                    let civil = Timestamp.civilFromDays(days)
                    if civil.year != year || civil.month != month || civil.day != day {
                        Issue.record("\(year)-\(month)-\(day) came back as \(civil)")
                        return
                    }
                    days += 1
                }
            }
        }
    }
}
