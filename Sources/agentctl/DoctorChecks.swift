import AdminAPI
import Foundation
import ProbeAgentCore
import ProbeEngine

#if canImport(Glibc)
import Glibc
#endif

/// The checks behind `agentctl doctor`, one function per row. Each looks at the real system
/// (files, capabilities, a throwaway io_uring, a connect(2)) and never changes anything.
enum DoctorChecks {
    /// The config loads exactly as probe-agent would load it; errors as file:line:column.
    static func config(_ path: String) -> (DoctorFinding, AgentConfig?) {
        if let reason = ConfigCheckCommand.unreadableReason(path) {
            return (.fail("config", "\(path): cannot read: \(reason)", hint: "pass the agent's config with --config FILE"), nil)
        }
        do {
            let cfg = try AgentConfig.load(contentsOf: path)
            let targets = cfg.targetCount
            return (.ok("config", "\(path): \(cfg.monitors.count) monitors, \(targets) targets"), cfg)
        } catch {
            return (.fail("config", error.errors.map(\.description).joined(separator: "\n"),
                          hint: "fix the file, then re-check it with `agentctl config check \(path)`"), nil)
        }
    }

    /// File capabilities of the probe-agent executable (what `getcap` shows).
    static func agentBinaryCapability(_ path: String) -> DoctorFinding {
        let name = "agent cap_net_raw"
        guard FileManager.default.fileExists(atPath: path) else {
            return .fail(name, "\(path): no such file", hint: "install probe-agent there, or point to it with --agent-binary PATH")
        }
        switch HostChecks.fileHasCapNetRaw(path) {
        case .success(true):
            return .ok(name, "\(path): file capability cap_net_raw permitted")
        case .success(false):
            return .warn(name, "\(path): no file capabilities; it gets CAP_NET_RAW only as root or from "
                + "the unit's AmbientCapabilities=CAP_NET_RAW",
                hint: "to run it as another user outside systemd: sudo setcap cap_net_raw+ep \(path)")
        case .failure(let e):
            return .warn(name, "\(path): cannot read its capabilities: \(e.message)",
                         hint: "run `getcap \(path)`; file capabilities need a file system with xattrs")
        }
    }

    /// CAP_NET_RAW of this very process (what `agentctl probe` will have).
    static func processCapability() -> DoctorFinding {
        let name = "cap_net_raw"
        guard HostChecks.capNetRawInBoundingSet else {
            return .warn(name, "CAP_NET_RAW is not in the bounding set: no process here can open raw sockets",
                         hint: "give the container NET_RAW (e.g. docker run --cap-add NET_RAW); until then "
                         + "ICMP needs net.ipv4.ping_group_range and TCP SYN probes are unavailable")
        }
        if HostChecks.processHasCapNetRaw {
            return .ok(name, "this process (uid \(getuid())) has CAP_NET_RAW")
        }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "agentctl"
        return .warn(name, "this process (uid \(getuid())) lacks CAP_NET_RAW: `agentctl probe` falls back to "
            + "the ICMP datagram socket and cannot send TCP SYN probes",
            hint: "run as root, or: sudo setcap cap_net_raw+ep \(me)")
    }

