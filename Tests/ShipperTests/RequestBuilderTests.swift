import ProbeAgentCore
@testable import RemoteWrite
@testable import Shipper
import Testing

/// The request body results become: each `all_addresses` address is its own series, with the
/// name as `target` and the address as `address`, next to the monitor's other targets.
@Suite("Request builder")
struct RequestBuilderTests {
    static func record(_ target: String, address: String?) -> ResultRecord {
        var labels = [("site", "lab")]
        if let address { labels.append(("address", address)) }
        return ResultRecord(monitorID: "m", target: target, probeProtocol: .icmp, outcome: .ok, suppressed: false,
                            rttNanoseconds: 1_000_000, timestampMilliseconds: 1_700_000_000_000, labels: labels)
    }

    @Test func addressesAreSeriesOfTheirOwnUnderTheName() throws {
        var builder = RequestBuilder(external: [("agent", "h1")])
        let batch = [Self.record("dual.test", address: "198.18.1.5"), Self.record("198.18.1.1", address: nil),
                     Self.record("dual.test", address: "2001:db8:1::5")]
        let request = try RWWriteRequest(serializedBytes: try builder.protobuf(batch))
        let success = request.timeseries.map { ts in
            Dictionary(uniqueKeysWithValues: ts.labels.map { ($0.name, $0.value) })
        }.filter { $0["__name__"] == "probe_success" }
        #expect(success.count == 3)
        #expect(success[0] == ["__name__": "probe_success", "agent": "h1", "site": "lab", "monitor": "m", "protocol": "icmp",
                               "target": "dual.test", "address": "198.18.1.5"])
        #expect(success[1]["address"] == nil && success[1]["target"] == "198.18.1.1")
        #expect(success[2]["address"] == "2001:db8:1::5" && success[2]["target"] == "dual.test")
        for ts in request.timeseries {
            let names = ts.labels.map(\.name)
            #expect(names == names.sorted(), "labels sorted by name, as remote write requires")
        }
        // `site` sorts after `address`, so the record's labels hold `address` first: still one
        // template for the monitor's addresses, not one per address.
        #expect(batch[0].labels.map(\.0) == ["address", "site"])
        #expect(builder.templatesBuilt == 2, "one for the addresses, one for the plain target: \(builder.templatesBuilt)")
        _ = try builder.protobuf([Self.record("dual.test", address: "198.18.1.6"), Self.record("other.test", address: "198.18.1.7")])
        #expect(builder.templatesBuilt == 2, "later addresses reuse it: \(builder.templatesBuilt)")
    }

    @Test func pathSamplesAreTheirMetricsSeriesWithHopAndRouter() throws {
        var builder = RequestBuilder(external: [("agent", "h1")])
        let batch = [1, 2].map { ttl in
            ResultRecord(path: PathSample(.hopLossRatio, ttl == 2 ? 1 : 0), monitorID: "m", target: "198.18.22.2", probeProtocol: .icmp,
                         timestampMilliseconds: 1_700_000_000_000, labels: [("site", "lab")], hop: (ttl, ttl == 2 ? "*" : "198.18.20.2"))
        } + [ResultRecord(path: PathSample(.changes, 4), monitorID: "m", target: "198.18.22.2", probeProtocol: .icmp,
                          timestampMilliseconds: 1_700_000_000_000, labels: [("site", "lab")]),
             Self.record("198.18.1.1", address: nil)]
        let request = try RWWriteRequest(serializedBytes: try builder.protobuf(batch))
        let series = request.timeseries.map { ts in Dictionary(uniqueKeysWithValues: ts.labels.map { ($0.name, $0.value) }) }
        #expect(series.count == 6, "two hops, changes, and the result's three")
        #expect(series[0] == ["__name__": "probe_path_hop_loss_ratio", "agent": "h1", "site": "lab", "monitor": "m", "protocol": "icmp",
                              "target": "198.18.22.2", "hop": "1", "router": "198.18.20.2"])
        #expect(series[1]["hop"] == "2" && series[1]["router"] == "*" && request.timeseries[1].samples.first?.value == 1)
        #expect(series[2]["__name__"] == "probe_path_changes_total" && series[2]["hop"] == nil && request.timeseries[2].samples.first?.value == 4)
        #expect(series[3]["__name__"] == "probe_success")
        for ts in request.timeseries {
            #expect(ts.labels.map(\.name) == ts.labels.map(\.name).sorted())
        }
    }
}
