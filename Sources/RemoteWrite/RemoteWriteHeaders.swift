/// The HTTP headers a remote-write 1.0 request carries.
public enum RemoteWriteHeaders {
    public static let contentEncoding = "snappy"
    public static let contentType = "application/x-protobuf"
    /// The protocol version header value that remote write 1.0 senders send.
    public static let protocolVersion = "0.1.0"
    public static let versionHeaderName = "X-Prometheus-Remote-Write-Version"

    /// `User-Agent` value for a given agent version, e.g. `probe-agent/0.1.0`.
    public static func userAgent(agentVersion: String) -> String {
        "probe-agent/\(agentVersion)"
    }

    /// All four headers as name/value pairs, ready to add to a request.
    public static func all(agentVersion: String) -> [(name: String, value: String)] {
        [
            ("Content-Encoding", contentEncoding),
            ("Content-Type", contentType),
            (versionHeaderName, protocolVersion),
            ("User-Agent", userAgent(agentVersion: agentVersion)),
        ]
    }
}
