/// What to do with a remote-write request, given the store's answer.
public enum StoreVerdict: Sendable, Hashable {
    /// 2xx: delivered.
    case accepted
    /// 5xx, 429, timeouts, connection errors: try the same request again later.
    case retry(after: Duration?)
    /// Another 4xx: the request itself is bad; set it aside (dead letter), never retry.
    case reject
    /// Samples older (or further out of order) than the store accepts: one bad sample fails the
    /// whole request, so split it to isolate them rather than retry forever.
    case tooOld
}

public enum StoreResponse {
    /// Classifies an answer. `status` nil means no HTTP answer at all (network error, timeout).
    public static func classify(status: Int?, body: String, retryAfter: String?) -> StoreVerdict {
        guard let status else { return .retry(after: nil) }
        if (200..<300).contains(status) { return .accepted }
        let text = body.lowercased()
        // Prometheus: "out of bounds" (older than the head block) and "too old sample" (outside
        // the out-of-order window) — 400 or 500 depending on version; never worth retrying.
        if ["out of bounds", "too old", "out of order sample"].contains(where: text.contains) { return .tooOld }
        if status == 429 || status >= 500 { return .retry(after: retryAfter.flatMap(parseRetryAfter)) }
        return .reject
    }

    /// Retry-After as delta-seconds ("120"); HTTP-dates are treated as unknown (backoff applies).
    public static func parseRetryAfter(_ text: String) -> Duration? {
        guard let s = Int(text.trimmingCharacters(in: .whitespaces)), s >= 0 else { return nil }
        return .seconds(s)
    }
}
