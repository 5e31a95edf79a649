// The one place the spill log calls the kernel (model: swift-nio NIOPosix/System.swift).
//
// Each wrapper retries EINTR, and turns any other failure into a `SpillError` naming the
// operation and the path, so no caller ever reads `errno` itself. The wrappers are thin: one
// system call each (pread/pwrite loop until the whole range is done, because a short count is
// legal). File descriptors are plain Int32s owned by the caller.

#if canImport(Glibc)
import Glibc
#endif

enum Sys {
    /// Runs `body` until it does not fail with EINTR; a -1 result throws a typed error.
    @inline(__always)
    static func call<T: BinaryInteger>(_ operation: String, _ path: String, _ body: () -> T) throws -> T {
        while true {
            let r = body()
            if r != -1 { return r }
            let code = errno
            if code == EINTR { continue }
            throw SpillError.from(errno: code, operation: operation, path: path)
        }
    }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        try call("open", path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// Closes, ignoring errors: on Linux the descriptor is gone either way, and data errors
    /// are reported by fsync, which callers run before closing anything they care about.
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    static func fsync(_ fd: Int32, _ path: String) throws {
        _ = try call("fsync", path) { Glibc.fsync(fd) }
    }

    static func ftruncate(_ fd: Int32, _ size: Int, _ path: String) throws {
        _ = try call("ftruncate", path) { Glibc.ftruncate(fd, off_t(size)) }
    }

    static func rename(_ from: String, _ to: String) throws {
        _ = try call("rename", to) { Glibc.rename(from, to) }
    }

    static func unlink(_ path: String) throws {
        _ = try call("unlink", path) { Glibc.unlink(path) }
    }

    /// Creates a directory; an existing one is fine.
    static func mkdir(_ path: String) throws {
        if Glibc.mkdir(path, 0o755) == 0 { return }
        let code = errno
        if code == EEXIST { return }
        throw SpillError.from(errno: code, operation: "mkdir", path: path)
    }

    static func fileSize(_ fd: Int32, _ path: String) throws -> Int {
        var st = stat()
        _ = try call("fstat", path) { fstat(fd, &st) }
        return Int(st.st_size)
    }

    /// Writes all of `bytes` at `offset`.
    static func pwriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, _ path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = try call("write", path) {
                Glibc.pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            }
            done += n
        }
    }

    /// Reads up to `buffer.count` bytes at `offset`; returns fewer only at end of file.
    static func preadFull(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int, _ path: String) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = try call("read", path) {
                Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// The file type bits (`st_mode & S_IFMT`) of `name` inside the directory `dirFD`, not
    /// following a symlink; nil when the entry is gone.
    static func entryType(_ dirFD: Int32, _ name: String, in directory: String) throws -> mode_t? {
        var st = stat()
        while fstatat(dirFD, name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
            let code = errno
            if code == EINTR { continue }
            if code == ENOENT { return nil }
            throw SpillError.from(errno: code, operation: "stat", path: directory + "/" + name)
        }
        return st.st_mode & S_IFMT
    }

    /// Names in a directory, without "." and "..".
    static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else {
            throw SpillError.from(errno: errno, operation: "opendir", path: path)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }
}
