import AsyncHTTPClient
import Foundation
import NIOCore
import RemoteWrite
import Testing

/// A remote-write receiver (Prometheus or VictoriaMetrics) started by the harness scripts in
/// Tests/support on a free loopback port. Call ``stop()`` in a `defer`.
struct Receiver {
    enum Kind: String {
        case prometheus = "prometheus.sh"
        case victoriaMetrics = "victoria-metrics.sh"

        var binary: String {
            switch self {
            case .prometheus: "/usr/bin/prometheus"
            case .victoriaMetrics: "/usr/bin/victoria-metrics"
            }
        }
        var installed: Bool {
            FileManager.default.isExecutableFile(atPath: binary)
                && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")
        }
        var writePath: String {
            switch self {
            case .prometheus: "/api/v1/write"
            case .victoriaMetrics: "/api/v1/write"
            }
        }
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    let kind: Kind
    let name: String
    let baseURL: String
    var writeURL: String { baseURL + kind.writePath }

    struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts a receiver; retries with another port if the one picked was taken meanwhile.
    static func start(_ kind: Kind, tag: String) throws -> Receiver {
        let name = "rwtest-\(kind == .prometheus ? "prom" : "vm")-\(tag)-\(getpid())"
        var last = ""
        for _ in 0..<3 {
            let port = try freeLoopbackPort()
            let out = try run([script(kind), "start", name, String(port)], timeout: 60)
            if out.status == 0 {
                return Receiver(kind: kind, name: name,
                                baseURL: out.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            last = "exit \(out.status): \(out.stderr)"
            if !out.stderr.contains("already in use") { break }
        }
        throw StartError(description: "\(kind.rawValue) start \(name) failed: \(last)")
    }

    func stop() {
        _ = try? Self.run([Self.script(kind), "stop", name], timeout: 30)
    }

    static func script(_ kind: Kind) -> String {
        root.appendingPathComponent("Tests/support/\(kind.rawValue)").path
    }

    /// A port the kernel just handed out for 127.0.0.1 (closed again before returning).
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartError(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        guard ok else { throw StartError(description: "bind/getsockname: errno \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    struct Output { var status: Int32; var stdout: String; var stderr: String }

    /// Runs a command to completion, bounded by `timeout` seconds (then killed by its PID).
    ///
    /// posix_spawn + waitpid rather than Foundation's Process: Process.waitUntilExit was seen to
    /// hang when two tests ran it at once from Swift concurrency's threads.
    static func run(_ args: [String], timeout: TimeInterval) throws -> Output {
        // Output goes to files, so a chatty child can never stall on a full pipe.
        let dir = FileManager.default.temporaryDirectory.path
        let outPath = "\(dir)/rw-test-\(UUID().uuidString).out"
        let errPath = "\(dir)/rw-test-\(UUID().uuidString).err"
        defer {
            unlink(outPath)
            unlink(errPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, args[0], &actions, nil, &argv, environ)
        guard rc == 0 else { throw StartError(description: "posix_spawn \(args[0]): errno \(rc)") }
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { throw StartError(description: "waitpid: errno \(errno)") }
            if Date() >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                break
            }
            usleep(10_000)
        }
        // WIFEXITED / WEXITSTATUS by hand (macros are not imported): exit code, or 128+signal.
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let o = FileManager.default.contents(atPath: outPath) ?? Data()
        let e = FileManager.default.contents(atPath: errPath) ?? Data()
        return Output(status: code, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }
}

/// Minimal HTTP for the tests, over AsyncHTTPClient (the client the shipper uses).
enum HTTP {
    struct Reply {
        var status: Int
        var body: String
    }

    /// POSTs a remote-write body with the protocol's headers.
    static func postRemoteWrite(_ url: String, body: Data) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in RemoteWriteHeaders.all(agentVersion: "test") {
            request.headers.add(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        return try await execute(request)
    }

    static func get(_ url: String) async throws -> Reply {
        try await execute(HTTPClientRequest(url: url))
    }

    private static func execute(_ request: HTTPClientRequest) async throws -> Reply {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
        let bytes = try await response.body.collect(upTo: 32 << 20)
        return Reply(status: Int(response.status.code), body: String(buffer: bytes))
    }

    /// Percent-encodes a query parameter value.
    static func q(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed)!
    }
}

/// Polls `condition` every 200 ms until it returns non-nil or `seconds` pass.
func eventually<T>(
    seconds: Double, _ condition: () async throws -> T?
) async throws -> T? {
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
        if let v = try await condition() { return v }
        try await Task.sleep(for: .milliseconds(200))
    } while Date() < deadline
    return nil
}

/// Milliseconds since the Unix epoch, now.
func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
