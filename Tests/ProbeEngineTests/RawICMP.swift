import CProbe
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A raw IPv4 socket (ICMP, or TCP) the tests use to watch the engine's requests and to forge
/// answers. Only ever used inside a PrivateNetwork namespace, to 127.0.0.1.
final class RawICMP {
    let fd: Int32

    /// - Parameters:
    ///   - source: the address forged packets come from (a loopback address; default 127.0.0.1).
    ///   - proto: IPPROTO_ICMP, or IPPROTO_TCP to watch SYNs and forge TCP answers.
    init(source: String? = nil, proto: Int32 = Int32(IPPROTO_ICMP)) throws {
        fd = socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue), proto)
        guard fd >= 0 else { throw PrivateNetwork.Failure(description: "raw socket: \(errno)") }
        var ttl: Int32 = 99 // not the kernel's 64: a PrivateNetwork nft rule may drop the kernel's own RSTs
        setsockopt(fd, Int32(IPPROTO_IP), IP_TTL, &ttl, socklen_t(MemoryLayout<Int32>.size))
        if let source {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_addr.s_addr = inet_addr(source)
            let rc = withUnsafePointer(to: &sa) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else { close(fd); throw PrivateNetwork.Failure(description: "bind \(source): \(errno)") }
        }
    }
    deinit { close(fd) }

    /// Waits (bounded) for the next TCP SYN and returns its TCP header bytes (IP header stripped).
    func nextSyn(timeoutMs: Int64 = 2000) -> [UInt8]? {
        nextPacket(timeoutMs: timeoutMs) { p in p.count >= 20 && p[13] & 0x12 == 0x02 }
    }

    /// Waits (bounded) for the next echo request and returns its ICMP bytes (IP header stripped).
    func nextEchoRequest(timeoutMs: Int64 = 2000) -> [UInt8]? {
        nextPacket(timeoutMs: timeoutMs) { p in p.count > 8 && p[0] == 8 }
    }

    /// Waits (bounded) for the next IPv4 packet whose payload (IP header stripped) matches.
    private func nextPacket(timeoutMs: Int64, where matches: ([UInt8]) -> Bool) -> [UInt8]? {
        let until = monotonicMs() + timeoutMs
        var buf = [UInt8](repeating: 0, count: 1500)
        while monotonicMs() < until {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { usleep(1000); continue }
            let ihl = Int(buf[0] & 0x0f) * 4
            guard n > ihl else { continue }
            let payload = Array(buf[ihl..<n])
            if matches(payload) { return payload }
        }
        return nil
    }

    /// Sends `icmp` (type/checksum as given) to 127.0.0.1.
    func send(_ icmp: [UInt8]) {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &sa) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
                icmp.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sp, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
    }

    /// A TCP segment (checksum over the pseudo-header 127.0.0.1 -> 127.0.0.1, or `from`).
    static func tcp(sport: UInt16, dport: UInt16, ack: UInt32, flags: UInt8, from: [UInt8] = [127, 0, 0, 1]) -> [UInt8] {
        var t = [UInt8](repeating: 0, count: 20)
        t[0] = UInt8(sport >> 8); t[1] = UInt8(sport & 0xff)
        t[2] = UInt8(dport >> 8); t[3] = UInt8(dport & 0xff)
        t[4] = 0x11; t[5] = 0x11; t[6] = 0x22; t[7] = 0x22
        for i in 0..<4 { t[8 + i] = UInt8(truncatingIfNeeded: ack >> (24 - 8 * UInt32(i))) }
        t[12] = 5 << 4
        t[13] = flags
        t[14] = 0xff; t[15] = 0xff
        let pseudo = from + [127, 0, 0, 1, 0, 6, 0, 20]
        let sum = (pseudo + t).withUnsafeBytes { cprobe_checksum($0.baseAddress, $0.count, 0) }
        t[16] = UInt8(sum >> 8); t[17] = UInt8(sum & 0xff)
        return t
    }

    /// An ICMPv4 error (type/code) quoting `ipHeader` + `quoted` transport bytes, checksummed.
    static func error(type: UInt8, code: UInt8, quoting datagram: [UInt8]) -> [UInt8] {
        withChecksum([type, code, 0, 0, 0, 0, 0, 0] + datagram)
    }

    /// The IPv4 header our request to `dst` had, followed by `transport` (as an error quotes it).
    static func quote(dst: [UInt8], proto: UInt8, transport: [UInt8]) -> [UInt8] {
        var h: [UInt8] = [0x45, 0, 0, UInt8(20 + transport.count), 0, 0, 0x40, 0, 1, proto, 0, 0, 127, 0, 0, 1] + dst
        let sum = h.withUnsafeBytes { cprobe_checksum($0.baseAddress, $0.count, 0) }
        h[10] = UInt8(sum >> 8); h[11] = UInt8(sum & 0xff)
        return h + transport
    }

    /// The echo reply a well-behaved host would send for `request`.
    static func reply(to request: [UInt8]) -> [UInt8] {
        var r = request
        r[0] = 0
        return withChecksum(r)
    }

    static func withChecksum(_ p: [UInt8]) -> [UInt8] {
        var r = p
        r[2] = 0; r[3] = 0
        let sum = r.withUnsafeBytes { cprobe_checksum($0.baseAddress, $0.count, 0) }
        r[2] = UInt8(sum >> 8); r[3] = UInt8(sum & 0xff)
        return r
    }
}
