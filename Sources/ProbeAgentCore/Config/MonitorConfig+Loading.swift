import Yams

extension MonitorConfig {
    static let keys = ["id", "protocol", "targets", "port", "cadence", "timeout", "labels", "depends_on",
                       "address_family", "all_addresses", "file_sd_configs", "http_sd_configs", "shard", "path"] + packetKeys

    /// A monitor as read, with the nodes later cross-checks point at.
    struct Parsed {
        var config: MonitorConfig
        var idNode: Node
        var dependsOn: [(String, Node)]
    }

    /// Reads the `monitors` list, then checks ids, `depends_on` references and cycles.
    static func readAll(_ node: Node, defaults: MonitorDefaults, tick: Duration,
                        _ reader: inout NodeReader) -> [MonitorConfig] {
        guard case .sequence(let items) = node else {
            reader.error(at: node, "expected a list for monitors, found \(NodeReader.describe(node))")
            return []
        }
        var parsed: [Parsed] = []
        var firstLine: [String: Int] = [:]
        for item in items {
            guard let monitor = read(item, defaults: defaults, tick: tick, &reader) else { continue }
            let id = monitor.config.id
            if let line = firstLine[id] {
                reader.error(at: monitor.idNode, "duplicate monitor id '\(id)' (first defined at line \(line))")
                continue
            }
            firstLine[id] = monitor.idNode.mark?.line ?? 0
            parsed.append(monitor)
        }
        let idList = parsed.map(\.config.id)
        let ids = Set(idList)
        // Suggestions compare against every id: the first 100 are plenty and keep a file of
        // 100k unknown names linear.
        var suggestionsLeft = 100
        for monitor in parsed {
            for (parent, node) in monitor.dependsOn where !ids.contains(parent) {
                var message = "depends_on names unknown monitor '\(parent)'"
                if suggestionsLeft > 0, let near = EditDistance.suggestion(for: parent, among: idList) {
                    message += "; did you mean '\(near)'?"
                }
                suggestionsLeft -= 1
                reader.error(at: node, message)
            }
        }
        let graph = DependencyGraph(parsed.map { ($0.config.id, $0.config.dependsOn.filter(ids.contains)) })
        for cycle in graph.cycles() {
            guard let start = parsed.first(where: { $0.config.id == cycle[0] }) else { continue }
            let node = start.dependsOn.first { $0.0 == cycle[1] }?.1 ?? start.idNode
            reader.error(at: node, "dependency cycle: \(DependencyGraph.describe(cycle))")
        }
        return parsed.map(\.config)
    }

