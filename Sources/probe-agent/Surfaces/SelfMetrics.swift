import AdminAPI
import Foundation
import ProbeAgentCore
import ProbeEngine
import Shipper

/// The agent's own series for `/metrics` (`probeagent_*` plus the standard `process_*`):
/// build info, scheduler, engine, queue, spill log, shipper, delivery mode, config reloads.
/// A store's own series (mode, queue, backlog, remote-write counters) carry `remote_name` and
/// `url`, one series per `remote_write` endpoint; the spill log's are the agent's.
enum SelfMetrics {
    static func render(_ snap: LoopSummary, delivery stores: [ShipperStats], into w: inout ExpositionWriter) {
        w.header("probeagent_build_info", .gauge, "Always 1; the labels name the build.")
        w.sample("probeagent_build_info", [("version", AgentVersion.current)], 1)
        w.header("process_start_time_seconds", .gauge, "Start time of the process since the Unix epoch.")
        w.sample("process_start_time_seconds", [], snap.startedAt.timeIntervalSince1970.rounded())
        w.header("process_cpu_seconds_total", .counter, "User and system CPU time spent.")
        w.sample("process_cpu_seconds_total", [], ProcessUsage.cpuSeconds())
        w.header("process_resident_memory_bytes", .gauge, "Resident memory size.")
        w.sample("process_resident_memory_bytes", [], Double(ProcessUsage.residentBytes()))

        scheduler(snap, &w)
        engine(snap, &w)
        config(snap, &w)
        if let d = stores.first {
            shared(d, oldestAge: stores.compactMap(\.spillOldestPendingAgeSeconds).max(), wholeStall: ShipperStats.deliveryStalled(stores), &w)
            perStore(stores, &w)
            spillCaps(snap.config.spill, &w)
        }
        w.header("probeagent_remote_write_enabled", .gauge, "1 when a remote_write receiver is configured.")
        w.sample("probeagent_remote_write_enabled", [], stores.isEmpty ? 0 : 1)
    }

    /// Discovery sources: failures, targets and the latest good answer, by monitor and source.
    static func discovery(_ sources: [TargetDiscovery.SourceStats], into w: inout ExpositionWriter) {
        guard !sources.isEmpty else { return }
        w.header("probeagent_sd_failures_total", .counter, "Discovery refreshes that failed (the source's last good targets were kept).")
        for s in sources { w.sample("probeagent_sd_failures_total", [("monitor", s.monitor), ("source", s.source)], Double(s.failures)) }
        w.header("probeagent_sd_targets", .gauge, "Targets in the source's latest good answer (before sharding).")
        for s in sources { w.sample("probeagent_sd_targets", [("monitor", s.monitor), ("source", s.source)], Double(s.targets)) }
        w.header("probeagent_sd_last_success_timestamp_seconds", .gauge, "When the source last answered well (0: never), since the Unix epoch.")
        for s in sources {
            w.sample("probeagent_sd_last_success_timestamp_seconds", [("monitor", s.monitor), ("source", s.source)], (s.lastSuccess ?? 0).rounded())
        }
    }

