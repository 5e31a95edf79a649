import Testing
@testable import ProbeAgentCore

@Suite("remote_write delivery options")
struct RemoteWriteConfigTests {
    static func yaml(_ extra: String) -> String {
        """
        monitors:
          - id: a
            protocol: icmp
            targets: [127.0.0.1]
        remote_write:
          url: http://127.0.0.1:9090/api/v1/write
        \(extra)
        """
    }

    @Test func parsesTimeoutBackfillRateAndFreshFirst() throws {
        let onFailure = "spill:\n  mode: on_failure\n"
        let c = try AgentConfig.load(yaml: onFailure + Self.yaml("  timeout: 5s\n  backfill_rate: 500\n  fresh_first: true"), file: "a.yaml")
        #expect(c.remoteWrite.first?.timeout == .seconds(5))
        #expect(c.remoteWrite.first?.backfillRate == 500)
        #expect(c.remoteWrite.first?.freshFirst == true)
        let d = try AgentConfig.load(yaml: Self.yaml(""), file: "a.yaml")
        #expect(d.remoteWrite.first?.freshFirst == false && d.remoteWrite.first?.backfillRate == 20_000)
        #expect(d.spill.mode == .writeAhead && c.spill.mode == .onFailure)
    }

    @Test func freshFirstNeedsOnFailureModeAndModeIsChecked() {
        let errors = configErrors(Self.yaml("  fresh_first: true"))
        #expect(errors.contains { $0.line == 7 && $0.message.contains("remote_write.fresh_first needs spill.mode: on_failure") }, "\(errors)")
        let bad = configErrors("spill:\n  mode: sometimes\n" + Self.yaml(""))
        #expect(bad.contains { $0.line == 2 && $0.message.contains("unknown spill.mode 'sometimes'; expected write_ahead or on_failure") }, "\(bad)")
        let stall = configErrors(Self.yaml("  stall_timeout: 500ms"))
        #expect(stall.contains { $0.message.contains("remote_write.stall_timeout must be at least 1s") }, "\(stall)")
    }

    @Test func rejectsBadValuesWithPositions() {
        let errors = configErrors(Self.yaml("  fresh_first: yes\n  backfill_rate: 0\n  timeout: soon"))
        #expect(errors.contains { $0.line == 7 && $0.message.contains("expected true or false for remote_write.fresh_first") })
        #expect(errors.contains { $0.line == 8 && $0.message.contains("remote_write.backfill_rate 0 is out of range") })
        #expect(errors.contains { $0.line == 9 && $0.message.contains("invalid duration 'soon'") })
    }
}
