import Foundation

/// How a `/metrics` response body is encoded, chosen from the request's `Accept-Encoding`.
public enum ContentCoding: String, Sendable, Hashable {
    case identity
    case gzip

    /// The coding to answer `acceptEncoding` with (RFC 9110 §12.5.3, q-values honoured).
    ///
    /// gzip when the client gives it (`gzip`, `x-gzip`, or `*` when gzip is not named) a
    /// q-value above 0 and not below the one it gives identity by name (or by `*`); identity
    /// otherwise (no header, `gzip;q=0`, `identity;q=1, gzip;q=0.5`, only codings we do not
    /// have such as `br`). An identity the header does not name is acceptable but does not
    /// outrank a named gzip. A client refusing both still gets identity, which it can at least
    /// read.
    ///
    /// - Parameter acceptEncoding: The header's value(s), comma-joined; nil when absent.
    public static func negotiate(_ acceptEncoding: String?) -> ContentCoding {
        guard let acceptEncoding else { return .identity }
        var gzip: Double?, identity: Double?, any: Double?
        for item in acceptEncoding.split(separator: ",") {
            let parts = item.split(separator: ";")
            guard let name = parts.first?.trimmingCharacters(in: .whitespaces).lowercased(), !name.isEmpty else { continue }
            var q = 1.0
            for parameter in parts.dropFirst() {
                let kv = parameter.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces).lowercased() == "q" else { continue }
                // A malformed q is not a reason to send what the client may not read.
                q = Double(kv[1].trimmingCharacters(in: .whitespaces)).map { min(max($0, 0), 1) } ?? 0
            }
            switch name {
            case "gzip", "x-gzip": gzip = max(gzip ?? 0, q)
            case "identity": identity = q
            case "*": any = q
            default: break
            }
        }
        let gzipQ = gzip ?? any ?? 0
        let identityQ = identity ?? any ?? 0
        return gzipQ > 0 && gzipQ >= identityQ ? .gzip : .identity
    }
}