    /// kernel.io_uring_disabled (Linux 6.6+): 0 allowed, 1 root and io_uring_group only, 2 off.
    static func ioUringSysctl(path: String = "/proc/sys/kernel/io_uring_disabled") -> DoctorFinding {
        let name = "io_uring sysctl"
        let fix = "sudo sysctl -w kernel.io_uring_disabled=0 (persist it in /etc/sysctl.d/)"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return .ok(name, "\(path) absent: this kernel does not restrict io_uring by sysctl")
        }
        switch text.trimmingCharacters(in: .whitespacesAndNewlines) {
        case "0": return .ok(name, "kernel.io_uring_disabled = 0")
        case "1": return .warn(name, "kernel.io_uring_disabled = 1: only root and kernel.io_uring_group may use io_uring", hint: fix)
        case let v: return .fail(name, "kernel.io_uring_disabled = \(v): io_uring is off; the engine cannot start", hint: fix)
        }
    }

    /// A real ring, buffer ring and multishot recvmsg, as the engine uses them.
    static func ioUring() -> DoctorFinding {
        guard let problem = HostChecks.ioUringProblem() else {
            return .ok("io_uring", "ring, buffer ring and multishot recvmsg work")
        }
        return .fail("io_uring", problem,
                     hint: "the engine needs io_uring on Linux 6.0+: kernel.io_uring_disabled=0, and a seccomp "
                     + "policy that allows io_uring_setup, io_uring_enter and io_uring_register")
    }

    /// The engine uses multishot recvmsg (Linux 6.0) and buffer rings (5.19). Only a hint:
    /// distribution kernels backport features, the io_uring row is the real test.
    static func kernel() -> DoctorFinding {
        var u = utsname()
        uname(&u)
        let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = release.split { !$0.isNumber }.prefix(2).compactMap { Int($0) }
        guard numbers.count == 2 else {
            return .warn("kernel", "Linux \(release): cannot read the version", hint: "the engine needs Linux 6.0 or later")
        }
        if (numbers[0], numbers[1]) >= (6, 0) { return .ok("kernel", "Linux \(release)") }
        return .warn("kernel", "Linux \(release): older than 6.0, which the engine's multishot recvmsg needs "
            + "(unless backported: see the io_uring row)", hint: "upgrade to Linux 6.0 or later")
    }

    /// net.ipv4.ping_group_range: does it admit one of our groups (ICMP without CAP_NET_RAW)?
    static func pingGroupRange(path: String = "/proc/sys/net/ipv4/ping_group_range") -> DoctorFinding {
        let name = "ping_group_range"
        let fix = "only needed without CAP_NET_RAW: sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\""
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return .warn(name, "\(path): cannot read", hint: fix)
        }
        let bounds = text.split { $0 == " " || $0 == "\t" || $0 == "\n" }.compactMap { UInt32($0) }
        guard bounds.count == 2 else { return .warn(name, "\(path): unexpected content '\(text)'", hint: fix) }
        let groups = Self.groups()
        let range = "\(bounds[0]) \(bounds[1])"
        if let gid = groups.first(where: { bounds[0] <= $0 && $0 <= bounds[1] }) {
            return .ok(name, "\(range) includes gid \(gid): unprivileged ICMP is possible")
        }
        return .warn(name, "\(range) excludes your groups (\(groups.map(String.init).joined(separator: ","))): "
            + "ICMP needs CAP_NET_RAW", hint: fix)
    }

    /// connect(2) to the agent's admin socket, telling "not running" from "no permission".
    static func adminSocket(_ path: String) -> DoctorFinding {
        let name = "admin socket"
        let started = "is the agent running? systemctl status probe-agent; journalctl -u probe-agent"
        switch UnixSocket.connectError(path: path) {
        case 0:
            return .ok(name, "\(path): the agent accepts connections")
        case ENOENT:
            return .fail(name, "\(path): no such socket: the agent is not running, or uses another admin.socket",
                         hint: "\(started); or point to the socket with --socket PATH")
        case ECONNREFUSED:
            return .fail(name, "\(path): nothing listens (a stale socket: the agent stopped or crashed)",
                         hint: "systemctl restart probe-agent; \(started)")
        case EACCES, EPERM:
            return .fail(name, "\(path): permission denied",
                         hint: "run agentctl as root, or as a user the socket's mode admits (ls -l \(path))")
        case EAGAIN:
            return .warn(name, "\(path): the agent's listen backlog is full (busy or stuck)",
                         hint: "retry; if it persists: systemctl restart probe-agent")
        case let code:
            return .fail(name, "\(path): \(String(cString: strerror(code)))", hint: started)
        }
    }

    private static func groups() -> [UInt32] {
        var list = [gid_t](repeating: 0, count: Int(max(0, getgroups(0, nil))))
        let n = getgroups(Int32(list.count), &list)
        return Array(Set([getgid()] + list.prefix(Int(max(0, n))))).sorted()
    }
}
