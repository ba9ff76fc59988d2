//! DynamoDB Streams as event sources (`[[streams]]`): the leader reads every shard of each
//! configured stream, parents before children, and submits one event per record through the
//! job service (so a record is refused or accepted exactly as an API event is). The last
//! sequence number of a shard is stored only after the events of its records were accepted:
//! a restart resumes after it, so no record is skipped, and one read again after a crash
//! between the two is the same event (its idempotency key is the record's), so nothing is
//! made twice.

mod image;
pub mod lineage;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde::Serialize;
use serde_json::json;

use crate::auth::{Caller, Principal};
use crate::config::{StreamSettings, StreamSource, StreamStart};
use crate::domain::{Scope, ScopeSet};
use crate::jobs::JobService;
use crate::store::{Checkpoint, Store};

/// Records asked for per GetRecords call.
const PAGE: i32 = 1000;
/// Pages read from one shard per pass, so one busy shard does not starve the others.
const PAGES_PER_PASS: usize = 10;

/// What the API and `/metrics` show of one stream.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct StreamStatus {
    pub name: String,
    pub event: String,
    /// Resolved from the table once read.
    pub stream_arn: Option<String>,
    /// Age in seconds of the newest record the last pass read; 0 when it found none (caught up).
    pub lag_seconds: f64,
    /// Records turned into events since this process started.
    pub records: u64,
    /// When the last pass ended (ms since the epoch).
    pub last_read_at: Option<i64>,
    /// Why the last pass failed, if it did.
    pub last_error: Option<String>,
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Records read and turned into events (accepted, or refused by a rule and logged).
    pub records: usize,
    /// Records older than the stream's first read with `start = "latest"`.
    pub skipped: usize,
    pub shards: usize,
}

/// Whether a record created at `created` (ms) was written before a stream with
/// `start = "latest"` was first read at `started` (ms). Streams give the creation time rounded
/// down to the second, so only records from an earlier second are: a record from the same
/// second is read (at least once, never skipped).
fn before_start(created: i64, started: i64) -> bool {
    created < started - started.rem_euclid(1000)
}

/// Reads one configured stream.
pub struct StreamConsumer {
    settings: StreamSettings,
    client: aws_sdk_dynamodbstreams::Client,
    store: Store,
    jobs: Arc<JobService>,
    status: Mutex<StreamStatus>,
    /// Whom its events are requested by, in the audit log and on the jobs.
    principal: Principal,
    lag: prometheus::Gauge,
    counted: prometheus::IntCounter,
    /// A pass is running: the next one waits for the schedule after it (checkpoints are
    /// written by one pass at a time).
    reading: tokio::sync::Mutex<()>,
    /// When the stream was first read (stored; read once per process).
    started: tokio::sync::OnceCell<i64>,
}

