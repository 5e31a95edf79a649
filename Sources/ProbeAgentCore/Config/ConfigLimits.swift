/// How much a config document may ask of the loader, checked before any tree is built.
///
/// A config file is trusted input of a kind, but it is also what a typo, a bad template or a
/// half-finished generator produces, and the agent re-reads it on its own when it changes. Each
/// limit stops one way a file can cost the agent more than it can afford:
///
/// - `maxBytes`: reading and parsing are linear in size; 16 MiB is half again the largest
///   realistic file: 100k monitors of one target each, with labels, measure 10.6 MB (100k
///   targets in 1,000 monitors: 2.1 MB) and take 7.7 s of CPU in a debug build
///   (scripts/bench-config-load.sh).
/// - `maxDepth`: Yams composes the tree recursively, and Swift frees and compares nested enums
///   recursively; 5,000 nested lists overflowed the stack (SIGSEGV). `agent.yaml` nests 5 deep;
///   64 leaves room and stays far from any stack.
/// - `maxAliases`, `maxAliasExpansion`: an alias (`*name`) stands for the whole anchored node,
///   and aliases of aliases multiply (a "billion laughs" document of 0.5 MB stands for 10⁹
///   nodes). Yams shares the anchored node, but everything that walks the tree walks every copy.
///   The expansion counts every node an alias stands for, nested aliases included.
public struct ConfigLimits: Sendable, Hashable {
    /// Largest file, in bytes.
    public var maxBytes: Int
    /// Deepest nesting of lists and mappings (the top-level mapping is depth 1).
    public var maxDepth: Int
    /// Most alias uses (`*name`) in the document.
    public var maxAliases: Int
    /// Most nodes all alias uses together may stand for.
    public var maxAliasExpansion: Int

    /// Creates limits; the defaults are the agent's.
    public init(maxBytes: Int = 16 << 20, maxDepth: Int = 64, maxAliases: Int = 10_000,
                maxAliasExpansion: Int = 1_000_000) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxAliases = maxAliases
        self.maxAliasExpansion = maxAliasExpansion
    }

    /// The limits `probe-agent` and `agentctl config check` apply.
    public static let standard = ConfigLimits()

    /// `16 MiB (16777216 bytes)`, for messages.
    static func describeBytes(_ bytes: Int) -> String {
        let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        for (unit, scale) in units where bytes >= scale && bytes % scale == 0 {
            return "\(bytes / scale) \(unit) (\(bytes) bytes)"
        }
        return "\(bytes) bytes"
    }
}
