#if canImport(Glibc)
import Glibc
#endif

/// The ICMP error that ended a probe, as the ledger keeps it for the status file and
/// `agentctl monitors --monitor ID`: what was said, and which router said it.
public struct ICMPReport: Sendable, Hashable, Codable {
    public var type: UInt8
    public var code: UInt8
    /// The router (or the target) that sent it; nil for a local error (a send refused with
    /// EMSGSIZE: the packet does not fit this host's own link).
    public var reporter: IPAddress?
    /// The next-hop MTU of `fragmentation_needed`, when the router said it.
    public var mtu: UInt32?

    public init(type: UInt8, code: UInt8, reporter: IPAddress?, mtu: UInt32?) {
        (self.type, self.code, self.reporter, self.mtu) = (type, code, reporter, mtu)
    }
}

extension ProbeResult {
    /// How the ledger and the store count the result: the engine's status, with its ICMP
    /// errors told apart — time exceeded (v4 type 11, v6 type 3) is `ttl_exceeded`,
    /// fragmentation needed (v4 type 3 code 4) / packet too big (v6 type 2) and a local
    /// EMSGSIZE are `fragmentation_needed`, every other error `unreachable`.
    public var outcome: ProbeOutcome {
        switch status {
        case .unreachable:
            switch (reporter?.family, icmpType, icmpCode) {
            case (4, 11, _), (6, 3, _): .ttlExceeded
            case (4, 3, 4), (6, 2, _): .fragmentationNeeded
            default: .unreachable
            }
        case .error where errno == EMSGSIZE: .fragmentationNeeded
        default: status.outcome
        }
    }

    /// The ICMP error behind an `unreachable`, `ttl_exceeded` or `fragmentation_needed`
    /// result; nil for every other result (and for a local unreachable: no route here).
    public var icmpReport: ICMPReport? {
        switch status {
        case .unreachable where reporter != nil:
            ICMPReport(type: icmpType, code: icmpCode, reporter: reporter, mtu: mtu == 0 ? nil : mtu)
        case .error where errno == EMSGSIZE:
            ICMPReport(type: 0, code: 0, reporter: nil, mtu: nil)
        default: nil
        }
    }
}