impl StreamConsumer {
    pub fn new(
        settings: StreamSettings,
        sdk: &aws_config::SdkConfig,
        store: Store,
        jobs: Arc<JobService>,
        metrics: &crate::metrics::Metrics,
    ) -> Self {
        let lag = metrics.stream_lag.with_label_values(&[&settings.name]);
        let counted = metrics.stream_records.with_label_values(&[&settings.name]);
        let mut conf = aws_sdk_dynamodbstreams::config::Builder::from(sdk);
        if let Some(r) = &settings.region {
            conf = conf.region(aws_config::Region::new(r.clone()));
        }
        let principal = Principal {
            caller: Caller::Internal,
            name: format!("stream.{}", settings.name),
            scopes: ScopeSet::new([Scope::Invalidate, Scope::Read]),
            targets: Vec::new(),
        };
        Self {
            status: Mutex::new(StreamStatus {
                name: settings.name.clone(),
                event: settings.event.clone(),
                ..StreamStatus::default()
            }),
            client: aws_sdk_dynamodbstreams::Client::from_conf(conf.build()),
            settings,
            store,
            jobs,
            principal,
            lag,
            counted,
            reading: tokio::sync::Mutex::new(()),
            started: tokio::sync::OnceCell::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// How often it is read.
    pub fn every(&self) -> std::time::Duration {
        self.settings.every
    }

    pub fn status(&self) -> StreamStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// One pass over every shard; never fails: an error is the status recorded (and logged).
    pub async fn read_once(&self, now: i64) -> PassReport {
        let Ok(_one) = self.reading.try_lock() else {
            tracing::debug!(stream = %self.settings.name, "The previous read is still running.");
            return PassReport::default();
        };
        let outcome = self.pass(now).await;
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        status.last_read_at = Some(crate::store::now_ms());
        match outcome {
            Ok((report, arn, newest)) => {
                status.stream_arn = Some(arn);
                status.records += report.records as u64;
                status.lag_seconds = newest.map_or(0.0, |t| ((now - t).max(0)) as f64 / 1000.0);
                status.last_error = None;
                self.lag.set(status.lag_seconds);
                self.counted.inc_by(report.records as u64);
                report
            }
            Err(e) => {
                tracing::warn!(stream = %self.settings.name, error = %e, "Could not read a DynamoDB stream; trying again at the next pass.");
                status.last_error = Some(e);
                // Looked up again next time: the table may have a new stream.
                status.stream_arn = None;
                PassReport::default()
            }
        }
    }

    async fn stream_arn(&self) -> Result<String, String> {
        match &self.settings.source {
            StreamSource::Arn(a) => Ok(a.clone()),
            StreamSource::Table(table) => {
                let out = self
                    .client
                    .list_streams()
                    .table_name(table)
                    .send()
                    .await
                    .map_err(|e| crate::aws_error::explain("DynamoDB Streams ListStreams", &e))?;
                out.streams()
                    .iter()
                    .filter_map(|s| s.stream_arn())
                    .max()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("table {table:?} has no stream enabled"))
            }
        }
    }

    /// Reads what is new: (report, the stream's ARN, creation time of the newest record read).
    async fn pass(&self, now: i64) -> Result<(PassReport, String, Option<i64>), String> {
        // The ARN found by the last pass that worked: ListStreams only when there is none.
        let known = self.status().stream_arn;
        let arn = match known {
            Some(a) => a,
            None => self.stream_arn().await?,
        };
        let started = *self
            .started
            .get_or_try_init(|| self.store.stream_started(&self.settings.name, now))
            .await
            .map_err(|e| e.to_string())?;
        let shards = self.shards(&arn).await?;
        let checkpoints: HashMap<String, Checkpoint> = self
            .store
            .stream_checkpoints(&self.settings.name)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|c| (c.shard_id.clone(), c))
            .collect();
        let mut report = PassReport::default();
        let mut newest: Option<i64> = None;
        for shard in lineage::readable(&shards, &checkpoints) {
            report.shards += 1;
            let skip_before = match self.settings.start {
                StreamStart::Latest => Some(started),
                StreamStart::TrimHorizon => None,
            };
            let from = checkpoints.get(&shard).and_then(|c| c.sequence.clone());
            self.read_shard(&arn, &shard, from, skip_before, &mut report, &mut newest)
                .await?;
        }
        Ok((report, arn, newest))
    }

