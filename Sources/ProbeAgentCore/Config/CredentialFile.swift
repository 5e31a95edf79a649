import Foundation

/// A file holding a secret (`bearer_token_file`, `basic_auth.password_file`), the Prometheus
/// way: the whole file is the secret, less trailing line breaks (so `echo token > file` works).
///
/// ``Stamp`` tells whether it changed without reading it (device, inode, size, mtime): a rotation
/// by rename gets a new inode, one in place a new mtime or size.
public enum CredentialFile {
    /// Why a credential file could not be read, worded for a person; never holds the contents.
    public struct ReadError: Error, Hashable, CustomStringConvertible {
        /// "cannot read (No such file or directory)".
        public var reason: String
        public var description: String { reason }
    }

    /// What identifies one version of a file.
    public struct Stamp: Hashable, Sendable {
        public var device: UInt64
        public var inode: UInt64
        public var size: Int64
        public var modifiedNanos: Int64
    }

    /// The file's secret: its text less trailing CR/LF.
    public static func read(_ path: String) -> Result<String, ReadError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(ReadError(reason: "cannot read (\(String(cString: strerror(errno))))")) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        // A secret is small: 64 KiB is plenty, and a wrong path (a log, a device) is not slurped.
        while bytes.count <= 65_536 {
            let n = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(ReadError(reason: "cannot read (\(String(cString: strerror(errno))))"))
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        guard bytes.count <= 65_536 else { return .failure(ReadError(reason: "is larger than 64 KiB; not a credential file")) }
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(ReadError(reason: "is not UTF-8 text"))
        }
        return .success(text)
    }

    /// The file's current stamp, nil when it cannot be stat'ed.
    public static func stamp(_ path: String) -> Stamp? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Stamp(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                     modifiedNanos: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
    }
}
