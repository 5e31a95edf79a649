import Foundation

/// An HTTP/1.1 client on a plain blocking socket (TCP to 127.0.0.1, or a unix socket), for
/// what curl does not do: hold a response unread with a tiny receive buffer, send nothing,
/// send a body past a limit, and see exactly when the server closes the connection.
/// Every read is bounded by a timeout.
final class RawHTTPConnection {
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// A response as far as it was read.
    struct Response {
        var status: Int
        var headers: [String: String] // lower-cased names
        var body: [UInt8]
        var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    /// - Parameter receiveBuffer: SO_RCVBUF set before connecting (the kernel doubles it), so
    ///   the server can send only that much ahead of what this client reads.
    init(tcp hostPort: String, receiveBuffer: Int32? = nil) throws {
        guard let colon = hostPort.lastIndex(of: ":"), let port = UInt16(hostPort[hostPort.index(after: colon)...]) else {
            throw Failure(description: "not host:port: \(hostPort)")
        }
        let host = String(hostPort[..<colon])
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &sa.sin_addr) == 1 else { close(fd); throw Failure(description: "not IPv4: \(host)") }
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { let e = errno; close(fd); throw Failure(description: "connect \(hostPort): \(String(cString: strerror(e)))") }
    }

    init(unix path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var sa = sockaddr_un()
        sa.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sa.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { let e = errno; close(fd); throw Failure(description: "connect \(path): \(String(cString: strerror(e)))") }
    }

    deinit { close(fd) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    /// `GET path` with a Host header, keeping the connection open.
    func get(_ path: String) throws { try send("GET \(path) HTTP/1.1\r\nHost: test\r\n\r\n") }

    /// Reads more into the buffer: false at end of stream (or a reset), and on timeout.
    private func fill(until deadline: Date) -> Bool {
        let left = deadline.timeIntervalSinceNow
        guard left > 0 else { return false }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(left * 1000) + 1) > 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer += chunk[..<n]
        return true
    }

    private func line(until deadline: Date) throws -> String {
        while true {
            if let i = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let text = String(decoding: buffer[..<i], as: UTF8.self)
                buffer.removeSubrange(...i)
                return text.hasSuffix("\r") ? String(text.dropLast()) : text
            }
            guard fill(until: deadline) else { throw Failure(description: "no complete line (closed or timed out)") }
        }
    }

    private func bytes(_ count: Int, until deadline: Date) throws -> [UInt8] {
        while buffer.count < count {
            guard fill(until: deadline) else { throw Failure(description: "body cut after \(buffer.count) of \(count) bytes") }
        }
        defer { buffer.removeSubrange(..<count) }
        return Array(buffer[..<count])
    }

    /// The status line and headers.
    func readHead(timeout: TimeInterval = 30) throws -> Response {
        let deadline = Date().addingTimeInterval(timeout)
        let statusLine = try line(until: deadline)
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw Failure(description: "not a status line: \(statusLine)") }
        var headers: [String: String] = [:]
        while true {
            let h = try line(until: deadline)
            if h.isEmpty { break }
            if let colon = h.firstIndex(of: ":") {
                headers[h[..<colon].lowercased()] = h[h.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return Response(status: status, headers: headers, body: [])
    }

    /// A whole response: head and body (by Content-Length or chunked).
    func readResponse(timeout: TimeInterval = 30) throws -> Response {
        let deadline = Date().addingTimeInterval(timeout)
        var r = try readHead(timeout: timeout)
        try readBody(of: &r, until: deadline)
        return r
    }

    /// The body of a response whose head ``readHead(timeout:)`` read.
    func readBody(of r: inout Response, timeout: TimeInterval = 30) throws {
        try readBody(of: &r, until: Date().addingTimeInterval(timeout))
    }

    private func readBody(of r: inout Response, until deadline: Date) throws {
        if let length = r.headers["content-length"].flatMap(Int.init) {
            r.body = try bytes(length, until: deadline)
        } else if r.headers["transfer-encoding"]?.lowercased() == "chunked" {
            while true {
                let sizeLine = try line(until: deadline)
                guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else { throw Failure(description: "bad chunk size \(sizeLine)") }
                if size == 0 { _ = try line(until: deadline); break }
                r.body += try bytes(size, until: deadline)
                _ = try line(until: deadline)
            }
        }
    }

    /// The server has closed the connection (checked without waiting; unread data is left).
    var isClosed: Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 0) > 0 else { return false }
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        return n == 0 || (n < 0 && errno != EAGAIN)
    }

    /// Seconds until the server closed the connection (reading and dropping whatever comes),
    /// or nil if it was still open after `timeout`.
    func secondsUntilClosed(timeout: TimeInterval) -> TimeInterval? {
        let start = Date()
        let deadline = start.addingTimeInterval(timeout)
        while Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 200) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return Date().timeIntervalSince(start) }
        }
        return nil
    }
}
