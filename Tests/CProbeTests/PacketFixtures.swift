// Packet construction helpers for the CProbe packet-layer tests: IPv4 / IPv6 / ICMP / TCP
// headers built byte by byte with correct checksums (via cprobe_checksum), and thin wrappers
// around the four C parsers.
import CProbe

// MARK: - Verdicts and kinds as Int32 / UInt8 (the C enums are anonymous)

let OK = Int32(CPROBE_PARSE_OK)
let FOREIGN = Int32(CPROBE_PARSE_FOREIGN)
let TRUNCATED = Int32(CPROBE_PARSE_TRUNCATED)
let BAD_CHECKSUM = Int32(CPROBE_PARSE_BAD_CHECKSUM)
let MALFORMED = Int32(CPROBE_PARSE_MALFORMED)

let ECHO_REPLY = UInt8(CPROBE_PKT_ECHO_REPLY)
let ICMP_ERROR = UInt8(CPROBE_PKT_ICMP_ERROR)
let TCP_SYNACK = UInt8(CPROBE_PKT_TCP_SYNACK)
let TCP_RST = UInt8(CPROBE_PKT_TCP_RST)

let KIND_ICMP = UInt8(CPROBE_KIND_ICMP)
let KIND_TCP_SYN = UInt8(CPROBE_KIND_TCP_SYN)

/// Documented wire constants (cprobe_packet.h), restated so the tests pin them.
let echoLen = 32
let tcpSynLen = 24

// MARK: - Fixture identities

enum Fx {
    static let sportBase: UInt16 = 40000
    static let ours = cprobe_ours(sport_base: sportBase, pad: 0)

    static let us4: [UInt8] = [192, 0, 2, 10]
    static let peer4: [UInt8] = [198, 51, 100, 7]
    static let router4: [UInt8] = [203, 0, 113, 1]
    static let us6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a]
    static let peer6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07]
    static let router6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]

    /// An echo request's keyed identity: identifier = token >> 16, sequence = token & 0xffff,
    /// and the payload carries token and nonce.
    static let token: UInt32 = 0x4003_1234
    static let nonce: UInt32 = 0xDEAD_BEEF
    static let tag: UInt32 = 0x7A67_A67A
    static let sendNs: UInt64 = 0x0102_0304_0506_0708
    static var ident: UInt16 { UInt16(token >> 16) }
    static var seq: UInt16 { UInt16(token & 0xffff) }

    /// TCP probe: the ISN is the token, the source port one of the 1024 from sportBase.
    static let isn: UInt32 = 0xA5B5_6789
    static let sport: UInt16 = sportBase + 0x189
    static let dport: UInt16 = 443
}

// MARK: - Byte helpers

func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
func rd16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) << 8 | UInt16(b[o + 1]) }
func rd32(_ b: [UInt8], _ o: Int) -> UInt32 {
    UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3])
}
func put16(_ b: inout [UInt8], _ o: Int, _ v: UInt16) { b[o] = UInt8(v >> 8); b[o + 1] = UInt8(v & 0xff) }

func checksum(_ bytes: [UInt8], sum: UInt32 = 0) -> UInt16 {
    bytes.withUnsafeBytes { cprobe_checksum($0.baseAddress, $0.count, sum) }
}

/// Pseudo-header bytes (RFC 793 for IPv4, RFC 8200 §8.1 for IPv6), built independently of
/// packet.c so a checksum that verifies here is a real cross-check.
func pseudoHeader(src: [UInt8], dst: [UInt8], proto: UInt8, length: Int) -> [UInt8] {
    if src.count == 4 {
        return src + dst + [0, proto] + be16(UInt16(length))
    }
    return src + dst + be32(UInt32(length)) + [0, 0, 0, proto]
}

/// Checksum of `segment` over the pseudo-header; 0 when the segment's checksum is right.
func verifyWithPseudo(_ segment: [UInt8], src: [UInt8], dst: [UInt8], proto: UInt8) -> UInt16 {
    checksum(pseudoHeader(src: src, dst: dst, proto: proto, length: segment.count) + segment)
}

