//! The daemon's own Prometheus metrics. Each application instance has its own registry (no
//! globals), so several instances can run in one test process without mixing their numbers.

use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Registry and the metrics the HTTP layer and workers update.
pub struct Metrics {
    registry: Registry,
    /// Requests by method, route pattern (not raw path: bounded cardinality) and status.
    pub http_requests: IntCounterVec,
    /// Request durations in seconds by method and route pattern.
    pub http_duration: HistogramVec,
    /// Audit entries that could not be written (each is also logged as an error).
    pub audit_failures: IntCounter,
    /// CloudFront paths billed this month (a wildcard or a tag counts one).
    pub cloudfront_billed_paths: IntGauge,
    /// This month's estimated invalidation cost in USD.
    pub cloudfront_estimated_usd: Gauge,
    /// Notification delivery attempts by notifier and outcome (delivered, retried, failed).
    pub notifications: IntCounterVec,
    /// 1 while this replica leads (polls, evaluates alarms, rolls up), else 0.
    pub leader: IntGauge,
    /// 1 when the last configuration reload (or the start) succeeded, 0 after a refused one.
    pub config_reload_ok: IntGauge,
    /// When the configuration in force was last loaded, in Unix seconds.
    pub config_reload_at: Gauge,
    /// Per DynamoDB stream: age of the newest record the last read found (0: caught up).
    pub stream_lag: GaugeVec,
    /// Per DynamoDB stream: records turned into events.
    pub stream_records: IntCounterVec,
    /// Misses beyond the baseline that changes caused, by target, job kind and requester,
    /// counted once when a change's impact is final.
    pub change_extra_misses: IntCounterVec,
    /// Bytes on disk per sample table (indexes included), by table.
    store_bytes: IntGaugeVec,
    /// Bytes per raw sample in closed chunks.
    chunk_bytes_per_sample: Gauge,
}

