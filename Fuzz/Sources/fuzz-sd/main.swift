// fuzz-sd: a discovery answer (a file_sd file, an http_sd response body) → TargetGroup.parse.
// Input: the answer's bytes. Contract, besides no trap: the parse either returns groups —
// every target an address the monitors accept, no label `__`-prefixed, reserved or invalid,
// within DiscoveryLimits — that survive being written out again and parsed the other way
// (as YAML, which the fast JSON path never takes: the two paths agree), or throws errors that
// each carry the source, a position and a message.

import FuzzSupport
import ProbeAgentCore

/// A string as a YAML double-quoted scalar with everything but printable ASCII escaped, so
/// the text read back is exactly `s` whatever it holds.
func quoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u.value {
        case 0x22: out += "\\\""
        case 0x5C: out += "\\\\"
        case 0x20...0x7E: out.unicodeScalars.append(u)
        case 0...0xFFFF: out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
        default: out += "\\U" + String(repeating: "0", count: 8 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
        }
    }
    return out + "\""
}

/// Groups as a YAML document (a comment first: not the fast path's `[`).
func yaml(_ groups: [TargetGroup]) -> [UInt8] {
    var text = "# written again by fuzz-sd\n"
    if groups.isEmpty { text += "[]\n" }
    for g in groups {
        text += "- targets: [\(g.targets.map(quoted).joined(separator: ", "))]\n"
        text += "  labels: {\(g.labels.sorted { $0.key < $1.key }.map { "\(quoted($0.key)): \(quoted($0.value))" }.joined(separator: ", "))}\n"
    }
    return Array(text.utf8)
}

let seeds: [(name: String, bytes: [UInt8])] = [
    ("http-sd", Array(#"[{"targets":["198.18.1.1","198.18.1.2:9100","[2001:db8::1]:80","router-1.example"],"labels":{"site":"ams","rack":"r1","__meta_x":"dropped"}},{"targets":[]}]"#.utf8)),
    ("file-sd-yaml", Array("- targets: [198.18.1.3, 'db.example:5432']\n  labels:\n    team: storage\n- targets: ['2001:db8::5']\n".utf8)),
    ("empty", Array("[]".utf8)),
    ("bad", Array(#"[{"targets":["not an address!", 7],"labels":{"monitor":"x","0bad":"y"},"extra":1}]"#.utf8)),
    ("escapes", Array(#"[{"targets":["198.18.1.9"],"labels":{"note":"tab\tquote\"nul\u0000é\ud83d\ude00"}}]"#.utf8)),
]

let limits = DiscoveryLimits.standard

Fuzzer.main(seeds: { seeds }) { raw in
    let bytes = Array(raw)
    do throws(ConfigErrors) {
        let groups = try TargetGroup.parse(bytes, source: "sd.json")
        Fuzzer.check(groups.count <= limits.maxGroups, "\(groups.count) groups, over the limit")
        Fuzzer.check(groups.reduce(0) { $0 + $1.targets.count } <= limits.maxTargets, "targets over the limit")
        for g in groups {
            for t in g.targets { Fuzzer.check(TargetAddress(parsing: t) != nil, "target '\(t)' is not an address a monitor takes") }
            for name in g.labels.keys {
                Fuzzer.check(!name.hasPrefix("__") && LabelRules.isValidName(name) && !LabelRules.reserved.contains(name),
                             "label name '\(name)' kept")
            }
        }
        do throws(ConfigErrors) {
            let again = try TargetGroup.parse(yaml(groups), source: "again.yml")
            Fuzzer.check(again == groups, "the groups read back differ: \(groups) → \(again)")
        } catch {
            Fuzzer.check(false, "groups written again do not parse: \(error.errors.map(\.message))")
        }
    } catch {
        Fuzzer.check(!error.errors.isEmpty, "ConfigErrors without an error")
        for e in error.errors {
            Fuzzer.check(e.line >= 0 && e.column >= 0 && !e.message.isEmpty && e.file == "sd.json", "error without position or message: \(e)")
        }
    }
}
