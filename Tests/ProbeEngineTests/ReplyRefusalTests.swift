import CProbe
import Testing
import ProbeAgentCore
@testable import ProbeEngine

@Suite("ReplyRefusal mirrors CPROBE_REFUSAL_*")
struct ReplyRefusalTests {
    @Test("one case per C reason, same order, the C names as labels")
    func casesAndNames() {
        #expect(ReplyRefusal.allCases.count == Int(CPROBE_REFUSAL_COUNT))
        #expect(ReplyRefusal.allCases.map(\.rawValue) == Array(0..<Int32(CPROBE_REFUSAL_COUNT)))
        #expect(ReplyRefusal.allCases.map(\.description) == [
            "no_probe", "quote_identity_mismatch", "quote_dst_mismatch", "peer_mismatch", "nonce_mismatch",
            "tcp_ack_mismatch", "tcp_port_mismatch",
        ])
        #expect(cprobe_refusal_name(Int32(CPROBE_REFUSAL_COUNT)) == nil)
        #expect(ReplyRefusal(rawValue: Int32(CPROBE_REFUSAL_TCP_PORT)) == .tcpPortMismatch)
    }

    @Test("stats.refused(_:) reads the C array by reason")
    func statsAccessor() {
        var s = cprobe_stats()
        withUnsafeMutableBytes(of: &s.refused) { raw in
            for i in 0..<Int(CPROBE_REFUSAL_COUNT) { raw.storeBytes(of: UInt64(100 + i), toByteOffset: i * 8, as: UInt64.self) }
        }
        for r in ReplyRefusal.allCases { #expect(s.refused(r) == UInt64(100 + Int(r.rawValue))) }
    }
}
