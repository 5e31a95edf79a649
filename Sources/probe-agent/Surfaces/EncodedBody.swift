@preconcurrency import CompressNIO
import Hummingbird
import NIOCore
import ProbeAgentCore

/// A response body written in chunks, gzip-compressed on the way when the client asked for it
/// (``ContentCoding``).
///
/// The `/metrics` page streams in ~1 MiB chunks and is never whole in memory; compressed, it
/// stays so: each chunk goes through one zlib stream per response (its state ~256 KiB) into
/// 64 KiB windows that are written out as they fill. Compressing per response rather than once
/// per shared snapshot keeps that bound: a compressed page kept for the scrapes to come would
/// be tens of MB (scripts/bench-scrape.sh --gzip; README "Securing and compressing /metrics").
struct EncodedBody {
    private var writer: any ResponseBodyWriter
    private let compressor: ZlibCompressor?
    private var window = ByteBuffer()

    /// zlib level 1: the exposition's repeated label text compresses about as well at 1 as at
    /// the default 6, for a fraction of the CPU (measured: README).
    static var gzipLevel: ZlibConfiguration.CompressionLevel { .fastestCompression }
    static let windowBytes = 64 * 1024

    init(_ writer: any ResponseBodyWriter, coding: ContentCoding) throws {
        self.writer = writer
        switch coding {
        case .identity:
            compressor = nil
        case .gzip:
            compressor = try ZlibCompressor(algorithm: .gzip, configuration: .init(compressionLevel: Self.gzipLevel))
            window = ByteBufferAllocator().buffer(capacity: Self.windowBytes)
        }
    }

    /// Writes `bytes` (compressed, if so).
    mutating func write(_ bytes: [UInt8]) async throws {
        var buffer = ByteBuffer(bytes: bytes)
        guard let compressor else { return try await writer.write(buffer) }
        try await compress(&buffer, compressor, flush: .no)
    }

    /// Ends the body (the gzip trailer first, if compressing).
    consuming func finish() async throws {
        if let compressor {
            var empty = ByteBuffer()
            try await compress(&empty, compressor, flush: .finish)
        }
        try await writer.finish(nil)
    }

    /// Compresses `buffer` into the window, writing each window out as it fills (and the last,
    /// part-filled one at `.finish`).
    private mutating func compress(_ buffer: inout ByteBuffer, _ compressor: ZlibCompressor, flush: CompressNIOFlush) async throws {
        // The closure writes while the window is lent out: both taken out of self meanwhile
        // (the window swapped, not copied, so filling it copies nothing).
        var out = writer, window = ByteBuffer()
        swap(&window, &self.window)
        defer { (writer, self.window) = (out, window) }
        try await buffer.compressStream(with: compressor, window: &window, flush: flush) { try await out.write($0) }
    }

    /// The response headers for `coding`: `Content-Encoding` when compressed, and `Vary` always,
    /// since the body depends on the request's `Accept-Encoding`.
    static func headers(_ coding: ContentCoding, contentType: String) -> HTTPFields {
        var h: HTTPFields = [.contentType: contentType, .vary: "Accept-Encoding"]
        if coding == .gzip { h[.contentEncoding] = "gzip" }
        return h
    }
}
