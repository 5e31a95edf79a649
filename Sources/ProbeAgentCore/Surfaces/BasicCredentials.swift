import Foundation

/// A user and password from an `Authorization: Basic …` request header (RFC 7617).
public struct BasicCredentials: Sendable, Hashable {
    public var user: String
    public var password: String

    public init(user: String, password: String) { (self.user, self.password) = (user, password) }

    /// The credentials in `authorization`; nil when absent, not Basic, not base64, not UTF-8
    /// or without the `:` between user and password.
    public init?(authorization: String?) {
        guard let authorization else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let data = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":") else { return nil }
        user = String(text[..<colon])
        password = String(text[text.index(after: colon)...])
    }
}

/// Results of bcrypt checks already made, so a scraper sending the same credentials every
/// 15 s costs one bcrypt (tens of ms by design) per change of password or hash, not one per
/// scrape — as the exporter-toolkit does.
///
/// Keyed by user, password and the hash checked against, so a changed hash in the web config
/// is checked anew. Failures are kept too: a client retrying a wrong password does not cost a
/// bcrypt each time. Bounded: past `capacity` the oldest entry goes, so clients sending ever
/// new passwords cannot grow it.
public struct VerifiedCredentials: Sendable {
    public struct Key: Hashable, Sendable {
        public var credentials: BasicCredentials
        /// The bcrypt hash checked against ("" for a user the config does not have).
        public var hash: String
        public init(_ credentials: BasicCredentials, hash: String) { (self.credentials, self.hash) = (credentials, hash) }
    }

    public let capacity: Int
    private var results: [Key: Bool] = [:]
    private var order: [Key] = []
    private var oldest = 0

    public init(capacity: Int = 100) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// The kept result for `key`, nil when it must be checked.
    public func result(_ key: Key) -> Bool? { results[key] }

    /// Keeps a check's result, dropping the oldest entry when full.
    public mutating func keep(_ key: Key, _ matched: Bool) {
        if results.updateValue(matched, forKey: key) != nil { return }
        if order.count < capacity {
            order.append(key)
        } else {
            results[order[oldest]] = nil
            order[oldest] = key
            oldest = (oldest + 1) % capacity
        }
    }

    public var count: Int { results.count }
}
