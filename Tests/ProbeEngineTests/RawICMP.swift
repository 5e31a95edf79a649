import CProbe
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A raw ICMPv4 socket the tests use to watch the engine's requests and to forge replies.
/// Only ever used inside a PrivateNetwork namespace, to 127.0.0.1.
final class RawICMP {
    let fd: Int32

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue), Int32(IPPROTO_ICMP))
        guard fd >= 0 else { throw PrivateNetwork.Failure(description: "raw socket: \(errno)") }
    }
    deinit { close(fd) }

    /// Waits (bounded) for the next echo request and returns its ICMP bytes (IP header stripped).
    func nextEchoRequest(timeoutMs: Int64 = 2000) -> [UInt8]? {
        let until = monotonicMs() + timeoutMs
        var buf = [UInt8](repeating: 0, count: 1500)
        while monotonicMs() < until {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { usleep(1000); continue }
            let ihl = Int(buf[0] & 0x0f) * 4
            if n > ihl + 8 && buf[ihl] == 8 { return Array(buf[ihl..<n]) }
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
