import CProbe

/// Why the engine refused a packet that was ours in shape: the first check it failed
/// (CProbe/match.c). Forged, late and duplicate answers end here, never in a result.
public enum ReplyRefusal: Int32, CaseIterable, Sendable, CustomStringConvertible {
    /// An echo reply whose identity names no probe in flight.
    case noProbe = 0
    /// An ICMP error quoting an identity (echo identifier:sequence, SYN) of no probe in flight.
    case quoteIdentityMismatch
    /// An ICMP error quoting a probe's identity with another destination.
    case quoteDestinationMismatch
    /// An echo reply or TCP answer from an address other than the probe's target.
    case peerMismatch
    /// The payload nonce of a reply, or of a quote long enough to carry it, differs.
    case nonceMismatch
    /// A SYN-ACK or RST whose acknowledgement names no SYN in flight.
    case tcpAckMismatch
    /// A TCP answer or quoted SYN with the right ISN and other ports.
    case tcpPortMismatch

    /// The metric label: `no_probe`, `quote_identity_mismatch`, … (cprobe_refusal_name).
    public var description: String { String(cString: cprobe_refusal_name(rawValue)) }
}

extension cprobe_stats {
    /// Packets refused for `reason` since the engine started.
    public func refused(_ reason: ReplyRefusal) -> UInt64 {
        withUnsafeBytes(of: refused) { $0.load(fromByteOffset: Int(reason.rawValue) * MemoryLayout<UInt64>.size, as: UInt64.self) }
    }
}
