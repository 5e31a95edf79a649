/// How a probe's packets are shaped: the options of a monitor (`ttl`, `tos`/`dscp`, `size`,
/// `dont_fragment`), of `agentctl probe` (fping's `-H`, `-O`, `-b`, `-M`, `-S`, `-I`) and of a
/// trace (a TTL per hop and a constant flow). All zero/false/nil is the default probe, which the engine
/// sends with no control message at all.
public struct PacketOptions: Sendable, Hashable, Codable {
    /// IPv4 TTL / IPv6 hop limit; 0: the kernel's default.
    public var ttl: UInt8
    /// IPv4 TOS / IPv6 traffic class byte: DSCP << 2 | ECN; 0: none.
    public var tos: UInt8
    /// ICMP echo payload bytes (``minimumSize``...``maximumSize``); 0: the minimum.
    public var size: UInt16
    /// Set DF and never fragment (ICMP with raw sockets only): a probe over a link's MTU ends
    /// as `fragmentation_needed` with that MTU.
    public var dontFragment: Bool
    /// Keep the fields per-flow load balancers hash constant for every probe with this flow
    /// (Paris traceroute): the ICMP identifier and checksum, the TCP source port.
    public var flow: UInt16?
    /// Send from this address (one of the host's, of the target's family); nil: the route's.
    public var source: IPAddress?
    /// Leave by this interface (its index); 0: the route's.
    public var interfaceIndex: UInt32

    /// Our echo payload (magic, token, nonce, tag, send time): the smallest size.
    public static let minimumSize: UInt16 = 24
    /// A reply must fit one of the engine's receive buffers.
    public static let maximumSize: UInt16 = 1600

    public static let none = PacketOptions()

    public init(ttl: UInt8 = 0, tos: UInt8 = 0, size: UInt16 = 0, dontFragment: Bool = false, flow: UInt16? = nil,
                source: IPAddress? = nil, interfaceIndex: UInt32 = 0) {
        self.ttl = ttl
        self.tos = tos
        self.size = size
        self.dontFragment = dontFragment
        self.flow = flow
        self.source = source
        self.interfaceIndex = interfaceIndex
    }

    public var isDefault: Bool { self == .none }
}