/// Fill the 16-bit checksum at `at` so the (pseudo-header +) bytes sum to zero.
func withChecksum(_ bytes: [UInt8], at: Int, pseudo: [UInt8] = []) -> [UInt8] {
    var b = bytes
    put16(&b, at, 0)
    put16(&b, at, checksum(pseudo + b))
    return b
}

// MARK: - Header builders

/// IPv4 header (+ payload). `ihlWords` > 5 adds NOP options; `totalLength` overrides the field.
func ipv4(src: [UInt8], dst: [UInt8], proto: UInt8, payload: [UInt8], ihlWords: Int = 5,
          totalLength: Int? = nil, ttl: UInt8 = 64) -> [UInt8] {
    let hl = ihlWords * 4
    var h = [UInt8](repeating: 0, count: max(hl, 20))
    h[0] = 0x40 | UInt8(ihlWords & 0x0f)
    put16(&h, 2, UInt16(truncatingIfNeeded: totalLength ?? (hl + payload.count)))
    put16(&h, 4, 0x1c46) // identification
    h[6] = 0x40 // DF
    h[8] = ttl
    h[9] = proto
    h.replaceSubrange(12..<16, with: src)
    h.replaceSubrange(16..<20, with: dst)
    for i in 20..<h.count { h[i] = 1 } // NOP options
    h = withChecksum(h, at: 10)
    return h + payload
}

/// IPv6 header (+ payload).
func ipv6(src: [UInt8], dst: [UInt8], nextHeader: UInt8, payload: [UInt8], hopLimit: UInt8 = 64) -> [UInt8] {
    var h: [UInt8] = [0x60, 0, 0, 0]
    h += be16(UInt16(payload.count))
    h += [nextHeader, hopLimit]
    return h + src + dst + payload
}

/// Our echo request as cprobe_build_echo makes it.
func buildEcho(family: Int32, ident: UInt16 = Fx.ident, seq: UInt16 = Fx.seq, token: UInt32 = Fx.token,
               nonce: UInt32 = Fx.nonce, sendNs: UInt64 = Fx.sendNs) -> [UInt8] {
    var buf = [UInt8](repeating: 0xAA, count: 64)
    let n = buf.withUnsafeMutableBufferPointer {
        cprobe_build_echo($0.baseAddress, $0.count, family, ident, seq, token, nonce, Fx.tag, sendNs)
    }
    return Array(buf.prefix(n))
}

/// The echo reply a well-behaved peer sends back: our request with the type changed
/// (0 for ICMPv4, 129 for ICMPv6) and the checksum recomputed (ICMPv6 over `pseudo`).
func echoReply(family: Int32 = 4, ident: UInt16 = Fx.ident, seq: UInt16 = Fx.seq,
               token: UInt32 = Fx.token, nonce: UInt32 = Fx.nonce, pseudo6: (src: [UInt8], dst: [UInt8])? = nil) -> [UInt8] {
    var b = buildEcho(family: family, ident: ident, seq: seq, token: token, nonce: nonce)
    b[0] = family == 4 ? 0 : 129
    if family == 4 {
        return withChecksum(b, at: 2)
    }
    let p = pseudo6 ?? (src: Fx.peer6, dst: Fx.us6)
    return withChecksum(b, at: 2, pseudo: pseudoHeader(src: p.src, dst: p.dst, proto: 58, length: b.count))
}

/// A generic ICMP message: type, code, 4-byte rest-of-header, body; ICMPv4 checksum filled.
func icmp4(type: UInt8, code: UInt8 = 0, rest: [UInt8] = [0, 0, 0, 0], body: [UInt8]) -> [UInt8] {
    withChecksum([type, code, 0, 0] + rest + body, at: 2)
}