    /// The stream's shards, every page of them.
    async fn shards(&self, arn: &str) -> Result<Vec<lineage::Shard>, String> {
        let mut shards = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_stream()
                .stream_arn(arn)
                .set_exclusive_start_shard_id(after.clone())
                .send()
                .await
                .map_err(|e| crate::aws_error::explain("DynamoDB Streams DescribeStream", &e))?;
            let Some(d) = out.stream_description() else {
                return Err(format!(
                    "DescribeStream of {arn} answered without a description"
                ));
            };
            shards.extend(d.shards().iter().map(|s| lineage::Shard {
                id: s.shard_id().unwrap_or_default().to_owned(),
                parent: s.parent_shard_id().map(str::to_owned),
            }));
            after = d.last_evaluated_shard_id().map(str::to_owned);
            if after.is_none() {
                return Ok(shards);
            }
        }
    }

    /// Reads one shard from after `from` (or its start), a page at a time, checkpointing after
    /// each page's events were accepted.
    async fn read_shard(
        &self,
        arn: &str,
        shard: &str,
        from: Option<String>,
        skip_before: Option<i64>,
        report: &mut PassReport,
        newest: &mut Option<i64>,
    ) -> Result<(), String> {
        let mut iterator = {
            let ask = self
                .client
                .get_shard_iterator()
                .stream_arn(arn)
                .shard_id(shard);
            let ask = match &from {
                Some(seq) => ask
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(seq),
                None => ask.shard_iterator_type(ShardIteratorType::TrimHorizon),
            };
            ask.send()
                .await
                .map_err(|e| crate::aws_error::explain("DynamoDB Streams GetShardIterator", &e))?
                .shard_iterator()
                .map(str::to_owned)
        };
        for _ in 0..PAGES_PER_PASS {
            let Some(it) = iterator.take() else {
                // Closed and read to its end: its children may be read now.
                let done = Checkpoint {
                    shard_id: shard.to_owned(),
                    sequence: None,
                    finished: true,
                };
                self.store
                    .save_checkpoint(&self.settings.name, &done, crate::store::now_ms())
                    .await
                    .map_err(|e| e.to_string())?;
                return Ok(());
            };
            let page = self
                .client
                .get_records()
                .shard_iterator(it)
                .limit(PAGE)
                .send()
                .await
                .map_err(|e| crate::aws_error::explain("DynamoDB Streams GetRecords", &e))?;
            let records = page.records();
            for r in records {
                let created = image::created_ms(r);
                if skip_before.is_some_and(|s| created.is_some_and(|c| before_start(c, s))) {
                    report.skipped += 1;
                    continue;
                }
                self.submit(shard, r).await?;
                report.records += 1;
                *newest = (*newest).max(created);
            }
            if let Some(last) = records
                .last()
                .and_then(|r| r.dynamodb())
                .and_then(|d| d.sequence_number())
            {
                let c = Checkpoint {
                    shard_id: shard.to_owned(),
                    sequence: Some(last.to_owned()),
                    finished: false,
                };
                self.store
                    .save_checkpoint(&self.settings.name, &c, crate::store::now_ms())
                    .await
                    .map_err(|e| e.to_string())?;
            }
            iterator = page.next_shard_iterator().map(str::to_owned);
            if records.is_empty() {
                // Caught up on an open shard (a closed one answers without a next iterator).
                if iterator.is_some() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// One record as an event. A refusal by the rules (a field missing from the item) is
    /// logged and the record passed over: it would be refused the same way every time.
    async fn submit(&self, shard: &str, r: &Record) -> Result<(), String> {
        let seq = r
            .dynamodb()
            .and_then(|d| d.sequence_number())
            .unwrap_or_default();
        let data = image::event_data(r, &self.settings.fields);
        let key = format!("stream-{}-{shard}-{seq}", self.settings.name);
        let request = json!({ "data": data });
        match self
            .jobs
            .submit(
                &self.principal,
                crate::events::KIND,
                &self.settings.event,
                &request,
                Some(key),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(crate::service_error::ServiceError::Invalid { message, field, .. }) => {
                tracing::warn!(stream = %self.settings.name, shard, sequence = seq, field = field.as_deref().unwrap_or("-"), error = %message, "A stream record could not become an event; passed over.");
                Ok(())
            }
            Err(e) => Err(format!("could not submit the event of record {seq}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn latest_skips_only_records_from_seconds_before_the_first_read() {
        let started = 1_700_000_000_950;
        for (created, skipped) in [
            (1_699_999_999_999, true),
            (1_700_000_000_000, false), // the same second, rounded down: read
            (1_700_000_000_960, false),
            (1_700_000_001_000, false),
        ] {
            assert_eq!(super::before_start(created, started), skipped, "{created}");
        }
    }
}
