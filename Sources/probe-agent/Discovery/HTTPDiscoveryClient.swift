import AdminAPI
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import ProbeAgentCore

/// The GET of an `http_sd_configs` source, Prometheus's HTTP SD way: a 200 with a JSON list of
/// groups is an answer; any other status, a body over the limit, a timeout, a connection or
/// TLS error is a failure (named, with no secret in it). Redirects are not followed.
/// Credential and TLS files are read on every request, so a rotated token or certificate is
/// used from the next refresh on.
final class HTTPDiscoveryClient: Sendable {
    private let client: HTTPClient

    init() {
        var config = HTTPClient.Configuration()
        config.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    func shutdown() { try? client.syncShutdown() }

    /// The body of a 200 answer, or why there is none.
    func fetch(_ source: DiscoveryConfig.HTTPSD, limits: DiscoveryLimits) async -> Result<[UInt8], DiscoveryFailure> {
        var request = HTTPClientRequest(url: source.url)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "probe-agent/\(AgentVersion.current)")
        request.headers.add(name: "X-Prometheus-Refresh-Interval-Seconds",
                            value: String(source.refreshInterval.components.seconds))
        do {
            if let auth = try Self.authorization(source) { request.headers.add(name: "Authorization", value: auth) }
            if source.url.hasPrefix("https://") { request.tlsConfiguration = try Self.tls(source.tls) }
        } catch {
            return .failure(error)
        }
        // A refresh may take its whole interval, but never more than 30 s.
        let timeout = TimeAmount.nanoseconds(Int64(min(source.refreshInterval, .seconds(30)).nanosecondsValue))
        do {
            let response = try await client.execute(request, timeout: timeout)
            guard response.status == .ok else {
                return .failure(DiscoveryFailure("HTTP \(response.status.code) \(response.status.reasonPhrase) (only 200 is an answer)"))
            }
            var body = try await response.body.collect(upTo: limits.maxBytes)
            return .success(body.readBytes(length: body.readableBytes) ?? [])
        } catch is NIOTooManyBytesError {
            return .failure(DiscoveryFailure("response body over \(limits.maxBytes) bytes (the limit)"))
        } catch {
            return .failure(DiscoveryFailure("request failed: \(error)"))
        }
    }

    private static func authorization(_ s: DiscoveryConfig.HTTPSD) throws(DiscoveryFailure) -> String? {
        if let basic = s.basicAuth {
            var password = basic.password
            if let file = basic.passwordFile { password = try read(file, "basic_auth.password_file") }
            return "Basic " + Data("\(basic.username):\(password)".utf8).base64EncodedString()
        }
        if let token = s.bearerToken { return "Bearer " + token }
        if let file = s.bearerTokenFile { return "Bearer " + (try read(file, "authorization.credentials_file")) }
        return nil
    }

    private static func read(_ path: String, _ what: String) throws(DiscoveryFailure) -> String {
        switch CredentialFile.read(path) {
        case .success(let text): return text
        case .failure(let e): throw DiscoveryFailure("\(what) \(path): \(e.reason)")
        }
    }

    private static func tls(_ files: RemoteWriteConfig.TLSFiles) throws(DiscoveryFailure) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let ca = files.caFile { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) }
            if let cert = files.certFile, let key = files.keyFile {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
        } catch {
            throw DiscoveryFailure("tls_config: cannot load the PEM files (\(type(of: error)))")
        }
        return tls
    }
}

/// Why a discovery refresh failed, worded for a log line.
struct DiscoveryFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