/// ICMPv6 message with its checksum over the pseudo-header src -> dst.
func icmp6(type: UInt8, code: UInt8 = 0, rest: [UInt8] = [0, 0, 0, 0], body: [UInt8],
           src: [UInt8] = Fx.router6, dst: [UInt8] = Fx.us6) -> [UInt8] {
    let b = [type, code, 0, 0] + rest + body
    return withChecksum(b, at: 2, pseudo: pseudoHeader(src: src, dst: dst, proto: 58, length: b.count))
}

/// A TCP segment with pseudo-header checksum. `doffWords` overrides the data offset field.
func tcp(src: [UInt8], dst: [UInt8], sport: UInt16, dport: UInt16, seq: UInt32, ack: UInt32,
         flags: UInt8, options: [UInt8] = [], doffWords: Int? = nil, payload: [UInt8] = []) -> [UInt8] {
    var h = be16(sport) + be16(dport) + be32(seq) + be32(ack)
    let words = doffWords ?? (20 + options.count) / 4
    h += [UInt8((words & 0x0f) << 4), flags]
    h += be16(65535) + [0, 0] + [0, 0]
    h += options + payload
    return withChecksum(h, at: 16, pseudo: pseudoHeader(src: src, dst: dst, proto: 6, length: h.count))
}

let FIN: UInt8 = 0x01, SYN: UInt8 = 0x02, RST: UInt8 = 0x04, PSH: UInt8 = 0x08, ACK: UInt8 = 0x10

/// A SYN-ACK from the probed peer to our probe port (IPv4 packet or IPv6 segment).
func synAck4(flags: UInt8 = SYN | ACK, dport: UInt16 = Fx.sport, ack: UInt32 = Fx.isn &+ 1,
             doffWords: Int? = nil, totalLength: Int? = nil) -> [UInt8] {
    let seg = tcp(src: Fx.peer4, dst: Fx.us4, sport: Fx.dport, dport: dport, seq: 0x1111_2222, ack: ack,
                  flags: flags, options: [2, 4, 0x05, 0xb4], doffWords: doffWords)
    return ipv4(src: Fx.peer4, dst: Fx.us4, proto: 6, payload: seg, totalLength: totalLength)
}

func synAck6(flags: UInt8 = SYN | ACK, dport: UInt16 = Fx.sport, ack: UInt32 = Fx.isn &+ 1,
             doffWords: Int? = nil) -> [UInt8] {
    tcp(src: Fx.peer6, dst: Fx.us6, sport: Fx.dport, dport: dport, seq: 0x1111_2222, ack: ack,
        flags: flags, options: [2, 4, 0x05, 0xa0], doffWords: doffWords)
}

/// Our TCP SYN as cprobe_build_tcp_syn makes it.
func buildSyn(family: Int32, src: [UInt8], dst: [UInt8], sport: UInt16 = Fx.sport,
              dport: UInt16 = Fx.dport, isn: UInt32 = Fx.isn) -> [UInt8] {
    var buf = [UInt8](repeating: 0xAA, count: 64)
    let n = buf.withUnsafeMutableBufferPointer { b in
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeBufferPointer { d in
                cprobe_build_tcp_syn(b.baseAddress, b.count, family, s.baseAddress, d.baseAddress, sport, dport, isn)
            }
        }
    }
    return Array(buf.prefix(n))
}

// MARK: - Parser wrappers

func bytes16(_ t: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                   UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)) -> [UInt8] {
    withUnsafeBytes(of: t) { Array($0) }
}

extension cprobe_parsed {
    var peerBytes: [UInt8] { bytes16(peer) }
    var reporterBytes: [UInt8] { bytes16(reporter) }
    var peer4: [UInt8] { Array(peerBytes.prefix(4)) }
    var reporter4: [UInt8] { Array(reporterBytes.prefix(4)) }
}

/// Every parser call copies the input into an exactly-sized heap buffer so that the pointer
/// is never nil (even for length 0) and nothing past `count` belongs to the packet.
func withExactBuffer<R>(_ pkt: [UInt8], _ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(pkt.count, 1))
    defer { p.deallocate() }
    p.initialize(repeating: 0, count: max(pkt.count, 1))
    for (i, b) in pkt.enumerated() { p[i] = b }
    return body(UnsafePointer(p), pkt.count)
}

