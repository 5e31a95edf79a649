import Testing
@testable import ProbeAgentCore

@Suite("LogLine: one event, one line")
struct LogLineTests {
    // 2026-11-22T12:07:03.045Z
    static let time: Int64 = 1_795_349_223_045

    @Test func journalLinesCarryThePriorityAndNoTimestamp() {
        let line = LogLine.render(.journal, level: .warning, message: "monitor a down", unixMilliseconds: Self.time)
        #expect(line == "<4>monitor a down")
    }

    @Test func plainLinesCarryTimestampAndLevel() {
        let line = LogLine.render(.plain, level: .info, message: "engine up", unixMilliseconds: Self.time)
        #expect(line == "2026-11-22T12:07:03.045Z info engine up")
    }

    @Test func everyLevelMapsToItsSyslogPriority() {
        let expected: [LogLevel: Int] = [.trace: 7, .debug: 7, .info: 6, .notice: 5, .warning: 4, .error: 3, .critical: 2]
        for level in LogLevel.allCases {
            #expect(LogLine.syslogPriority(level) == expected[level], "\(level)")
            #expect(LogLine.render(.journal, level: level, message: "x", unixMilliseconds: 0) == "<\(expected[level]!)>x")
        }
    }

    @Test func lineBreaksAndControlCharactersAreEscaped() {
        let line = LogLine.render(.journal, level: .error, message: "a\nb\r\nc\u{1b}[31m\tend", unixMilliseconds: 0)
        #expect(line == "<3>a\\nb\\r\\nc\\x1b[31m\tend")
        #expect(!line.contains("\n") && !line.contains("\r"))
    }

    @Test func metadataIsKeyValueQuotedWhenNeeded() {
        let line = LogLine.render(.plain, level: .notice, message: "reloaded", metadata: [
            ("monitors", "3"), ("file", "/etc/probe-agent/agent.yaml"), ("reason", "file changed"),
            ("quote", "say \"hi\"\nbye"), ("empty", ""), ("eq", "a=b"),
        ], unixMilliseconds: Self.time)
        #expect(line == "2026-11-22T12:07:03.045Z notice reloaded monitors=3 file=/etc/probe-agent/agent.yaml "
            + "reason=\"file changed\" quote=\"say \\\"hi\\\"\\nbye\" empty=\"\" eq=\"a=b\"")
    }

    @Test func unicodeSurvivesUntouched() {
        let line = LogLine.render(.journal, level: .info, message: "RTT 12 µs → ok", unixMilliseconds: 0)
        #expect(line == "<6>RTT 12 µs → ok")
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (Int64(951_782_400_999), "2000-02-29T00:00:00.999Z"),        // leap day of a century leap year
        (Int64(4_107_542_399_000), "2100-02-28T23:59:59.000Z"),      // 2100 is no leap year
        (Int64(4_107_542_400_000), "2100-03-01T00:00:00.000Z"),
        (Int64(-1), "1969-12-31T23:59:59.999Z"),
        (Int64(253_402_300_799_123), "9999-12-31T23:59:59.123Z"),
    ])
    func timestampsAreUTCCivilDates(millis: Int64, expected: String) {
        #expect(LogLine.iso8601UTC(unixMilliseconds: millis) == expected)
    }
}
