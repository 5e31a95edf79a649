import Foundation

/// Gets the admin socket's path ready before binding, and tidies it after.
///
/// - Creates the directory (mode 0750) when missing; under systemd, RuntimeDirectory= does.
/// - A leftover socket from a crashed agent is removed; a socket someone still answers on means
///   another agent runs with the same config, and is refused rather than stolen.
/// - The process umask (set at start) keeps the new socket away from "other"; after binding it
///   is made 0660: owner and group may connect (connecting needs write permission).
enum AdminSocketFile {
    struct Problem: Error, CustomStringConvertible { let description: String }

    static func prepare(_ path: String) throws(Problem) {
        guard path.utf8.count < 108 else {
            throw Problem(description: "admin.socket '\(path)' is longer than a unix socket path may be (107 bytes)")
        }
        let dir = (path as NSString).deletingLastPathComponent
        var st = stat()
        if stat(dir, &st) != 0 {
            guard mkdir(dir, 0o750) == 0 || errno == EEXIST else {
                throw Problem(description: "cannot create \(dir) for admin.socket: \(String(cString: strerror(errno)))")
            }
        }
        guard lstat(path, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw Problem(description: "admin.socket \(path) exists and is not a socket; remove it or choose another path")
        }
        if answers(path) {
            throw Problem(description: "another probe-agent is already serving \(path); stop it or choose another admin.socket")
        }
        unlink(path)
    }

    static func finish(_ path: String) { chmod(path, 0o660) }

    static func remove(_ path: String) { unlink(path) }

    private static func answers(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
        }
    }
}
