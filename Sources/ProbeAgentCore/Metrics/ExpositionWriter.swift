/// Builds Prometheus text exposition format (0.0.4) into a byte buffer.
///
/// Hand-written rather than a metrics registry: per-target series live in the ledger's flat
/// arrays (no object per series, see ``RTTHistograms``) and are rendered straight from them.
/// Numbers are formatted without going through `String` for the common integer case.
public struct ExpositionWriter: Sendable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 64 * 1024) { bytes.reserveCapacity(capacity) }

    /// Hands the buffer over and starts an empty one (for chunked responses).
    public mutating func take() -> [UInt8] {
        let out = bytes
        bytes = []
        bytes.reserveCapacity(out.count)
        return out
    }

    /// `# HELP` and `# TYPE` lines; every family's samples must follow their header together.
    public mutating func header(_ name: String, _ kind: Kind, _ help: String) {
        append("# HELP "); append(name); append(" ")
        for c in help.utf8 {
            switch c {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            default: bytes.append(c)
            }
        }
        append("\n# TYPE "); append(name); append(" "); append(kind.rawValue); append("\n")
    }

    /// One sample with labels given as pairs (values are escaped here).
    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        append(name)
        if !labels.isEmpty {
            bytes.append(UInt8(ascii: "{"))
            for (i, (k, v)) in labels.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                append(k); append("=\""); appendEscaped(v); bytes.append(UInt8(ascii: "\""))
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
        append(double: value)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// One sample whose labels are an already-escaped block `a="x",b="y"` (per-target series),
    /// optionally followed by one more label whose value needs no escaping (`le`, `reason`).
    public mutating func sample(_ name: String, block: ArraySlice<UInt8>, extra: (String, String)? = nil, _ value: UInt64) {
        openSample(name, block: block, extra: extra)
        append(uint: value)
        bytes.append(UInt8(ascii: "\n"))
    }

    public mutating func sample(_ name: String, block: ArraySlice<UInt8>, extra: (String, String)? = nil, _ value: Double) {
        openSample(name, block: block, extra: extra)
        append(double: value)
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func openSample(_ name: String, block: ArraySlice<UInt8>, extra: (String, String)?) {
        append(name)
        bytes.append(UInt8(ascii: "{"))
        bytes.append(contentsOf: block)
        if let (k, v) = extra {
            bytes.append(UInt8(ascii: ",")); append(k); append("=\""); append(v); bytes.append(UInt8(ascii: "\""))
        }
        append("} ")
    }

    public mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// A label value with `\`, `"` and newline escaped, as the format requires.
    public mutating func appendEscaped(_ s: String) {
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\n"): append("\\n")
            default: bytes.append(c)
            }
        }
    }

    public mutating func append(uint value: UInt64) {
        if value < 10 { bytes.append(UInt8(ascii: "0") + UInt8(value)); return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var v = value, i = 20
            while v > 0 {
                i -= 1
                digits[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i...]))
        }
    }

    public mutating func append(double value: Double) {
        if value.isNaN { append("NaN"); return }
        if value.isInfinite { append(value > 0 ? "+Inf" : "-Inf"); return }
        if value >= 0, value < 1e15, value == value.rounded() { append(uint: UInt64(value)); return }
        append(value.description)
    }

    /// A bucket bound as Prometheus writes `le`: shortest form, no trailing `.0`.
    public static func bound(_ seconds: Double) -> String {
        var w = ExpositionWriter(capacity: 24)
        w.append(double: seconds)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
