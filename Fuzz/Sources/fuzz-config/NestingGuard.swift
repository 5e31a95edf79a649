/// An upper bound on a YAML document's nesting depth, for the workaround in main.swift.
///
/// Every nested collection needs an indicator of its own: a flow one its bracket, a block one
/// more indentation than its parent or a compact `- `/`? ` on the same line. So the depth is at
/// most the longest line plus the number of `[` and `{`. Loose, but cheap and never too low.
enum NestingGuard {
    /// Ten times the nesting of any real config; far below where Yams overflows the stack.
    static let limit = 256

    static func bound(_ text: String) -> Int {
        var longest = 0, line = 0, brackets = 0
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                longest = max(longest, line)
                line = 0
                continue
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                brackets += 1
            default:
                break
            }
            line += 1
        }
        return max(longest, line) + brackets
    }
}
