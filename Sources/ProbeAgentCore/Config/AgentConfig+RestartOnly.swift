/// Which parts of the config a running agent takes on reload and which only at start.
extension AgentConfig {
    /// Every top-level section but these is read once at start (listeners, delivery, spill,
    /// logging: the objects built from them live as long as the process).
    static let liveSections: Set<String> = ["defaults", "monitors", "scheduler"]

    /// The sections (YAML names) this config changes, compared with `old`, that a reload
    /// cannot apply: they take effect at the next restart. Found by walking the config's
    /// stored properties, so a new section is restart-only unless listed in ``liveSections``;
    /// of `scheduler`, the loop priority and the resolver's settings are read at start.
    public func restartOnlyChanges(from old: AgentConfig) -> [String] {
        var changed: [String] = []
        let mine = Mirror(reflecting: self).children, theirs = Mirror(reflecting: old).children
        for (a, b) in zip(mine, theirs) {
            guard let label = a.label else { continue }
            let name = Self.yamlName(label)
            guard !Self.liveSections.contains(name) else { continue }
            if let x = a.value as? any Hashable, let y = b.value as? any Hashable, AnyHashable(x) == AnyHashable(y) { continue }
            changed.append(name)
        }
        let s = scheduler, o = old.scheduler
        if s.loopPriority != o.loopPriority { changed.append("scheduler.loop_priority") }
        if s.resolveInterval != o.resolveInterval { changed.append("scheduler.resolve_interval") }
        if s.resolveTimeout != o.resolveTimeout { changed.append("scheduler.resolve_timeout") }
        return changed
    }

    /// `remoteWrite` → `remote_write`.
    static func yamlName(_ property: String) -> String {
        var out = ""
        for c in property {
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
        return out
    }
}
