/// A place in the write-ahead log, as the log's owner defines it (the shipper: a SpillPosition),
/// opaque to the delivery policy: it only keeps one per chunk and hands it back in commits.
public struct LogPosition: Sendable {
    public let value: any Sendable

    public init(_ value: any Sendable) { self.value = value }
}
