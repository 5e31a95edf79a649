import Foundation
import ProbeAgentCore
import ProbeEngine
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Raw sockets need CAP_NET_RAW; these tests skip with the reason when it is missing.
let haveRaw = geteuid() == 0
let rawReason: Comment = "needs root or CAP_NET_RAW (CI runs as root)"

func testEngine(maxInFlight: UInt32 = 65536, unprivileged: Bool = false) throws -> Engine {
    var o = Engine.Options()
    o.keepCapabilities = true // several engines per test process: do not drop our own caps
    o.maxInFlight = maxInFlight
    o.unprivileged = unprivileged
    return try Engine(options: o)
}

func v4(_ s: String) -> IPAddress { IPAddress(s)! }

/// A listening TCP socket on 127.0.0.1 with a kernel-chosen port; closed on deinit.
final class Listener {
    let fd: Int32
    let port: UInt16
    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &sa) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
                bind(fd, sp, len) == 0 && listen(fd, 128) == 0 && getsockname(fd, sp, &len) == 0
            }
        }
        port = UInt16(bigEndian: sa.sin_port)
        guard ok else { throw PrivateNetwork.Failure(description: "listener: \(errno)") }
    }
    deinit { close(fd) }
}

/// A TCP port on 127.0.0.1 with nothing listening (bound once by us, then released).
func closedPort() throws -> UInt16 {
    let l = try Listener()
    return l.port
}

func monotonicMs() -> Int64 { Int64(MonotonicClock.nanoseconds() / 1_000_000) }

func monotonicNanos() -> UInt64 { MonotonicClock.nanoseconds() }
