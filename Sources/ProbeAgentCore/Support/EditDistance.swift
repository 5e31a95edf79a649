import Foundation

/// Levenshtein distance and "did you mean" suggestions for misspelt config keys.
enum EditDistance {
    /// The number of single-character insertions, deletions and substitutions that turn `a`
    /// into `b`. O(|a|·|b|) time, O(|b|) memory; keys are short.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// The candidate closest to `word`, if it is close enough to be a plausible typo: at most
    /// a third of the word's length away (and at least 2 allowed). Ties go to the first
    /// candidate, so suggestions are stable.
    static func suggestion(for word: String, among candidates: [String]) -> String? {
        let normalized = word.lowercased().replacingOccurrences(of: "-", with: "_")
        let allowed = max(2, word.count / 3)
        let length = normalized.unicodeScalars.count
        var best: (String, Int)?
        // The distance is at least the difference in length: skipping candidates further off
        // than `allowed` keeps a long word (a pasted blob as a key) from costing |a|·|b| each.
        for candidate in candidates where abs(candidate.unicodeScalars.count - length) <= allowed {
            let d = candidate == normalized ? 0 : distance(normalized, candidate)
            if best == nil || d < best!.1 { best = (candidate, d) }
        }
        guard let best, best.1 <= allowed else { return nil }
        return best.0
    }
}