func withOptAddr<R>(_ a: [UInt8]?, _ body: (UnsafePointer<UInt8>?) -> R) -> R {
    guard let a else { return body(nil) }
    return a.withUnsafeBufferPointer { body($0.baseAddress) }
}

func parseICMP4(_ pkt: [UInt8], ipHeader: Bool = true, src: [UInt8]? = nil,
                ours: cprobe_ours = Fx.ours) -> (Int32, cprobe_parsed) {
    var out = cprobe_parsed()
    var o = ours
    let r = withExactBuffer(pkt) { p, n in
        withOptAddr(src) { s in cprobe_parse_icmp4(p, n, ipHeader ? 1 : 0, s, &o, &out) }
    }
    return (r, out)
}

func parseICMP6(_ pkt: [UInt8], src: [UInt8]? = Fx.peer6, dst: [UInt8]? = nil, verify: Bool = false,
                kernelIdent: Bool = false, ours: cprobe_ours = Fx.ours) -> (Int32, cprobe_parsed) {
    var out = cprobe_parsed()
    var o = ours
    let r = withExactBuffer(pkt) { p, n in
        withOptAddr(src) { s in
            withOptAddr(dst) { d in cprobe_parse_icmp6(p, n, s, d, verify ? 1 : 0, kernelIdent ? 1 : 0, &o, &out) }
        }
    }
    return (r, out)
}

func parseTCP4(_ pkt: [UInt8], ours: cprobe_ours = Fx.ours) -> (Int32, cprobe_parsed) {
    var out = cprobe_parsed()
    var o = ours
    let r = withExactBuffer(pkt) { p, n in cprobe_parse_tcp4(p, n, &o, &out) }
    return (r, out)
}

func parseTCP6(_ pkt: [UInt8], src: [UInt8]? = Fx.peer6, dst: [UInt8]? = Fx.us6,
               ours: cprobe_ours = Fx.ours) -> (Int32, cprobe_parsed) {
    var out = cprobe_parsed()
    var o = ours
    let r = withExactBuffer(pkt) { p, n in
        withOptAddr(src) { s in withOptAddr(dst) { d in cprobe_parse_tcp6(p, n, s, d, &o, &out) } }
    }
    return (r, out)
}

// MARK: - Composite packets

/// An ICMPv4 error from the router quoting `quoted` (inner IP header + transport bytes).
func icmp4Error(type: UInt8 = 3, code: UInt8 = 1, quoting quoted: [UInt8]) -> [UInt8] {
    ipv4(src: Fx.router4, dst: Fx.us4, proto: 1, payload: icmp4(type: type, code: code, body: quoted))
}

/// The datagram we sent, as an ICMP error quotes it.
func sentEcho4(quoteBytes: Int = echoLen) -> [UInt8] {
    let echo = Array(buildEcho(family: 4).prefix(quoteBytes))
    return ipv4(src: Fx.us4, dst: Fx.peer4, proto: 1, payload: echo, totalLength: 20 + echoLen, ttl: 1)
}

func sentSyn4(sport: UInt16 = Fx.sport) -> [UInt8] {
    ipv4(src: Fx.us4, dst: Fx.peer4, proto: 6,
         payload: buildSyn(family: 4, src: Fx.us4, dst: Fx.peer4, sport: sport), ttl: 1)
}

func sentEcho6(quoteBytes: Int = echoLen) -> [UInt8] {
    ipv6(src: Fx.us6, dst: Fx.peer6, nextHeader: 58, payload: Array(buildEcho(family: 6).prefix(quoteBytes)), hopLimit: 1)
}

func sentSyn6(sport: UInt16 = Fx.sport) -> [UInt8] {
    ipv6(src: Fx.us6, dst: Fx.peer6, nextHeader: 6,
         payload: buildSyn(family: 6, src: Fx.us6, dst: Fx.peer6, sport: sport), hopLimit: 1)
}