impl Metrics {
    /// A fresh registry with build info set.
    pub fn new() -> Self {
        let registry = Registry::new();
        let build = IntGaugeVec::new(
            Opts::new(
                "cachewarden_build_info",
                "Always 1; the labels say which build is running.",
            ),
            &["version"],
        )
        .expect("static metric definition");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let http_requests = IntCounterVec::new(
            Opts::new("cachewarden_http_requests_total", "HTTP requests handled."),
            &["method", "route", "status"],
        )
        .expect("static metric definition");
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "cachewarden_http_request_duration_seconds",
                "Time to handle an HTTP request.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route"],
        )
        .expect("static metric definition");
        let audit_failures = IntCounter::new(
            "cachewarden_audit_write_failures_total",
            "Audit entries that could not be written.",
        )
        .expect("static metric definition");
        let cloudfront_billed_paths = IntGauge::new(
            "cachewarden_cloudfront_billed_paths",
            "CloudFront invalidation paths billed this month (a wildcard or a tag counts one).",
        )
        .expect("static metric definition");
        let cloudfront_estimated_usd = Gauge::new(
            "cachewarden_cloudfront_estimated_cost_usd",
            "This month's estimated CloudFront invalidation cost beyond the free paths, in USD.",
        )
        .expect("static metric definition");
        let notifications = IntCounterVec::new(
            Opts::new(
                "cachewarden_notification_attempts_total",
                "Notification delivery attempts by notifier and outcome (delivered, retried, failed).",
            ),
            &["notifier", "outcome"],
        )
        .expect("static metric definition");
        let leader = IntGauge::new(
            "cachewarden_leader",
            "1 while this replica is the leader (polling, alarm evaluation, rollups), else 0.",
        )
        .expect("static metric definition");
        // Named as Prometheus names its own, so the usual alert rules work unchanged.
        let config_reload_ok = IntGauge::new(
            "cachewarden_config_last_reload_successful",
            "1 when the last configuration reload succeeded (or none was tried since the start), \
             0 when it was refused; the configuration loaded before keeps running.",
        )
        .expect("static metric definition");
        let config_reload_at = Gauge::new(
            "cachewarden_config_last_reload_success_timestamp_seconds",
            "When the configuration in force was loaded (start or successful reload), Unix time.",
        )
        .expect("static metric definition");
        let stream_lag = GaugeVec::new(
            Opts::new(
                "cachewarden_stream_lag_seconds",
                "Age of the newest record the last read of a DynamoDB stream found; 0 when it found none (caught up).",
            ),
            &["stream"],
        )
        .expect("static metric definition");
        let stream_records = IntCounterVec::new(
            Opts::new(
                "cachewarden_stream_records_total",
                "DynamoDB stream records turned into events.",
            ),
            &["stream"],
        )
        .expect("static metric definition");
        let change_extra_misses = IntCounterVec::new(
            Opts::new(
                "cachewarden_change_extra_misses_total",
                "Misses beyond the baseline that cachewarden's changes caused, counted when each change's impact is final.",
            ),
            &["target", "kind", "requester"],
        )
        .expect("static metric definition");
        let store_bytes = IntGaugeVec::new(
            Opts::new(
                "cachewarden_store_table_bytes",
                "Bytes the sample tables take on disk, indexes included (measured at most every 5 minutes).",
            ),
            &["table"],
        )
        .expect("static metric definition");
        let chunk_bytes_per_sample = Gauge::new(
            "cachewarden_store_chunk_bytes_per_sample",
            "Encoded bytes per raw sample in closed chunks (0 before the first compaction).",
        )
        .expect("static metric definition");
        config_reload_ok.set(1);
        config_reload_at.set(crate::store::now_ms() as f64 / 1000.0);
        for c in [
            Box::new(leader.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(config_reload_ok.clone()),
            Box::new(config_reload_at.clone()),
            Box::new(stream_lag.clone()),
            Box::new(stream_records.clone()),
            Box::new(change_extra_misses.clone()),
            Box::new(store_bytes.clone()),
            Box::new(chunk_bytes_per_sample.clone()),
            Box::new(build) as Box<dyn prometheus::core::Collector>,
            Box::new(notifications.clone()),
            Box::new(http_requests.clone()),
            Box::new(http_duration.clone()),
            Box::new(audit_failures.clone()),
            Box::new(cloudfront_billed_paths.clone()),
            Box::new(cloudfront_estimated_usd.clone()),
        ] {
            registry
                .register(c)
                .expect("each metric is registered once");
        }
        Self {
            registry,
            http_requests,
            http_duration,
            audit_failures,
            cloudfront_billed_paths,
            cloudfront_estimated_usd,
            notifications,
            leader,
            config_reload_ok,
            config_reload_at,
            stream_lag,
            stream_records,
            change_extra_misses,
            store_bytes,
            chunk_bytes_per_sample,
        }
    }

    /// Sets the store's size gauges.
    pub fn observe_store(&self, size: &crate::store::StoreSize) {
        for (table, bytes) in &size.tables {
            self.store_bytes.with_label_values(&[table]).set(*bytes);
        }
        self.chunk_bytes_per_sample.set(if size.chunk_samples > 0 {
            size.chunk_bytes as f64 / size.chunk_samples as f64
        } else {
            0.0
        });
    }

    /// Exports the CloudWatch call counters (read at scrape time).
    pub fn watch_cloudwatch(
        &self,
        counter: std::sync::Arc<crate::sources::cloudwatch::CallCounter>,
    ) {
        use std::sync::atomic::Ordering;
        let calls = counter.clone();
        let metrics = counter;
        let register = |name: &str, help: &str, read: Box<dyn Fn() -> u64 + Send + Sync>| {
            let c = ScrapeCounter {
                desc: prometheus::core::Desc::new(
                    name.into(),
                    help.into(),
                    vec![],
                    Default::default(),
                )
                .ok(),
                read,
            };
            if let Err(e) = self.registry.register(Box::new(c)) {
                tracing::warn!(error = %e, "Could not export a CloudWatch counter.");
            }
        };
        register(
            "cachewarden_cloudwatch_requests_total",
            "GetMetricData calls made.",
            Box::new(move || calls.calls.load(Ordering::Relaxed)),
        );
        register(
            "cachewarden_cloudwatch_metrics_requested_total",
            "Metrics requested from GetMetricData (what CloudWatch bills).",
            Box::new(move || metrics.metrics_requested.load(Ordering::Relaxed)),
        );
    }

    /// The registry, for modules that add their own collectors.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Everything in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf)?;
        String::from_utf8(buf).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// A counter whose value is read from elsewhere when scraped.
struct ScrapeCounter {
    desc: Option<prometheus::core::Desc>,
    read: Box<dyn Fn() -> u64 + Send + Sync>,
}

impl prometheus::core::Collector for ScrapeCounter {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        self.desc.iter().collect()
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        let Some(desc) = &self.desc else {
            return Vec::new();
        };
        let mut counter = prometheus::proto::Counter::default();
        counter.set_value((self.read)() as f64);
        let mut metric = prometheus::proto::Metric::default();
        metric.set_counter(counter);
        let mut family = prometheus::proto::MetricFamily::default();
        family.set_name(desc.fq_name.clone());
        family.set_help(desc.help.clone());
        family.set_field_type(prometheus::proto::MetricType::COUNTER);
        family.set_metric(vec![metric]);
        vec![family]
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
