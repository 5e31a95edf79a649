import AdminAPI
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

    /// Someone accepts on `path` (a full backlog counts: a busy agent is still an agent).
    private static func answers(_ path: String) -> Bool {
        let e = UnixSocket.connectError(path: path)
        return e == 0 || e == EAGAIN
    }
}
