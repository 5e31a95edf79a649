import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import ProbeAgentCore

/// Where requests go, and how a failure to get an HTTP answer from there reads for a person:
/// "connection refused by 127.0.0.1:9090", "no answer within 10s (remote_write.timeout)",
/// "TLS handshake with store:443 failed: certificate verify failed", "cannot resolve store".
///
/// The error types are the ones AsyncHTTPClient and NIO actually hand back: `IOError` (a
/// connect to an IP literal; AHC retries until the deadline and then reports the last connect
/// failure), `NIOConnectionError` (a hostname: DNS and per-address failures), `NIOSSLError` /
/// `NIOSSLExtraError` / `BoringSSLError` (handshake), `HTTPClientError` (timeouts, a closed
/// connection), `ChannelError` (connect timeout).
struct StoreEndpoint: Sendable {
    let host: String
    let port: Int
    let timeout: Duration

    init(url: String, timeout: Duration) {
        let u = URL(string: url)
        host = u?.host ?? "?"
        port = u?.port ?? (url.lowercased().hasPrefix("https://") ? 443 : 80)
        self.timeout = timeout
    }

    var hostPort: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// A transport error as a reason; `isTLS` when it was the TLS handshake (the TLS files are
    /// then looked at again).
    func describe(_ error: Error) -> (text: String, isTLS: Bool) {
        switch error {
        case let e as HTTPClientError:
            return (describe(e), e == .tlsHandshakeTimeout)
        case let e as IOError:
            return (describe(errno: e.errnoCode), false)
        case let e as NIOConnectionError:
            if let first = e.connectionErrors.first { return describe(first.error) }
            if e.dnsAError != nil || e.dnsAAAAError != nil { return ("cannot resolve \(host)", false) }
            return ("cannot connect to \(hostPort)", false)
        case let e as ChannelError:
            if case .connectTimeout(let t) = e { return ("no connection to \(hostPort) within \(seconds(t))", false) }
            if case .ioOnClosedChannel = e { return ("connection to \(hostPort) closed before an answer", false) }
            return ("connection to \(hostPort) failed: \(e)", false)
        case is NIOSSLError, is NIOSSLExtraError, is BoringSSLError:
            return ("TLS handshake with \(hostPort) failed: \(Self.tlsCause(error))", true)
        case is SocketAddressError:
            return ("cannot resolve \(host)", false)
        default:
            return ("no answer from \(hostPort): \(String(String(describing: error).prefix(160)))", false)
        }
    }

    private func describe(_ e: HTTPClientError) -> String {
        switch e {
        case .deadlineExceeded, .readTimeout:
            return "no answer within \(DurationParser.format(timeout)) (remote_write.timeout)"
        case .connectTimeout:
            return "no connection to \(hostPort) within 5s"
        case .tlsHandshakeTimeout:
            return "TLS handshake with \(hostPort) timed out"
        case .remoteConnectionClosed:
            return "connection closed by \(hostPort) before an answer"
        case .cancelled:
            return "request to \(hostPort) cancelled (agent stopping?)"
        case .invalidURL, .emptyHost, .emptyScheme:
            return "remote_write.url cannot be used (\(e))"
        default:
            return "no answer from \(hostPort): \(e)"
        }
    }

    private func describe(errno code: CInt) -> String {
        switch code {
        case ECONNREFUSED: "connection refused by \(hostPort)"
        case ECONNRESET: "connection reset by \(hostPort)"
        case ETIMEDOUT: "connection to \(hostPort) timed out"
        case EHOSTUNREACH: "\(hostPort) unreachable (no route to host)"
        case ENETUNREACH: "\(hostPort) unreachable (network unreachable)"
        case EPIPE: "connection to \(hostPort) closed while sending"
        default: "cannot connect to \(hostPort): \(String(cString: strerror(code)))"
        }
    }

    private func seconds(_ t: TimeAmount) -> String {
        DurationParser.format(.nanoseconds(t.nanoseconds))
    }

    /// BoringSSL's reason ("CERTIFICATE_VERIFY_FAILED" → "certificate verify failed"), else a
    /// short form of the error.
    static func tlsCause(_ error: Error) -> String {
        let text = String(describing: error)
        if let r = text.range(of: "OPENSSL_internal:", options: .backwards) {
            let code = text[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            if !code.isEmpty { return code.lowercased().replacingOccurrences(of: "_", with: " ") }
        }
        if let e = error as? NIOSSLError, case .uncleanShutdown = e {
            return "connection closed during the handshake"
        }
        if let e = error as? NIOSSLExtraError, e == .failedToValidateHostname {
            return "certificate does not match the host name"
        }
        return String(text.prefix(160))
    }
}
