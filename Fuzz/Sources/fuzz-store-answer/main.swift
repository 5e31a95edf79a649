// fuzz-store-answer: a store's answer (status, headers, body bytes) → StoreAnswer →
// StoreResponse.classify → the verdict's Retry-After through Backoff. Input layout
// (StoreAnswerInput.swift):
//
//   u8 flags (bit 0: no HTTP answer at all) | u16 status | u16 body limit |
//   u8 header count (0–7) | (chunk name, chunk value)* | chunk transport error | body: the rest
//
// where chunk = u16 length + bytes. Contract: the answer is classified by meaning (no HTTP
// answer and every 5xx/429/401… is failing, 2xx accepted), never a trap, and no Retry-After a
// store sends makes the backoff negative or longer than its cap; a reason quotes the store's
// text in excerpts (what a person reads on /health stays short).

import FuzzSupport
import ProbeAgentCore

Fuzzer.main(seeds: StoreAnswerInput.seeds) { bytes in
    let input = StoreAnswerInput(bytes)
    let answer = input.answer()
    let verdict = StoreResponse.classify(answer)
    switch verdict {
    case .accepted:
        Fuzzer.check(answer.status.map { (200..<300).contains($0) } ?? false, "accepted a non-2xx answer")
    case .failing(let reason, let retryAfter):
        Fuzzer.check(!reason.isEmpty, "failing without a reason")
        if let retryAfter { Fuzzer.check(retryAfter >= .zero, "negative Retry-After \(retryAfter)") }
    case .tooLarge(let reason), .malformed(let reason):
        Fuzzer.check(answer.status != nil && !reason.isEmpty, "\(verdict) without an HTTP status or reason")
    case .tooOld:
        Fuzzer.check(answer.status != nil, "too old without an HTTP answer")
    }
    if answer.status != nil, let reason = verdict.reason {
        // What a person reads on /health: the store's text is quoted in excerpts, never whole.
        Fuzzer.check(reason.count <= 2 * StoreResponse.reasonBodyLimit + 100, "reason of \(reason.count) characters")
    }
    if answer.status == nil {
        guard case .failing = verdict else { return Fuzzer.check(false, "no HTTP answer classified as \(verdict)") }
    }
    if let text = answer.retryAfter, let parsed = StoreResponse.parseRetryAfter(text) {
        Fuzzer.check(parsed >= .zero, "Retry-After '\(text)' parsed as \(parsed)")
    }
    // What the delivery machine does with a failing answer: back off, honouring Retry-After.
    if case .failing(_, let retryAfter) = verdict {
        var backoff = Backoff()
        for attempt in 0..<Int(input.attempts) {
            let delay = backoff.next(random: input.random, retryAfter: retryAfter)
            Fuzzer.check(delay >= .zero && delay <= max(backoff.cap, backoff.retryAfterCap),
                         "backoff \(delay) at attempt \(attempt) for Retry-After \(String(describing: retryAfter))")
        }
    }
}

extension StoreVerdict {
    var reason: String? {
        switch self {
        case .accepted, .tooOld: nil
        case .failing(let reason, _), .tooLarge(let reason), .malformed(let reason): reason
        }
    }
}
