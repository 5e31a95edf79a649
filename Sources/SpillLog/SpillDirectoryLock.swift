// One owner per spill directory: an exclusive flock(2) on `<dir>/lock`, held for the owner's
// lifetime (model: vmagent lib/persistentqueue, which flocks its queue directory).
//
// Why flock: the kernel drops it when the holder's descriptor closes, so a crash, SIGKILL or OOM
// never leaves a stale lock behind, and there is nothing to clean up at start. The lock is per
// open file description: a second open in the SAME process conflicts too, so two SpillLogs in
// one process are refused exactly like two agents. The descriptor is O_CLOEXEC, so children the
// agent spawns do not inherit (and keep) the lock. They do share it for the moment between
// fork and exec, though, and an agent that is just exiting holds it until the kernel closes its
// files: so a held lock is tried again for up to `patience` (250 ms, every 10 ms) before it is
// refused. Short enough that a second agent still exits at once.
//
// The file's content is informational only: the holder truncates it and writes its pid (one
// decimal line) right after taking the lock, so the next one can say who holds it. The lock
// itself never depends on that content, and the file is never deleted (deleting it while held
// would let a second agent lock a fresh file of the same name).
//
// Cost: one open, one flock, one small write at start; nothing afterwards.

#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// An exclusive, non-blocking lock on a spill directory, so that one agent at a time owns it.
///
/// Take it early and synchronously (a second agent should exit before it starts anything), then
/// hand it to ``SpillLog/init(directory:options:lock:)``. The lock is released by ``release()``
/// or when the object goes away.
public final class SpillDirectoryLock: Sendable {
    /// The name of the lock file inside the spill directory.
    public static let fileName = "lock"

    /// The directory this lock owns.
    public let directory: String
    /// `<directory>/lock`.
    public let path: String
    private let descriptor: Mutex<Int32>

    /// Creates `directory` if missing (its parent must exist) and takes the lock on its `lock`
    /// file, without waiting.
    ///
    /// - Parameter directory: the spill directory.
    /// - Throws: ``SpillError/locked(directory:holderPID:)`` when another process (or another
    ///   lock in this one) holds it, naming the holder's pid when the lock file says; any other
    ///   ``SpillError`` (naming the path and errno) when the directory or file cannot be used.
    public init(directory: String) throws {
        let path = directory + "/" + Self.fileName
        self.directory = directory
        self.path = path
        try Sys.mkdir(directory)
        let fd = try Sys.open(path, O_RDWR | O_CREAT, mode: 0o640)
        do {
            try Self.lock(fd, path: path, directory: directory)
            try Sys.ftruncate(fd, 0, path)
            let line = Array("\(getpid())\n".utf8)
            try line.withUnsafeBytes { try Sys.pwriteAll(fd, $0, at: 0, path) }
        } catch {
            Sys.close(fd)
            throw error
        }
        descriptor = Mutex(fd)
    }

    deinit { release() }

    /// True until ``release()``.
    public var isHeld: Bool { descriptor.withLock { $0 >= 0 } }

    /// Releases the lock (closes the descriptor). Idempotent. The lock file stays.
    public func release() {
        descriptor.withLock { fd in
            if fd >= 0 { Sys.close(fd) }
            fd = -1
        }
    }

    /// True when `other` names the directory this lock owns (the same inode, whatever the
    /// spelling of the path).
    func covers(_ other: String) -> Bool {
        var a = stat(), b = stat()
        guard stat(directory, &a) == 0, stat(other, &b) == 0 else { return false }
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }

    /// How long a held lock is tried again before it is refused (see the file comment).
    static let patience = 25 // tries, 10 ms apart

    private static func lock(_ fd: Int32, path: String, directory: String) throws {
        var tries = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            if code == EWOULDBLOCK {
                tries += 1
                if tries < patience {
                    usleep(10_000)
                    continue
                }
                throw SpillError.locked(directory: directory, holderPID: holderPID(fd))
            }
            throw SpillError.from(errno: code, operation: "flock", path: path)
        }
    }

    /// The pid the holder wrote into the lock file, or nil when it wrote none. The holder
    /// truncates before it writes, so an empty file is read again a few times, briefly.
    private static func holderPID(_ fd: Int32) -> Int32? {
        for attempt in 0..<5 {
            if attempt > 0 { usleep(20_000) }
            var bytes = [UInt8](repeating: 0, count: 32)
            let n = bytes.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress!, $0.count, 0) }
            guard n > 0 else { continue }
            let text = String(decoding: bytes[0..<n], as: UTF8.self)
            let digits = text.prefix { $0 != "\n" }.trimmingSpaces
            if let pid = Int32(digits), pid > 0 { return pid }
            return nil // something that is not a pid: do not guess
        }
        return nil
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" || c == "\r" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s.removeLast() }
        return s
    }
}
