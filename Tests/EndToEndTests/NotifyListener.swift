import Foundation

/// Stands in for systemd's notification socket: an AF_UNIX datagram socket the test binds,
/// whose address goes to the agent as $NOTIFY_SOCKET; every datagram is one sd_notify message.
final class NotifyListener {
    /// The value for $NOTIFY_SOCKET (`/path` or `@abstract-name`).
    let address: String
    private let fd: Int32
    private let path: String?
    /// Every message received so far, in order.
    private(set) var messages: [String] = []

    /// Binds a socket file at `path`, or, with `abstract`, the name `@abstract` in the
    /// abstract namespace (no file).
    init(path: String? = nil, abstract: String? = nil) throws {
        precondition((path == nil) != (abstract == nil), "give a path or an abstract name")
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.path = path
        var sa = sockaddr_un()
        sa.sun_family = sa_family_t(AF_UNIX)
        var bytes: [UInt8]
        if let path {
            bytes = Array(path.utf8) + [0]
            address = path
        } else {
            bytes = [0] + Array(abstract!.utf8)
            address = "@" + abstract!
        }
        withUnsafeMutableBytes(of: &sa.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard fd >= 0, rc == 0 else {
            throw NSError(domain: "NotifyListener", code: Int(errno),
                          userInfo: [NSLocalizedDescriptionKey: "bind \(address): \(String(cString: strerror(errno)))"])
        }
    }

    deinit {
        close(fd)
        if let path { unlink(path) }
    }

    /// Receives messages until one satisfies `match` (returned) or `timeout` seconds pass (nil).
    func next(timeout: TimeInterval, where match: (String) -> Bool) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0, let message = receive(timeoutMilliseconds: Int32(left * 1000) + 1) else { return nil }
            if match(message) { return message }
        }
    }

    /// Receives every message for `seconds`; returns those that arrived in that window.
    func collect(for seconds: TimeInterval) -> [String] {
        let start = messages.count
        let deadline = Date().addingTimeInterval(seconds)
        while deadline.timeIntervalSinceNow > 0 {
            _ = receive(timeoutMilliseconds: Int32(deadline.timeIntervalSinceNow * 1000) + 1)
        }
        return Array(messages[start...])
    }

    private func receive(timeoutMilliseconds: Int32) -> String? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, timeoutMilliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n >= 0 else { return nil }
        let message = String(decoding: buffer.prefix(n), as: UTF8.self)
        messages.append(message)
        return message
    }
}

extension String {
    /// The sd_notify assignments in a message, as a dictionary (`READY=1\nSTATUS=x` → …).
    var notifyFields: [String: String] {
        var fields: [String: String] = [:]
        for line in split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return fields
    }
}
