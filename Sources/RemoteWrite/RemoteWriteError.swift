/// Why a series could not be built, or a request encoded or decoded.
public enum RemoteWriteError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A label name is empty or does not match `[a-zA-Z_][a-zA-Z0-9_]*`.
    case invalidLabelName(String)
    /// The value of `__name__` does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    case invalidMetricName(String)
    /// A label has an empty value.
    case emptyLabelValue(name: String)
    /// The same label name appears twice in one series.
    case duplicateLabelName(String)
    /// The series has no `__name__` label.
    case missingMetricName
    /// The series has no sample.
    case noSamples(metric: String)
    /// libsnappy reported an error (its `snappy_status`).
    case snappy(operation: String, status: Int32)
    /// The body is not valid snappy, or not a WriteRequest once uncompressed.
    case malformedBody(String)

    public var description: String {
        switch self {
        case .invalidLabelName(let n): "invalid label name \"\(n)\": must match [a-zA-Z_][a-zA-Z0-9_]*"
        case .invalidMetricName(let n): "invalid metric name \"\(n)\": must match [a-zA-Z_:][a-zA-Z0-9_:]*"
        case .emptyLabelValue(let n): "label \"\(n)\" has an empty value"
        case .duplicateLabelName(let n): "label \"\(n)\" appears more than once"
        case .missingMetricName: "series has no __name__ label"
        case .noSamples(let m): "series \"\(m)\" has no sample"
        case .snappy(let op, let status): "\(op) failed with snappy_status \(status)"
        case .malformedBody(let why): "malformed remote-write body: \(why)"
        }
    }
}
