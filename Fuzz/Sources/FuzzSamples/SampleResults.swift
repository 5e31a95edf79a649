import Foundation
import ProbeAgentCore
import ResultBlocks

/// Probe results for seeds, the same on every run: every protocol and outcome, with and
/// without RTT and labels, some with non-ASCII text and extreme values.
public enum SampleResults {
    public static func records() -> [ResultRecord] {
        var out: [ResultRecord] = []
        for (i, proto) in ProbeProtocol.allCases.enumerated() {
            for (j, outcome) in ProbeOutcome.allCases.enumerated() {
                let n = i * ProbeOutcome.allCases.count + j
                out.append(ResultRecord(
                    monitorID: "m\(n % 3)", target: n % 2 == 0 ? "198.18.1.\(n)" : "2001:db8::\(n)", probeProtocol: proto,
                    outcome: outcome, suppressed: outcome != .ok && n % 4 == 1,
                    rttNanoseconds: outcome == .ok ? UInt64(250_000 + 1000 * n) : nil,
                    timestampMilliseconds: 1_700_000_000_000 + Int64(n) * 3000,
                    labels: n % 3 == 0 ? [] : [("site", "fra\(n % 2)"), ("team", "net")]))
            }
        }
        out.append(ResultRecord(monitorID: "", target: "", probeProtocol: .icmp, outcome: .ok, suppressed: false,
                                rttNanoseconds: .max, timestampMilliseconds: .min, labels: [("", "")]))
        out.append(ResultRecord(monitorID: "édge-µ", target: "host.example", probeProtocol: .tcpConnect,
                                outcome: .unresolved, suppressed: true, rttNanoseconds: 0,
                                timestampMilliseconds: .max, labels: [("z", "😀"), ("a", "\u{0}")]))
        return out
    }


    /// `records` as spill-log payloads: result blocks of 1, 3 and all of them, and one result
    /// in the single-record encoding of earlier versions.
    public static func payloads() throws -> [[UInt8]] {
        let all = records()
        var out: [[UInt8]] = []
        for slice in [all[0..<1], all[3..<6], all[...]] {
            out.append([UInt8](try ResultBlock.encode(slice)[0].payload))
        }
        out.append(all[2].encoded())
        return out
    }
}