    private static func scheduler(_ snap: LoopSummary, _ w: inout ExpositionWriter) {
        let s = snap.scheduleStats
        w.header("probeagent_monitors", .gauge, "Monitors in the running config.")
        w.sample("probeagent_monitors", [], Double(snap.config.monitors.count))
        w.header("probeagent_targets", .gauge, "Targets over all monitors.")
        w.sample("probeagent_targets", [], Double(snap.targetCount))
        w.header("probeagent_monitor_down", .gauge, "1 while every target of the monitor fails.")
        for m in snap.config.monitors { w.sample("probeagent_monitor_down", [("monitor", m.id)], snap.down.contains(m.id) ? 1 : 0) }
        w.header("probeagent_monitor_suppressed", .gauge, "1 while a monitor this one depends on is down.")
        for m in snap.config.monitors { w.sample("probeagent_monitor_suppressed", [("monitor", m.id)], snap.suppressed.contains(m.id) ? 1 : 0) }
        counter(&w, "probeagent_scheduler_probes_fired_total", "Probes the scheduler made due.", s.fired)
        counter(&w, "probeagent_scheduler_skipped_in_flight_total", "Firings skipped because the previous probe of the target was still in flight.", s.skippedInFlight)
        counter(&w, "probeagent_scheduler_deferred_total", "Probes deferred to a later tick by scheduler.max_probes_per_second.", s.deferredByRateCap)
        counter(&w, "probeagent_scheduler_missed_periods_total", "Cadence periods skipped because the loop fell behind by more than one period.", s.missedPeriods)
        counter(&w, "probeagent_scheduler_stale_results_total", "Results for entries a reload had removed or replaced.", s.staleResults + snap.staleResults)
        w.header("probeagent_scheduler_pending_sends", .gauge, "Due probes waiting for room in the engine (back-pressure).")
        w.sample("probeagent_scheduler_pending_sends", [], Double(snap.pendingSends))
        histogram(&w, "probeagent_scheduler_lateness_seconds", "Actual minus scheduled fire time of each probe (loop slip).", snap.lateness)
        histogram(&w, "probeagent_send_lateness_seconds", "When each probe left (kernel TX timestamp) minus its scheduled fire time: the loop's slip plus the engine sending the rest of its batch.", snap.sendLateness)
        histogram(&w, "probeagent_loop_turn_duration_seconds", "Work per turn of the probing loop, its wait excluded; a turn over 10 ms makes the probes due meanwhile late.", snap.loopTurns)
        w.header("probeagent_resolver_failing_names", .gauge, "Hostnames whose latest lookup failed (the last good address is kept).")
        w.sample("probeagent_resolver_failing_names", [], Double(snap.resolverFailures.count))
    }

    private static func engine(_ snap: LoopSummary, _ w: inout ExpositionWriter) {
        let e = snap.engine
        w.header("probeagent_engine_in_flight", .gauge, "Probes sent and not yet answered or timed out.")
        w.sample("probeagent_engine_in_flight", [], Double(snap.inFlight))
        counter(&w, "probeagent_engine_probes_submitted_total", "Probes accepted by the engine.", e.submitted)
        counter(&w, "probeagent_engine_results_total", "Results the engine produced (one per probe).", e.completed)
        counter(&w, "probeagent_engine_send_errors_total", "Probes the kernel refused to send.", e.send_errors)
        counter(&w, "probeagent_engine_replies_matched_total", "Replies matched to a probe in flight.", e.replies_matched)
        w.header("probeagent_engine_unmatched_replies_total", .counter, "Packets that matched no probe in flight, by reason; never attributed to a probe.")
        w.sample("probeagent_engine_unmatched_replies_total", [("reason", "foreign")], Double(e.unmatched_foreign))
        w.sample("probeagent_engine_unmatched_replies_total", [("reason", "stale")], Double(e.unmatched_stale))
        w.sample("probeagent_engine_unmatched_replies_total", [("reason", "malformed")], Double(e.unmatched_malformed))
        w.header("probeagent_engine_replies_refused_total", .counter, "Replies and ICMP errors that were ours in shape but named no probe in flight with that identity, address, ports and nonce (forged, late or duplicate), by the first check they failed; their sum is unmatched reason=\"stale\".")
        for r in ReplyRefusal.allCases { w.sample("probeagent_engine_replies_refused_total", [("reason", r.description)], Double(e.refused(r))) }
        counter(&w, "probeagent_engine_backpressure_total", "Submissions the engine could not take at once (retried on the next turn).", e.backpressure)
        counter(&w, "probeagent_engine_user_clock_results_total", "Results timed with the user-space clock instead of kernel timestamps.", e.user_clock_results)
        w.header("probeagent_capabilities_dropped", .gauge, "1 when every capability was dropped after the sockets were opened.")
        w.sample("probeagent_capabilities_dropped", [], snap.engineInfo.capabilitiesDropped ? 1 : 0)
    }

    private static func config(_ snap: LoopSummary, _ w: inout ExpositionWriter) {
        w.header("probeagent_config_reloads_total", .counter, "Config reloads by result.")
        w.sample("probeagent_config_reloads_total", [("result", "success")], Double(snap.reloads.succeeded))
        w.sample("probeagent_config_reloads_total", [("result", "failure")], Double(snap.reloads.failed))
        w.header("probeagent_config_last_reload_successful", .gauge, "0 when the latest reload was refused (the previous config keeps running).")
        w.sample("probeagent_config_last_reload_successful", [], snap.reloads.lastError == nil ? 1 : 0)
        w.header("probeagent_config_last_reload_timestamp_seconds", .gauge, "Time of the latest reload attempt (0: none yet).")
        w.sample("probeagent_config_last_reload_timestamp_seconds", [], snap.reloads.lastAt?.timeIntervalSince1970 ?? 0)
    }