    /// Reads one monitor, applying defaults; `nil` if it lacks an id or protocol.
    static func read(_ node: Node, defaults: MonitorDefaults, tick: Duration,
                     _ reader: inout NodeReader) -> Parsed? {
        guard let fields = reader.fields(node, in: "monitor", known: keys) else { return nil }
        let idNode = reader.require(fields, "id", in: "monitor")
        let id = idNode.flatMap { reader.string($0, "id") }
        let what = id.map { "monitor '\($0)'" } ?? "monitor"
        if let id, let idNode, id.isEmpty || id.contains(where: \.isWhitespace) {
            reader.error(at: idNode, "monitor id '\(id)' must be non-empty and contain no whitespace")
        }
        var proto: ProbeProtocol?
        if let n = reader.require(fields, "protocol", in: what), let text = reader.string(n, "protocol") {
            proto = ProbeProtocol(rawValue: text)
            if proto == nil {
                let names = ProbeProtocol.allCases.map(\.rawValue).joined(separator: ", ")
                reader.error(at: n, "unknown protocol '\(text)' in \(what); expected one of \(names)")
            }
        }
        let discovery = DiscoveryConfig.read(fields, what, &reader)
        let (targets, targetLabels) = readTargets(fields, what, optional: discovery.hasSources, &reader)
        var port: UInt16?
        if let n = fields["port"] {
            if proto == .icmp {
                reader.error(at: n, "port is not used by protocol icmp in \(what); remove it")
            } else if let value = reader.int(n, "port", in: 1...65535) {
                port = UInt16(value)
            }
        } else if let proto, proto.needsPort {
            reader.error(at: fields.node, "missing required key 'port' in \(what) (protocol \(proto.rawValue) needs one)")
        }
        let cadenceNode = fields["cadence"]
        let cadence = cadenceNode.flatMap { reader.duration($0, "cadence") } ?? defaults.cadence
        if cadence < tick {
            reader.error(at: cadenceNode ?? fields.node, "cadence \(DurationParser.format(cadence)) in \(what) is shorter than scheduler.tick \(DurationParser.format(tick))")
        }
        let timeoutNode = fields["timeout"]
        let timeout = timeoutNode.flatMap { reader.duration($0, "timeout") }
            ?? defaults.timeout ?? MonitorDefaults.defaultTimeout(cadence: cadence)
        if timeout >= cadence {
            let source = timeoutNode == nil ? " (from defaults)" : ""
            reader.error(at: timeoutNode ?? cadenceNode ?? fields.node,
                         "timeout \(DurationParser.format(timeout))\(source) must be less than cadence \(DurationParser.format(cadence)) in \(what)")
        } else if timeout > .seconds(600) || timeout < .milliseconds(1) {
            reader.error(at: timeoutNode ?? fields.node, "timeout \(DurationParser.format(timeout)) in \(what) must be between 1ms and 10m")
        }
        var labels = defaults.labels
        if let n = fields["labels"] {
            labels.merge(LabelRules.read(n, "labels of \(what)", reserved: true, &reader)) { _, own in own }
        }
        var dependsOn: [(String, Node)] = []
        if let n = fields["depends_on"] { dependsOn = reader.stringList(n, "depends_on") ?? [] }
        var family = AddressFamily.any
        if let n = fields["address_family"], let text = reader.string(n, "address_family") {
            if let f = AddressFamily(rawValue: text) { family = f } else {
                let names = AddressFamily.allCases.map(\.rawValue).joined(separator: ", ")
                reader.error(at: n, "unknown address_family '\(text)' in \(what); expected one of \(names)")
            }
        }
        let allAddresses = fields["all_addresses"].flatMap { reader.bool($0, "all_addresses") } ?? false
        var packet = readPacketOptions(fields, proto, what, &reader)
        packet.source = readSource(fields, targets: targets, family: family, what, &reader)
        if proto == .tcpConnect, let n = fields["source"] {
            reader.error(at: n, "source does not apply to protocol tcp-connect in \(what) (the kernel makes its packets); use icmp or tcp-syn")
        }
        let burst = readBurst(fields, cadence: cadence, timeout: timeout, what, &reader)
        let path = readPath(fields, proto, cadence: cadence, what, &reader)
        guard let id, let idNode, let proto else { return nil }
        var config = MonitorConfig(id: id, probeProtocol: proto, targets: targets, port: port, cadence: cadence,
                                   timeout: timeout, labels: labels, dependsOn: dependsOn.map(\.0),
                                   addressFamily: family, allAddresses: allAddresses, packet: packet,
                                   targetLabels: targetLabels, discovery: discovery)
        (config.packets, config.spacing) = burst
        config.path = path
        return Parsed(config: config, idNode: idNode, dependsOn: dependsOn)
    }

    /// `targets`: each entry an address (string) or `{address, labels}`; returns the
    /// addresses in order and the labels of those that have some. `optional`: the monitor has
    /// discovery sources, so `targets` may be absent or empty.
    private static func readTargets(_ fields: Fields, _ what: String, optional: Bool, _ reader: inout NodeReader)
        -> (targets: [String], labels: [String: [String: String]])
    {
        if optional && fields["targets"] == nil { return ([], [:]) }
        guard let n = reader.require(fields, "targets", in: what) else { return ([], [:]) }
        guard case .sequence(let items) = n else {
            reader.error(at: n, "expected a list for targets, found \(NodeReader.describe(n))")
            return ([], [:])
        }
        if items.isEmpty && !optional { reader.error(at: n, "targets of \(what) is empty; list at least one address or hostname") }
        var targets: [String] = []
        var labels: [String: [String: String]] = [:]
        var seen: Set<TargetAddress> = []
        for item in items {
            var text: String?
            var own: [String: String] = [:]
            var at = item
            if case .mapping = item {
                guard let entry = reader.fields(item, in: "a target of \(what)", known: ["address", "labels"]) else { continue }
                if let a = reader.require(entry, "address", in: "a target of \(what)") {
                    text = reader.string(a, "address")
                    at = a
                }
                if let l = entry["labels"] {
                    own = LabelRules.read(l, "labels of target '\(text ?? "?")' in \(what)", reserved: true, &reader)
                }
            } else {
                text = reader.string(item, "an item of targets")
            }
            guard let text else { continue }
            guard let address = TargetAddress(parsing: text) else {
                reader.error(at: at, "invalid address '\(text)' in \(what): not an IPv4 or IPv6 literal nor a valid hostname")
                continue
            }
            guard seen.insert(address).inserted else {
                reader.error(at: at, "duplicate target '\(text)' in \(what)")
                continue
            }
            targets.append(text)
            if !own.isEmpty { labels[text] = own }
        }
        return (targets, labels)
    }
}
