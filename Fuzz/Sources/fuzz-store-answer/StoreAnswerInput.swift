import FuzzSupport
import ProbeAgentCore

/// The fields of one fuzz input (layout in main.swift).
struct StoreAnswerInput {
    var noAnswer = false
    var status = 0
    var bodyLimit = 0
    var headers: [(name: String, value: String)] = []
    var transportError = ""
    var body: [UInt8] = []
    /// Backoff draws: how many, and the random value (from the flags' upper bits).
    var attempts: UInt8 = 0
    var random = 0.0

    init(_ bytes: UnsafeRawBufferPointer) {
        var r = FuzzInput(bytes)
        let flags = r.u8()
        noAnswer = flags & 1 != 0
        attempts = (flags >> 1) & 0x7
        random = Double(flags >> 4) / 16
        status = Int(r.u16())
        bodyLimit = Int(r.u16())
        for _ in 0..<(r.u8() & 7) {
            headers.append((String(decoding: r.chunk(), as: UTF8.self), String(decoding: r.chunk(), as: UTF8.self)))
        }
        transportError = String(decoding: r.chunk(), as: UTF8.self)
        body = r.rest()
    }

    func answer() -> StoreAnswer {
        if noAnswer { return StoreAnswer(status: nil, transportError: transportError.isEmpty ? nil : transportError) }
        return StoreAnswer(status: status, headers: headers, body: body, bodyLimit: bodyLimit)
    }

    /// One seed: the input bytes for an answer.
    static func seed(status: Int?, headers: [(String, String)] = [], body: String = "", transportError: String = "",
                     bodyLimit: UInt16 = 4096, flags: UInt8 = 0x2 | 0x80) -> [UInt8] {
        var w = FuzzInputWriter()
        w.u8(flags | (status == nil ? 1 : 0))
        w.u16(UInt16(status ?? 0))
        w.u16(bodyLimit)
        w.u8(UInt8(headers.count))
        for (name, value) in headers {
            w.chunk(Array(name.utf8))
            w.chunk(Array(value.utf8))
        }
        w.chunk(Array(transportError.utf8))
        w.raw(body.utf8)
        return w.bytes
    }

    /// Answers real stores give (Prometheus, VictoriaMetrics, proxies), one of each kind.
    static func seeds() -> [(name: String, bytes: [UInt8])] {
        [
            ("204-accepted", seed(status: 204)),
            ("200-accepted-body", seed(status: 200, body: "ok\n")),
            ("400-out-of-bounds", seed(status: 400, body: "out of bounds: sample timestamp 1700000000000 is older than head\n")),
            ("500-too-old-sample", seed(status: 500, body: "too old sample\n")),
            ("400-out-of-order", seed(status: 400, body: "out of order sample")),
            ("400-malformed", seed(status: 400, body: "snappy: corrupt input\n")),
            ("422-unprocessable", seed(status: 422, body: "cannot parse WriteRequest: unexpected EOF")),
            ("413-too-large", seed(status: 413, headers: [("Content-Type", "text/plain")], body: "request body too large")),
            ("429-retry-after", seed(status: 429, headers: [("Retry-After", "120")], body: "rate limited")),
            ("503-retry-after-date", seed(status: 503, headers: [("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")])),
            ("503-retry-after-huge", seed(status: 503, headers: [("Retry-After", " 99999999999999999 ")])),
            ("503-retry-after-negative", seed(status: 503, headers: [("RETRY-AFTER", "-5")])),
            ("301-redirect", seed(status: 301, headers: [("Location", "https://store.example/api/v1/write")])),
            ("307-no-location", seed(status: 307)),
            ("401-unauthorized", seed(status: 401, headers: [("WWW-Authenticate", "Bearer")], body: "unauthorized\nmore")),
            ("403-forbidden", seed(status: 403, body: String(repeating: "x", count: 300))),
            ("404-html", seed(status: 404, body: "<html><body><h1>404 Not Found</h1></body></html>")),
            ("408-timeout", seed(status: 408)),
            ("418-other", seed(status: 418, body: "I'm a teapot")),
            ("502-proxy", seed(status: 502, body: "\r\n\r\nbad gateway")),
            ("999-odd-status", seed(status: 999)),
            ("body-limit-cuts-utf8", seed(status: 500, body: "é€😀 too old", bodyLimit: 3)),
            ("no-answer-refused", seed(status: nil, transportError: "connection refused by 127.0.0.1:9090")),
            ("no-answer-empty", seed(status: nil)),
        ] + [("500-invalid-utf8", seed(status: 500) + [0xC3, 0x28, 0xFF, 0xFE, 0xED, 0xA0, 0x80])]
    }
}
