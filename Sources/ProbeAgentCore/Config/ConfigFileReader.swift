import Foundation

/// Reads a config file's bytes without ever reading more than the size limit allows.
///
/// A regular file larger than the limit is refused from its `fstat` size, unread; anything else
/// (a pipe, a device such as /dev/zero, a file that grows while read) is read up to one byte
/// past the limit and refused there. So a 50 GB file costs one `stat`, and no input can make the
/// loader allocate more than `maxBytes + 1`.
public enum ConfigFileReader {
    /// The contents of `path`, or the error the loader reports: "cannot read config: …" at 0:0
    /// (`agentctl config check` tells unreadable files apart by that prefix), or the size limit.
    public static func read(_ path: String, maxBytes: Int) -> Result<[UInt8], ConfigError> {
        func failure(_ message: String) -> Result<[UInt8], ConfigError> {
            .failure(ConfigError(file: path, line: 0, column: 0, message: message))
        }
        func errnoText() -> String { String(cString: strerror(errno)) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return failure("cannot read config: \(errnoText())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return failure("cannot read config: \(errnoText())") }
        if (st.st_mode & S_IFMT) == S_IFDIR { return failure("cannot read config: \(String(cString: strerror(EISDIR)))") }
        if (st.st_mode & S_IFMT) == S_IFREG && Int64(st.st_size) > Int64(maxBytes) {
            return .failure(tooLarge(path, size: "is \(st.st_size) bytes", limit: maxBytes))
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(Int(max(st.st_size, 0)), maxBytes) + 1)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= maxBytes {
            let want = min(chunk.count, maxBytes + 1 - bytes.count)
            let n = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, want) }
            if n < 0 {
                if errno == EINTR { continue }
                return failure("cannot read config: \(errnoText())")
            }
            if n == 0 { return .success(bytes) }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return .failure(tooLarge(path, size: "goes on past \(maxBytes) bytes", limit: maxBytes))
    }

    /// The size-limit error, shared with ``AgentConfig/load(bytes:file:limits:)``.
    static func tooLarge(_ file: String, size: String, limit: Int) -> ConfigError {
        ConfigError(file: file, line: 0, column: 0,
                    message: "config file \(size), over the limit for config files of \(ConfigLimits.describeBytes(limit))")
    }
}
