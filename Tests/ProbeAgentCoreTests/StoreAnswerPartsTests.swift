import ProbeAgentCore
import Testing

/// A store's answer from its raw HTTP parts, and what a reason quotes of it (the parts are the
/// store's: any bytes, any length; Fuzz/fuzz-store-answer goes further).
@Suite struct StoreAnswerPartsTests {
    @Test func headersByNameInAnyCaseTheFirstOfEach() {
        let headers: [(name: String, value: String)] = [("content-type", "text/plain"), ("RETRY-after", "7"),
                                                         ("Retry-After", "99"), ("location", "/x")]
        let a = StoreAnswer(status: 429, headers: headers, body: Array("slow down".utf8), bodyLimit: 4096)
        #expect(a.status == 429 && a.retryAfter == "7" && a.location == "/x" && a.body == "slow down")
        #expect(StoreResponse.classify(a) == .failing(reason: "HTTP 429 Too Many Requests: slow down", retryAfter: .seconds(7)))
    }

    @Test func theBodyIsCutAtItsLimitAndReadAsUTF8() {
        // "é" is two bytes: a limit of 3 cuts the second "é" in half, which reads as U+FFFD.
        let a = StoreAnswer(status: 500, headers: [(name: String, value: String)](), body: Array("éé too old".utf8), bodyLimit: 3)
        #expect(a.body == "é\u{FFFD}")
        let b = StoreAnswer(status: 500, headers: [(name: String, value: String)](), body: [0xFF, 0x41], bodyLimit: -1)
        #expect(b.body == "")
    }

    @Test func aRedirectQuotesItsLocationCut() {
        let far = "https://elsewhere/" + String(repeating: "a", count: 10_000)
        guard case .failing(let reason, nil) = StoreResponse.classify(StoreAnswer(status: 301, location: far)) else {
            Issue.record("a redirect is not failing")
            return
        }
        #expect(reason.hasPrefix("HTTP 301 Moved Permanently: redirect to https://elsewhere/aaa"))
        #expect(reason.count < 2 * StoreResponse.reasonBodyLimit)
        #expect(reason.hasSuffix(" not followed; fix remote_write.url"))
    }
}
