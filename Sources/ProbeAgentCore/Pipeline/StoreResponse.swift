/// What a remote-write answer means for the request, by meaning rather than by status class
/// (DESIGN.md, "Store answers by meaning").
public enum StoreVerdict: Sendable, Hashable {
    /// 2xx: delivered.
    case accepted
    /// The store is failing — 401/403/404/405/407/408, 429, 5xx, 3xx (redirects are never
    /// followed), timeouts, connection and TLS errors: keep the results, back off, retry.
    /// `reason` is for a person (status, body excerpt, where a redirect pointed).
    case failing(reason: String, retryAfter: Duration?)
    /// 413: failing as above, and requests must get smaller.
    case tooLarge(reason: String)
    /// 400, 422 and other answers that say this request itself is malformed: set it aside in
    /// the dead-letter directory, never retry.
    case malformed(reason: String)
    /// Samples older (or further out of order) than the store accepts: one bad sample fails the
    /// whole request, so split it to isolate them rather than retry forever.
    case tooOld
}

/// A store's answer as the transport saw it; no HTTP status means no HTTP answer at all.
public struct StoreAnswer: Sendable, Hashable {
    /// HTTP status, nil when the request got no HTTP answer (connection, TLS, timeout).
    public var status: Int?
    /// The first bytes of the response body (the transport caps what it reads).
    public var body: String
    /// The Retry-After header, as sent.
    public var retryAfter: String?
    /// The Location header of a 3xx.
    public var location: String?
    /// Why there was no HTTP answer, worded for a person ("connection refused by 127.0.0.1:9090").
    public var transportError: String?

    public init(status: Int?, body: String = "", retryAfter: String? = nil, location: String? = nil,
                transportError: String? = nil) {
        self.status = status
        self.body = body
        self.retryAfter = retryAfter
        self.location = location
        self.transportError = transportError
    }

    /// An HTTP answer as it came off the wire: Retry-After and Location are the first header of
    /// each name (names compared case-insensitively), the body is its first `bodyLimit` bytes
    /// read as UTF-8 (invalid sequences replaced). Everything here is the store's: any bytes.
    public init(status: Int, headers: some Sequence<(name: String, value: String)>, body: some Collection<UInt8>,
                bodyLimit: Int) {
        func first(_ name: String) -> String? {
            let wanted = name.lowercased()
            return headers.first { $0.name.lowercased() == wanted }?.value
        }
        self.init(status: status, body: String(decoding: body.prefix(max(0, bodyLimit)), as: UTF8.self),
                  retryAfter: first("Retry-After"), location: first("Location"))
    }
}

public enum StoreResponse {
    /// Longest body excerpt (and Location) a reason quotes.
    public static let reasonBodyLimit = 200

    /// Classifies an answer (see ``StoreVerdict``).
    public static func classify(_ a: StoreAnswer) -> StoreVerdict {
        guard let status = a.status else {
            return .failing(reason: a.transportError ?? "no answer from the store", retryAfter: nil)
        }
        if (200..<300).contains(status) { return .accepted }
        let text = a.body.lowercased()
        // Prometheus: "out of bounds" (older than the head block) and "too old sample" (outside
        // the out-of-order window) — 400 or 500 depending on version; never worth retrying.
        if ["out of bounds", "too old", "out of order sample"].contains(where: text.contains) { return .tooOld }
        let why = reason(status: status, body: a.body)
        switch status {
        case 300..<400:
            // The Location is quoted like the body: cut, whatever length the store sent.
            let target = a.location.map { String($0.prefix(reasonBodyLimit)) } ?? "(no Location)"
            return .failing(reason: "\(why): redirect to \(target) not followed; fix remote_write.url", retryAfter: nil)
        case 413:
            return .tooLarge(reason: why)
        case 401, 403, 404, 405, 407, 408, 429, 500...:
            return .failing(reason: why, retryAfter: a.retryAfter.flatMap(parseRetryAfter))
        default:
            // 400, 422 and the other 4xx: this request is malformed; another try cannot help.
            return .malformed(reason: why)
        }
    }

    /// "HTTP 401 Unauthorized: <first line of the body>" — what a person reads on /health.
    public static func reason(status: Int, body: String) -> String {
        let name = statusNames[status].map { " " + $0 } ?? ""
        let excerpt = body.split(whereSeparator: \.isNewline).first.map { String($0.prefix(reasonBodyLimit)) } ?? ""
        return excerpt.isEmpty ? "HTTP \(status)\(name)" : "HTTP \(status)\(name): \(excerpt)"
    }

    private static let statusNames: [Int: String] = [
        301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect", 308: "Permanent Redirect",
        400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
        407: "Proxy Authentication Required", 408: "Request Timeout", 413: "Content Too Large",
        422: "Unprocessable Content", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
        503: "Service Unavailable", 504: "Gateway Timeout",
    ]

    /// Retry-After as delta-seconds ("120"); HTTP-dates are treated as unknown (backoff applies).
    public static func parseRetryAfter(_ text: String) -> Duration? {
        guard let s = Int(text.trimmingCharacters(in: .whitespaces)), s >= 0 else { return nil }
        return .seconds(s)
    }
}
