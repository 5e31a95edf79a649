import Foundation
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RemoteWrite

/// Tests/support/fake-store.py on a free loopback port: a remote-write endpoint whose answers
/// the test switches at runtime, keeping every request body. Stopped by PID.
final class FakeStore {
    let port: Int
    let dir: URL
    private var process: ChildProcess!

    /// Plain HTTP, or HTTPS requiring a client certificate when `tls` (cert, key, client CA) is given.
    let tls: Bool

    init(tls: (cert: String, key: String, clientCA: String)? = nil) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fake-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        port = try Self.freePort()
        self.tls = tls != nil
        process = try ChildProcess(["python3", Tools.root.appendingPathComponent("Tests/support/fake-store.py").path,
                                    "\(port)", dir.path] + (tls.map { [$0.cert, $0.key, $0.clientCA] } ?? []))
        if self.tls { usleep(700_000) } else {
            for _ in 0..<100 where (try? stats()) == nil { usleep(50_000) } // bounded: ~5 s plus request timeouts
        }
        
    }

    deinit {
        process.signal(SIGTERM)
        _ = process.wait(timeout: 5)
        process = nil
        try? FileManager.default.removeItem(at: dir)
    }

    var url: String { "\(tls ? "https" : "http")://127.0.0.1:\(port)/api/v1/write" }

    func setMode(_ mode: String) throws {
        var req = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/control?mode=\(mode)")!)
        req.httpMethod = "POST"
        _ = try Self.fetch(req)
    }

    struct Stats: Decodable {
        var requests: Int
        var mode: String
        var maxInFlight: Int? = nil
        enum CodingKeys: String, CodingKey { case requests, mode, maxInFlight = "max_in_flight" }
    }

    func stats() throws -> Stats {
        if tls { // no client certificate in the test process: count the saved requests instead
            let n = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".bin") }.count
            return Stats(requests: n, mode: "ok")
        }
        return try JSONDecoder().decode(Stats.self, from: Self.fetch(URLRequest(url: URL(string: "http://127.0.0.1:\(port)/stats")!)))
    }

    /// The headers of request N (1-based), as the store saw them.
    func headers(ofRequest n: Int) throws -> [String: String] {
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("req-\(n).json"))) as? [String: Any]
        return meta?["headers"] as? [String: String] ?? [:]
    }

    /// Every request received so far: (mode it was answered in, decoded series).
    func requests() throws -> [(mode: String, series: [Series])] {
        let n = try stats().requests
        return try (1...max(1, n)).prefix(n).map { i in
            let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("req-\(i).json"))) as? [String: Any]
            let body = try Data(contentsOf: dir.appendingPathComponent("req-\(i).bin"))
            return (meta?["mode"] as? String ?? "?", try WriteRequestEncoder.decode(body))
        }
    }

    /// `probe_success` samples in the requests answered `ok`: one per delivered result.
    func deliveredResults() throws -> Int {
        try requests().filter { $0.mode == "ok" }.flatMap(\.series).filter { $0.name == "probe_success" }
            .reduce(0) { $0 + $1.samples.count }
    }

    private static func fetch(_ req: URLRequest) throws -> Data {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<Data, Error> = .failure(URLError(.timedOut))
        URLSession.shared.dataTask(with: req) { data, _, error in
            result = error.map { .failure($0) } ?? .success(data ?? Data())
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 3)
        return try result.get()
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        return Int(UInt16(bigEndian: sa.sin_port))
    }
}