    /// What every store shares: the results handed over, the spill log, the dead letters, the
    /// shipper thread's stall. `oldestAge`: of the oldest result some store still waits for.
    private static func shared(_ d: ShipperStats, oldestAge: Double?, wholeStall: Bool, _ w: inout ExpositionWriter) {
        counter(&w, "probeagent_results_total", "Results handed to delivery.", d.resultsReceived)
        counter(&w, "probeagent_results_not_durable_total", "Results the spill log refused (disk full, EIO, read-only), shipped from memory only.", d.notDurableResults)
        w.header("probeagent_delivery_stalled", .gauge, "1 while delivery as a whole is stalled (/health 503): the shipper thread, or every store, made no progress for remote_write.stall_timeout with work waiting.")
        w.sample("probeagent_delivery_stalled", [], wholeStall ? 1 : 0)
        gauge(&w, "probeagent_spill_bytes", "Bytes in the spill log's segments.", d.spillBytes)
        gauge(&w, "probeagent_spill_segments", "Segment files in the spill log.", d.spillSegments)
        w.header("probeagent_spill_oldest_age_seconds", .gauge, "Age of the oldest result waiting on disk for some store (0 when none).")
        w.sample("probeagent_spill_oldest_age_seconds", [], oldestAge ?? 0)
        counter(&w, "probeagent_spill_corrupt_records_total", "Spill records skipped because their CRC or framing was bad.", UInt64(d.spillCorruptRecords))
        counter(&w, "probeagent_spill_write_errors_total", "Failed writes to the spill log.", d.spillWriteErrors)
        counter(&w, "probeagent_spill_written_bytes_total", "Bytes of compressed result blocks appended to the spill log.", d.spillBytesWritten)
        gauge(&w, "probeagent_dead_letter_bytes", "Bytes in the dead-letter directory (spill.dead_letter_max_bytes caps them).", Int(d.deadLetterBytes))
        counter(&w, "probeagent_dead_letter_dropped_results_total", "Dead-lettered results deleted by spill.dead_letter_max_bytes, oldest request first.", d.deadLetterDroppedResults)
    }

