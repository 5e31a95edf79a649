/// The label rules of Prometheus remote write 1.0, in one place.
///
/// - label names: `[a-zA-Z_][a-zA-Z0-9_]*`, non-empty, unique within a series;
/// - metric names (the value of `__name__`): `[a-zA-Z_:][a-zA-Z0-9_:]*`;
/// - values: any UTF-8, but not empty (an empty value means "label absent" to Prometheus, so a
///   series sent with one would not be found under the labels it was sent with);
/// - order: sorted by name in byte order, as Prometheus keeps label sets.
enum LabelRules {
    static let metricNameLabel = "__name__"

    static func validatedAndSorted(_ labels: [(String, String)]) throws -> [(String, String)] {
        for (name, value) in labels {
            guard isValidLabelName(name) else { throw RemoteWriteError.invalidLabelName(name) }
            guard !value.isEmpty else { throw RemoteWriteError.emptyLabelValue(name: name) }
        }
        // Byte order of the UTF-8 names (the names are ASCII once validated).
        let sorted = labels.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.0 == b.0 {
            throw RemoteWriteError.duplicateLabelName(a.0)
        }
        guard let name = sorted.first(where: { $0.0 == metricNameLabel })?.1 else {
            throw RemoteWriteError.missingMetricName
        }
        guard isValidMetricName(name) else { throw RemoteWriteError.invalidMetricName(name) }
        return sorted
    }

    static func metricName(_ labels: [(String, String)]) -> String {
        labels.first { $0.0 == metricNameLabel }?.1 ?? ""
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`
    static func isValidLabelName(_ name: String) -> Bool {
        isValid(name, extra: nil)
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    static func isValidMetricName(_ name: String) -> Bool {
        isValid(name, extra: UInt8(ascii: ":"))
    }

    private static func isValid(_ s: String, extra: UInt8?) -> Bool {
        var first = true
        for c in s.utf8 {
            let ok: Bool
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "_"):
                ok = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                ok = !first
            default:
                ok = extra == c
            }
            guard ok else { return false }
            first = false
        }
        return !first
    }
}
