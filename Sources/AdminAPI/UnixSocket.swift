#if canImport(Glibc)
import Glibc
#endif

/// connect(2) on an AF_UNIX stream socket, reduced to its errno.
public enum UnixSocket {
    /// 0 when a connection was made (and closed again at once), else the errno; non-blocking,
    /// so a full backlog is EAGAIN instead of a hang.
    public static func connectError(path: String) -> Int32 {
        var sa = sockaddr_un()
        sa.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: sa.sun_path) else { return ENAMETOOLONG }
        withUnsafeMutableBytes(of: &sa.sun_path) { $0.copyBytes(from: bytes) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return rc == 0 ? 0 : errno
    }
}
