import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import ProbeAgentCore
import RemoteWrite
import Synchronization

/// Remote-write POSTs for the shipper: ``send(_:done:)`` with a callback, or ``post(_:)``, which
/// blocks the calling thread (the shipper's own; never an event loop or the cooperative pool).
final class StoreClient {
    typealias Answer = StoreAnswer

    private let client: HTTPClient
    private let options: ShipperOptions
    private let headers: HTTPHeaders

    init(options: ShipperOptions) throws {
        self.options = options
        // Load every TLS file here, as PEM, so a bad path or file stops the agent at start with
        // its name (NIOSSL's `.file` sources guess the format from the extension and fail late).
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = options.tls.caFile {
            tls.trustRoots = .certificates(try Self.load("tls.ca_file", ca) { try NIOSSLCertificate.fromPEMFile($0) })
        }
        if let cert = options.tls.certFile, let key = options.tls.keyFile {
            tls.certificateChain = try Self.load("tls.cert_file", cert) { try NIOSSLCertificate.fromPEMFile($0) }
                .map { .certificate($0) }
            tls.privateKey = .privateKey(try Self.load("tls.key_file", key) { try NIOSSLPrivateKey(file: $0, format: .pem) })
        }
        var config = HTTPClient.Configuration(tlsConfiguration: tls)
        config.timeout = .init(connect: .seconds(5), read: .nanoseconds(options.timeout.nanosecondsValue))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        var h = HTTPHeaders()
        for (name, value) in RemoteWriteHeaders.all(agentVersion: options.agentVersion) { h.add(name: name, value: value) }
        for (name, value) in options.headers { h.replaceOrAdd(name: name, value: value) }
        headers = h
    }

    struct TLSFileError: Error, CustomStringConvertible {
        let description: String
    }

    private static func load<T>(_ key: String, _ path: String, _ body: (String) throws -> T) throws -> T {
        do { return try body(path) } catch {
            throw TLSFileError(description: "remote_write.\(key) \(path): cannot load as PEM (\(error))")
        }
    }

    func shutdown() { try? client.syncShutdown() }

    /// POSTs an encoded WriteRequest and waits (bounded by the request timeout) for the answer.
    func post(_ body: Data) -> Answer {
        let answer = Mutex<Answer?>(nil)
        let done = DispatchSemaphore(value: 0)
        send(body) { a in
            answer.withLock { $0 = a }
            done.signal()
        }
        done.wait()
        return answer.withLock { $0! }
    }

    /// POSTs an encoded WriteRequest; `done` gets the answer on an event loop thread (bounded by
    /// the request timeout). Several may be in flight.
    func send(_ body: Data, done: @escaping @Sendable (Answer) -> Void) {
        let request: HTTPClient.Request
        do {
            var r = try HTTPClient.Request(url: options.url, method: .POST, headers: headers)
            r.body = .data(body)
            request = r
        } catch {
            return done(Answer(status: nil, transportError: "\(error)"))
        }
        let deadline = NIODeadline.now() + .nanoseconds(options.timeout.nanosecondsValue)
        client.execute(request: request, deadline: deadline).whenComplete { result in
            switch result {
            case .success(let response):
                let text = response.body.map { String(buffer: $0) } ?? ""
                done(Answer(status: Int(response.status.code), body: String(text.prefix(512)),
                            retryAfter: response.headers.first(name: "Retry-After"),
                            location: response.headers.first(name: "Location")))
            case .failure(let error):
                done(Answer(status: nil, transportError: "\(error)"))
            }
        }
    }
}
