// Why libyaml's events, and why from here: Yams (5.x and 6.x) exposes only whole trees
// (`compose`, `load`), built by a recursive Swift loader, so a limit checked on its tree comes
// after the stack has already overflowed. Its C core, libyaml (the `CYaml` module Yams builds and
// links), parses into a flat stream of events with an explicit state stack and a bounded
// look-ahead (1,024 characters for a key), so reading events costs no recursion. Walking that
// stream once with a counter per open collection checks every limit before Yams sees the text,
// with the same parser, hence the same idea of where a list starts and what an alias names. A
// hand-written scanner would have to agree with libyaml on block scalars, quoting, flow
// context and comments to count right; this reuses libyaml instead.
//
// `CYaml` is not a product of the Yams package, but SwiftPM hands the module maps of every C
// target in the dependency graph to the targets above it, so it imports here. If a Yams upgrade
// renames it, this import is the one line to change.
import CYaml

/// Checks a YAML text against ``ConfigLimits`` by reading libyaml's event stream: nesting depth,
/// alias uses, and the nodes those aliases stand for.
///
/// One pass, O(events), memory O(depth + anchors). A syntax error ends the scan without a
/// finding: the text up to it was within the limits, and Yams then reports the error itself, in
/// the loader's usual words.
enum YAMLLimitScan {
    /// An open list or mapping: the nodes and the height of what it holds so far.
    private struct Open {
        var nodes = 0
        var height = 0
        var anchor: String?
    }

    /// An anchored node's size (alias uses inside it expanded) and height.
    private struct Anchored {
        var nodes: Int
        var height: Int
    }

    /// The first limit `yaml` exceeds, at the position where it is exceeded; nil if none.
    ///
    /// - Parameters:
    ///   - yaml: UTF-8 text (its size is checked by the caller).
    ///   - file: Name for the error position.
    ///   - limits: What to enforce.
    static func firstViolation(_ yaml: String, file: String, limits: ConfigLimits) -> ConfigError? {
        var text = yaml
        return text.withUTF8 { bytes in scan(bytes, file: file, limits: limits) }
    }

    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>, file: String, limits: ConfigLimits) -> ConfigError? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            return ConfigError(file: file, line: 0, column: 0, message: "cannot parse config: out of memory")
        }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(&parser, bytes.baseAddress, bytes.count)

        var open: [Open] = []
        var anchors: [String: Anchored] = [:]
        var aliases = 0
        var expansion = 0

        /// Sums that stop at Int.max: with limits raised far enough (a test's), aliases of
        /// aliases could count past it.
        func plus(_ a: Int, _ b: Int) -> Int {
            let (sum, overflow) = a.addingReportingOverflow(b)
            return overflow ? .max : sum
        }
        /// Adds a finished node to the collection around it, and remembers it if anchored.
        func finish(nodes: Int, height: Int, anchor: String?) {
            if let anchor { anchors[anchor] = Anchored(nodes: nodes, height: height) }
            guard !open.isEmpty else { return }
            open[open.count - 1].nodes = plus(open[open.count - 1].nodes, nodes)
            open[open.count - 1].height = max(open[open.count - 1].height, height)
        }

        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else { return nil } // Yams reports it
            defer { yaml_event_delete(&event) }
            let mark = event.start_mark
            func violation(_ message: String) -> ConfigError {
                ConfigError(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1, message: message)
            }
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return nil
            case YAML_DOCUMENT_START_EVENT:
                anchors = [:] // anchors belong to one document
            case YAML_SCALAR_EVENT:
                finish(nodes: 1, height: 0, anchor: name(event.data.scalar.anchor))
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                guard open.count < limits.maxDepth else {
                    return violation("lists and mappings nest deeper than \(limits.maxDepth) levels here "
                        + "(the limit for config files)")
                }
                let anchor = event.type == YAML_SEQUENCE_START_EVENT
                    ? name(event.data.sequence_start.anchor) : name(event.data.mapping_start.anchor)
                open.append(Open(anchor: anchor))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let done = open.popLast() else { continue }
                finish(nodes: plus(done.nodes, 1), height: done.height + 1, anchor: done.anchor)
            case YAML_ALIAS_EVENT:
                aliases += 1
                let alias = name(event.data.alias.anchor) ?? ""
                guard aliases <= limits.maxAliases else {
                    return violation("more than \(limits.maxAliases) aliases (*name) in one config file "
                        + "(the limit), at *\(alias)")
                }
                // An unknown name is Yams' error to report ("found undefined alias").
                guard let target = anchors[alias] else { finish(nodes: 1, height: 0, anchor: nil); continue }
                expansion = plus(expansion, target.nodes)
                guard expansion <= limits.maxAliasExpansion else {
                    return violation("aliases stand for more than \(limits.maxAliasExpansion) nodes in all "
                        + "(the limit for config files), *\(alias) alone for \(target.nodes)")
                }
                guard target.height <= limits.maxDepth - open.count else {
                    return violation("*\(alias) nests lists and mappings deeper than \(limits.maxDepth) levels "
                        + "(the limit for config files)")
                }
                finish(nodes: target.nodes, height: target.height, anchor: nil)
            default:
                continue
            }
        }
    }

    /// An anchor or alias name from libyaml (NUL-terminated UTF-8), or nil.
    private static func name(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
