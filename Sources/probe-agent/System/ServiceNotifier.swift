import Foundation
import Logging
import ProbeAgentCore
import Synchronization

/// sd_notify(3), written out: state changes sent to systemd as datagrams on $NOTIFY_SOCKET.
///
/// Each message is one datagram of newline-separated `VAR=value` assignments (READY=1,
/// RELOADING=1, STOPPING=1, STATUS=…, WATCHDOG=1) on an AF_UNIX datagram socket. A
/// $NOTIFY_SOCKET starting with `@` names the abstract namespace (the `@` stands for a
/// leading NUL). Without $NOTIFY_SOCKET — not started by systemd with Type=notify — every
/// call returns at once. No libsystemd: this is all of the protocol the agent needs.
final class ServiceNotifier: Sendable {
    /// The process's notifier, configured from its environment on first use.
    static let shared = ServiceNotifier(environment: ProcessInfo.processInfo.environment)

    /// Nanoseconds between two WATCHDOG=1 pings (half of $WATCHDOG_USEC, as sd_watchdog_enabled(3)
    /// advises), or nil when systemd does not watch this process.
    let watchdogInterval: UInt64?
    private let fd: Int32 // -1 when there is no $NOTIFY_SOCKET
    private let address: [UInt8] // sun_path bytes, leading NUL for the abstract namespace
    private let failureLogged = Atomic(false)

    var isEnabled: Bool { fd >= 0 }

    init(environment: [String: String]) {
        let address = environment["NOTIFY_SOCKET"].flatMap(Self.socketAddress)
        self.address = address ?? []
        fd = address == nil ? -1 : socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        watchdogInterval = fd >= 0 ? Self.watchdogInterval(environment, pid: getpid()) : nil
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Probing has started (or the config reload is complete).
    func ready(status: String) { send("READY=1\nSTATUS=\(Self.oneLine(status))") }

    /// A config reload has begun; ``ready(status:)`` ends it. MONOTONIC_USEC is required by
    /// systemd 253+ to tell this reload from an earlier one, and ignored by older versions.
    func reloading() {
        send("RELOADING=1\nMONOTONIC_USEC=\(MonotonicClock.nanoseconds() / 1000)\nSTATUS=reloading the config")
    }

    /// Shutting down (SIGTERM / SIGINT): probes in flight finish, the queue is written to disk.
    func stopping() { send("STOPPING=1\nSTATUS=stopping: finishing probes in flight, saving the queue") }

    /// A free-form line `systemctl status` shows.
    func status(_ text: String) { send("STATUS=\(Self.oneLine(text))") }

    /// The watchdog keep-alive; see ``ServiceHeartbeat`` for who calls it and when.
    func watchdog() { send("WATCHDOG=1") }

    private func send(_ message: String) {
        guard fd >= 0 else { return }
        var sa = sockaddr_un()
        sa.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sa.sun_path) { $0.copyBytes(from: address) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + address.count)
        let sent = message.utf8CString.withUnsafeBufferPointer { text in
            withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, text.baseAddress, text.count - 1, Int32(MSG_NOSIGNAL), $0, length)
                }
            }
        }
        if sent < 0, !failureLogged.exchange(true, ordering: .relaxed) {
            let why = String(cString: strerror(errno))
            Logger(label: "probe-agent").warning("cannot notify systemd on $NOTIFY_SOCKET: \(why) (further failures not logged)")
        }
    }

    /// sun_path bytes for a $NOTIFY_SOCKET value: an absolute path (NUL-terminated) or `@name`
    /// (abstract: a leading NUL, no terminator). nil for anything else or a name too long.
    static func socketAddress(_ value: String) -> [UInt8]? {
        var bytes = Array(value.utf8)
        switch bytes.first {
        case UInt8(ascii: "/"): bytes.append(0)
        case UInt8(ascii: "@"): bytes[0] = 0
        default: return nil
        }
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        return bytes.count > 1 && bytes.count <= capacity ? bytes : nil
    }

    /// Half of $WATCHDOG_USEC in nanoseconds, when it is set and meant for `pid` ($WATCHDOG_PID
    /// unset, or equal to it: a child that inherited the variables must not ping for its parent).
    static func watchdogInterval(_ environment: [String: String], pid: pid_t) -> UInt64? {
        guard let usec = environment["WATCHDOG_USEC"].flatMap({ UInt64($0) }), usec > 0 else { return nil }
        if let owner = environment["WATCHDOG_PID"], pid_t(owner) != pid { return nil }
        return usec * 1000 / 2
    }

    private static func oneLine(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ")
    }
}
