/// Where a monitor's targets come from besides its static `targets`: files and HTTP endpoints
/// in Prometheus's discovery formats (a JSON or YAML list of `{targets, labels}` groups), and
/// which share of the whole list this agent probes.
public struct DiscoveryConfig: Sendable, Hashable {
    /// `file_sd_configs`.
    public var files: [FileSD] = []
    /// `http_sd_configs`.
    public var http: [HTTPSD] = []
    /// `shard`: nil probes every target.
    public var shard: Shard?

    public init(files: [FileSD] = [], http: [HTTPSD] = [], shard: Shard? = nil) {
        self.files = files
        self.http = http
        self.shard = shard
    }

    /// Whether any discovery source is set (then `targets` may be left out).
    public var hasSources: Bool { !files.isEmpty || !http.isEmpty }

    /// One `file_sd_configs` entry: files (globs) re-read when they change and every interval.
    public struct FileSD: Sendable, Hashable {
        /// Paths; the last component may hold `*`, `?` or `[…]` (glob(3)).
        public var files: [String]
        /// Every file is read again this often even when it looks unchanged. Default 5 m.
        public var refreshInterval: Duration = .seconds(300)
        public init(files: [String], refreshInterval: Duration = .seconds(300)) {
            self.files = files
            self.refreshInterval = refreshInterval
        }
    }

    /// One `http_sd_configs` entry: a GET every `refresh_interval`; only a 200 with a JSON
    /// list of groups counts.
    public struct HTTPSD: Sendable, Hashable {
        public var url: String
        /// Default 60 s.
        public var refreshInterval: Duration = .seconds(60)
        /// `basic_auth` (`password` or `password_file`).
        public var basicAuth: RemoteWriteConfig.BasicAuth?
        /// `authorization: {type: Bearer, credentials | credentials_file}`: the token, or the
        /// file it is read from on every request.
        public var bearerToken: String?
        public var bearerTokenFile: String?
        /// `tls_config`: read on every request.
        public var tls = RemoteWriteConfig.TLSFiles()
        public init(url: String) { self.url = url }

        /// The URL without user info, query or fragment: how logs and the `source` label name
        /// it (no secret leaks there).
        public var redactedURL: String {
            var text = url
            if let cut = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = String(text[..<cut]) }
            if let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@"),
               !text[scheme.upperBound..<at].contains("/") {
                text = String(text[..<scheme.upperBound]) + String(text[text.index(after: at)...])
            }
            return text
        }
    }

    /// `shard: {count, index}`: this agent probes the targets whose ``ShardHash`` mod `count`
    /// is `index`.
    public struct Shard: Sendable, Hashable {
        public var count: Int
        public var index: Int
        public init(count: Int, index: Int) {
            self.count = count
            self.index = index
        }
    }
}
