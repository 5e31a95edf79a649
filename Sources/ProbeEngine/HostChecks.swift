import CProbe
#if canImport(Glibc)
import Glibc
#endif

/// What the host allows the engine, asked the way the engine would (CProbe's host_checks.c);
/// used by `agentctl doctor`.
public enum HostChecks {
    /// nil when io_uring works as the engine needs it (a ring, a registered buffer ring and a
    /// multishot recvmsg that delivers); otherwise the step that failed and why.
    public static func ioUringProblem() -> String? {
        var err = [CChar](repeating: 0, count: 256)
        guard cprobe_probe_io_uring(&err, err.count) != 0 else { return nil }
        return String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether the file capabilities of `path` permit CAP_NET_RAW (`setcap cap_net_raw+ep`).
    /// - Returns: `.success(false)` for a file without capabilities, `.failure` with the
    ///   strerror text when the file cannot be inspected (missing, no xattr support).
    public static func fileHasCapNetRaw(_ path: String) -> Result<Bool, FileCapabilityError> {
        let rc = cprobe_file_has_cap_net_raw(path)
        if rc < 0 { return .failure(FileCapabilityError(code: -rc, message: String(cString: strerror(-rc)))) }
        return .success(rc == 1)
    }

    /// Whether this process may use CAP_NET_RAW now (it is in the permitted set).
    public static var processHasCapNetRaw: Bool { cprobe_have_cap_net_raw() == 1 }

    /// Whether CAP_NET_RAW is in the bounding set; if not (a container started without it), no
    /// process here can ever gain it, whatever its file capabilities or unit say.
    public static var capNetRawInBoundingSet: Bool { cprobe_cap_net_raw_in_bounding_set() == 1 }

    public struct FileCapabilityError: Error, Sendable {
        /// errno (positive).
        public let code: Int32
        public let message: String
    }
}
