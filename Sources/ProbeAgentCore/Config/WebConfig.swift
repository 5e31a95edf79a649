/// The HTTP listener's web config (`--web.config.file`, `http.web_config_file`), in the
/// Prometheus exporter-toolkit format: TLS, basic auth with bcrypt hashes, response headers.
///
/// The subset probe-agent serves: `tls_server_config` (`cert_file`, `key_file`,
/// `client_auth_type`, `client_ca_file`, `min_version`, `max_version`, `cipher_suites`),
/// `http_server_config` (`headers`; `http2` is accepted and has no effect: the listener speaks
/// HTTP/1.1), `basic_auth_users`; `prefer_server_cipher_suites` is accepted and has no effect. Keys the toolkit knows and probe-agent does not apply (inline
/// `cert`/`key`/`client_ca`, `client_allowed_sans`, `curve_preferences`, `rate_limit` …) are
/// errors, never silently ignored: each of them would weaken what the operator asked for.
public struct WebConfig: Sendable, Hashable {
    /// `tls_server_config`; nil: plain HTTP.
    public var tls: TLS?
    /// `http_server_config.headers`, set on every response, in file order.
    public var headers: [Header] = []
    /// `basic_auth_users`: user → bcrypt hash; empty: no authentication asked.
    public var basicAuthUsers: [String: String] = [:]

    /// Creates the defaults: plain HTTP, no headers, no authentication.
    public init(tls: TLS? = nil, headers: [Header] = [], basicAuthUsers: [String: String] = [:]) {
        self.tls = tls
        self.headers = headers
        self.basicAuthUsers = basicAuthUsers
    }

    /// One response header.
    public struct Header: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(name: String, value: String) { (self.name, self.value) = (name, value) }
    }

    /// `tls_server_config`. Paths are resolved against the web config file's directory, as
    /// the exporter-toolkit does.
    public struct TLS: Sendable, Hashable {
        public var certFile: String
        public var keyFile: String
        public var clientAuth: ClientAuth = .none
        /// The CA that client certificates must chain to (`client_ca_file`).
        public var clientCAFile: String?
        public var minVersion: Version = .tls12
        public var maxVersion: Version = .tls13
        /// IANA codes of the TLS ≤ 1.2 cipher suites allowed, in preference order; empty: the
        /// TLS library's defaults.
        public var cipherSuites: [UInt16] = []

        public init(certFile: String, keyFile: String) { (self.certFile, self.keyFile) = (certFile, keyFile) }

        /// The parts a running listener cannot change: a new TLS context and verification
        /// policy need a restart; the certificate and key are swapped at the next handshake.
        public func sameExceptCertificate(_ other: TLS) -> Bool {
            var a = self, b = other
            (a.certFile, a.keyFile, b.certFile, b.keyFile) = ("", "", "", "")
            return a == b
        }
    }

    /// `client_auth_type`: the Go names the toolkit takes, less the two that accept a client
    /// certificate without verifying it (`RequestClientCert`, `RequireAnyClientCert`).
    public enum ClientAuth: String, Sendable, Hashable, CaseIterable {
        case none = "NoClientCert"
        case verifyIfGiven = "VerifyClientCertIfGiven"
        case requireAndVerify = "RequireAndVerifyClientCert"
    }

    /// `min_version` / `max_version`.
    public enum Version: String, Sendable, Hashable, CaseIterable, Comparable {
        case tls10 = "TLS10", tls11 = "TLS11", tls12 = "TLS12", tls13 = "TLS13"

        public static func < (a: Version, b: Version) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    /// True when a request must carry credentials.
    public var requiresAuthentication: Bool { !basicAuthUsers.isEmpty }
}
