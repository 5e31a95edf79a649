import CSnappy
import Foundation

/// Snappy *block* compression, as remote write 1.0 requires for the request body (not the
/// framed/stream format). Thin wrapper over libsnappy's C API.
public enum Snappy {
    /// Compresses `input` into one snappy block.
    public static func compress(_ input: Data) throws -> Data {
        var outLength = snappy_max_compressed_length(input.count)
        var out = Data(count: outLength)
        let status = out.withUnsafeMutableBytes { dst in
            withCChars(input) { src, count in
                snappy_compress(src, count, dst.baseAddress!.assumingMemoryBound(to: CChar.self), &outLength)
            }
        }
        guard status == SNAPPY_OK else {
            throw RemoteWriteError.snappy(operation: "snappy_compress", status: Int32(status.rawValue))
        }
        out.count = outLength
        return out
    }

    /// Uncompresses one snappy block.
    ///
    /// - Parameter maxLength: refuse blocks that claim to uncompress to more than this many
    ///   bytes (the length is read from the block header before anything is allocated).
    public static func uncompress(_ input: Data, maxLength: Int = 64 << 20) throws -> Data {
        try withCChars(input) { srcPtr, srcCount -> Data in
            var outLength = 0
            guard snappy_uncompressed_length(srcPtr, srcCount, &outLength) == SNAPPY_OK else {
                throw RemoteWriteError.malformedBody("not a snappy block (bad length header)")
            }
            guard outLength <= maxLength else {
                throw RemoteWriteError.malformedBody(
                    "snappy block claims \(outLength) bytes, more than the limit \(maxLength)")
            }
            var out = Data(count: outLength)
            let status = out.withUnsafeMutableBytes { dst in
                withUnsafeTemporaryAllocation(of: CChar.self, capacity: 1) { scratch in
                    snappy_uncompress(
                        srcPtr, srcCount,
                        dst.baseAddress?.assumingMemoryBound(to: CChar.self) ?? scratch.baseAddress!,
                        &outLength)
                }
            }
            guard status == SNAPPY_OK else {
                throw RemoteWriteError.malformedBody(
                    "snappy_uncompress failed with snappy_status \(status.rawValue)")
            }
            out.count = outLength
            return out
        }
    }

    /// Calls `body` with `data` as a C `char` buffer. libsnappy wants a non-null pointer even
    /// for an empty buffer, and an empty `Data` has none, so that case gets a scratch byte.
    private static func withCChars<R>(
        _ data: Data, _ body: (UnsafePointer<CChar>, Int) throws -> R
    ) rethrows -> R {
        try data.withUnsafeBytes { raw in
            if let base = raw.baseAddress, raw.count > 0 {
                return try body(base.assumingMemoryBound(to: CChar.self), raw.count)
            }
            var zero: CChar = 0
            return try body(&zero, 0)
        }
    }
}
