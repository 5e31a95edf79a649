import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` on a fresh thread inside a network namespace of its own (unshare(CLONE_NEWNET)
/// affects only the calling thread): just a loopback interface, no links, so nothing sent
/// there can leave it. Sysctls under /proc/sys/net written from that thread apply to that
/// namespace only. Needs CAP_SYS_ADMIN (root in CI).
// Glibc's header declares unshare() only under _GNU_SOURCE, which Swift's import does not set.
@_silgen_name("unshare") private func c_unshare(_ flags: Int32) -> Int32
@_silgen_name("setns") private func c_setns(_ fd: Int32, _ nstype: Int32) -> Int32
private let cloneNewNet: Int32 = 0x4000_0000 // CLONE_NEWNET

struct PrivateNetwork {
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// Sets a per-namespace sysctl, e.g. `set("net/ipv4/icmp_echo_ignore_all", "1")`.
    func set(_ key: String, _ value: String) throws {
        let path = "/proc/sys/\(key)"
        guard let fh = FileHandle(forWritingAtPath: path) else { throw Failure(description: "cannot open \(path)") }
        defer { try? fh.close() }
        try fh.write(contentsOf: Data(value.utf8))
    }

    static var available: Bool { geteuid() == 0 }

    static func run<T: Sendable>(_ body: @escaping @Sendable (PrivateNetwork) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
            let thread = Thread {
                do {
                    guard c_unshare(cloneNewNet) == 0 else {
                        throw Failure(description: "unshare(CLONE_NEWNET): \(String(cString: strerror(errno)))")
                    }
                    try bringLoopbackUp()
                    cont.resume(returning: try body(PrivateNetwork()))
                } catch {
                    cont.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    /// Runs `body` on a fresh thread that joined the existing network namespace at `path`
    /// (e.g. `/run/netns/pa-c-NAME` of Tests/support/testnet.sh); sockets it opens live there.
    static func join<T: Sendable>(_ path: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
            let thread = Thread {
                do {
                    let fd = open(path, O_RDONLY | O_CLOEXEC)
                    guard fd >= 0 else { throw Failure(description: "open \(path): \(String(cString: strerror(errno)))") }
                    defer { close(fd) }
                    guard c_setns(fd, cloneNewNet) == 0 else {
                        throw Failure(description: "setns(\(path)): \(String(cString: strerror(errno)))")
                    }
                    cont.resume(returning: try body())
                } catch {
                    cont.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    private static func bringLoopbackUp() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        defer { close(fd) }
        var req = ifreq()
        withUnsafeMutableBytes(of: &req.ifr_ifrn.ifrn_name) { name in
            for (i, c) in "lo".utf8.enumerated() { name[i] = c }
        }
        guard ioctl(fd, UInt(SIOCGIFFLAGS), &req) == 0 else { throw Failure(description: "SIOCGIFFLAGS: \(errno)") }
        req.ifr_ifru.ifru_flags |= Int16(IFF_UP)
        guard ioctl(fd, UInt(SIOCSIFFLAGS), &req) == 0 else { throw Failure(description: "SIOCSIFFLAGS: \(errno)") }
    }
}