    /// Each store's series, labelled `remote_name` and `url`.
    private static func perStore(_ stores: [ShipperStats], _ w: inout ExpositionWriter) {
        func each(_ name: String, _ type: ExpositionWriter.Kind, _ help: String, _ value: (ShipperStats) -> Double) {
            w.header(name, type, help)
            for d in stores { w.sample(name, labels(d), value(d)) }
        }
        w.header("probeagent_delivery_mode", .gauge, "1 for the store's current delivery mode: normal, degraded (store unreachable, spilling) or recovery (draining the backlog).")
        for d in stores {
            for m in DeliveryMode.allCases { w.sample("probeagent_delivery_mode", labels(d) + [("mode", m.rawValue)], d.mode == m ? 1 : 0) }
        }
        each("probeagent_delivery_mode_changed_timestamp_seconds", .gauge, "Time of the store's latest delivery mode change.") { $0.modeChangedAt.timeIntervalSince1970 }
        each("probeagent_remote_write_stalled", .gauge, "1 while the store's requests have gone unanswered for its stall_timeout (or delivery as a whole is stalled); the other stores go on.") { $0.stalled == nil ? 0 : 1 }
        each("probeagent_results_shipped_total", .counter, "Results the store accepted.") { Double($0.resultsShipped) }
        each("probeagent_results_lost_total", .counter, "Results that could be neither kept in memory nor written to disk, or refused by a full hand-off while the shipper stalled.") { Double($0.resultsLost) }
        each("probeagent_queue_depth", .gauge, "Results in the store's memory queue (the read cache of the spill log's tail, requests on their way included).") { Double($0.memQueueDepth) }
        each("probeagent_queue_capacity", .gauge, "Memory queue capacity per store (queue.mem_items_cap).") { Double($0.memQueueCap) }
        each("probeagent_queue_overflows_total", .counter, "Results that waited on disk only because the store's memory queue was full (not lost).") { Double($0.memQueueOverflows) }
        each("probeagent_spill_pending_results", .gauge, "Results on disk waiting to be shipped to the store.") { Double($0.spillPendingRecords) }
        each("probeagent_spill_dropped_results_total", .counter, "Results dropped by spill.max_bytes or spill.max_age before the store got them.") { Double($0.spillDroppedRecords) }
        each("probeagent_remote_write_samples_sent_total", .counter, "Samples the store accepted.") { Double($0.samplesSent) }
        each("probeagent_remote_write_requests_total", .counter, "Remote-write requests the store accepted.") { Double($0.requestsSent) }
        each("probeagent_remote_write_requests_in_flight", .gauge, "Remote-write requests sent and not answered yet (remote_write.requests_in_flight at most).") { Double($0.requestsInFlight) }
        each("probeagent_remote_write_requests_failed_total", .counter, "Remote-write requests that failed (retried unless dead-lettered).") { Double($0.requestsFailed) }
        each("probeagent_remote_write_sent_bytes_total", .counter, "Bytes of remote-write request bodies sent (snappy-compressed protobuf), retries included; HTTP, TLS and TCP framing not counted.") { Double($0.bodyBytesSent) }
        each("probeagent_remote_write_retries_total", .counter, "Retries after 5xx, 429 or network errors.") { Double($0.retries) }
        each("probeagent_remote_write_dead_letter_results_total", .counter, "Results set aside because the store rejected their request as malformed.") { Double($0.deadLetterResults) }
        each("probeagent_remote_write_too_old_results_total", .counter, "Results the store refused as too old (given up, counted).") { Double($0.tooOldResultsDropped) }
        each("probeagent_remote_write_highest_sent_timestamp_seconds", .gauge, "Newest sample timestamp the store accepted.") { Double($0.highestSentTimestampMs) / 1000 }
        each("probeagent_remote_write_lag_seconds", .gauge, "Now minus the newest sample timestamp the store accepted (0 before the first).") { $0.lagSeconds() ?? 0 }
        let name = "probeagent_remote_write_request_duration_seconds"
        w.header(name, .histogram, "Time from sending a remote-write request to the store's answer (any answer).")
        for d in stores { histogramSamples(&w, name, d.requestDurations, labels(d)) }
    }

    private static func labels(_ d: ShipperStats) -> [(String, String)] { [("remote_name", d.endpoint), ("url", d.url)] }

    /// The caps, so a rule can say "near its cap" without repeating the config.
    private static func spillCaps(_ spill: SpillConfig, _ w: inout ExpositionWriter) {
        w.header("probeagent_spill_max_bytes", .gauge, "spill.max_bytes: past it the oldest segment is dropped (counted).")
        w.sample("probeagent_spill_max_bytes", [], Double(spill.maxBytes))
        let age = spill.maxAge.components
        w.header("probeagent_spill_max_age_seconds", .gauge, "spill.max_age: results older than this are dropped (counted).")
        w.sample("probeagent_spill_max_age_seconds", [], Double(age.seconds) + Double(age.attoseconds) / 1e18)
    }

    private static func histogram(_ w: inout ExpositionWriter, _ name: String, _ help: String, _ h: DurationHistogram) {
        w.header(name, .histogram, help)
        histogramSamples(&w, name, h, [])
    }

    private static func histogramSamples(_ w: inout ExpositionWriter, _ name: String, _ h: DurationHistogram, _ labels: [(String, String)]) {
        var cumulative: UInt64 = 0
        for (i, bound) in DurationHistogram.bounds.enumerated() {
            cumulative += h.counts[i]
            w.sample(name + "_bucket", labels + [("le", ExpositionWriter.bound(Double(bound) / 1e9))], Double(cumulative))
        }
        w.sample(name + "_bucket", labels + [("le", "+Inf")], Double(h.count))
        w.sample(name + "_sum", labels, Double(h.sum) / 1e9)
        w.sample(name + "_count", labels, Double(h.count))
    }

    private static func counter(_ w: inout ExpositionWriter, _ name: String, _ help: String, _ v: UInt64) {
        w.header(name, .counter, help)
        w.sample(name, [], Double(v))
    }

    private static func gauge(_ w: inout ExpositionWriter, _ name: String, _ help: String, _ v: Int) {
        w.header(name, .gauge, help)
        w.sample(name, [], Double(v))
    }
}
