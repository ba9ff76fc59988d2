//! Memcached, polled with `stats`.

use std::collections::HashMap;

use futures_util::future::BoxFuture;
use tokio::sync::Mutex;

use super::counters::{Reading, push_interval_samples};
use super::{PollError, Polled, Source, poll_error};
use crate::store::Sample;

const COUNTERS: [(&str, &str); 3] = [
    ("get_hits", "hits"),
    ("get_misses", "misses"),
    ("evictions", "evictions"),
];
const GAUGES: [&str; 4] = ["curr_items", "bytes", "limit_maxbytes", "curr_connections"];

pub struct MemcachedSource {
    target: String,
    address: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    client: Option<async_memcached::Client>,
    previous: Option<Reading>,
}

impl MemcachedSource {
    pub fn new(target: &str, address: &str) -> Self {
        Self {
            target: target.to_owned(),
            address: address.to_owned(),
            state: Mutex::new(State::default()),
        }
    }

    /// `stats` on the cached connection; if it broke (the server restarted since the last
    /// poll), once more on a fresh one.
    async fn stats(&self, state: &mut State) -> Result<HashMap<String, String>, PollError> {
        let mut last = String::new();
        for _ in 0..2 {
            if state.client.as_ref().is_none_or(|c| c.is_closed()) {
                let client = async_memcached::Client::new(format!("tcp://{}", self.address))
                    .await
                    .map_err(|e| poll_error(&format!("cannot connect to {}", self.address), e))?;
                state.client = Some(client);
            }
            let client = state.client.as_mut().expect("connected above");
            match client.stats().await {
                Ok(s) => return Ok(s.into_iter().collect()),
                Err(e) => {
                    state.client = None;
                    last = e.to_string();
                }
            }
        }
        Err(PollError(format!("stats failed: {last}")))
    }
}

/// Turns `stats` fields into a reading and gauges (pure).
pub(crate) fn reading_of(stats: &HashMap<String, String>) -> (Reading, Vec<(&'static str, f64)>) {
    let num = |k: &str| stats.get(k).and_then(|v| v.parse::<u64>().ok());
    // time - uptime is the start time: with the pid it names one run of the server.
    let started = num("time")
        .zip(num("uptime"))
        .map(|(t, u)| t.saturating_sub(u))
        .unwrap_or_default();
    let instance = format!(
        "{}:{started}",
        stats.get("pid").map(String::as_str).unwrap_or("?")
    );
    let counters = COUNTERS
        .iter()
        .filter_map(|(f, _)| num(f).map(|v| (*f, v)))
        .collect();
    let gauges = GAUGES
        .iter()
        .filter_map(|g| num(g).map(|v| (*g, v as f64)))
        .collect();
    (Reading { instance, counters }, gauges)
}

impl Source for MemcachedSource {
    fn targets(&self) -> Vec<String> {
        vec![self.target.clone()]
    }

    fn poll(&self, now: i64) -> BoxFuture<'_, Result<Polled, PollError>> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            let stats = self.stats(&mut state).await?;
            let (reading, gauges) = reading_of(&stats);
            let mut samples = Vec::new();
            push_interval_samples(
                (&self.target, "", now),
                state.previous.as_ref(),
                &reading,
                &COUNTERS,
                &mut samples,
            );
            for (name, v) in gauges {
                samples.push(Sample::new(&self.target, "", name, now, v));
            }
            state.previous = Some(reading);
            Ok(Polled {
                samples,
                notices: Vec::new(),
            })
        })
    }
}

#[cfg(test)]
mod series_tests {
    /// What this source records is what the kind says it records.
    #[test]
    fn recorded_series_are_the_kinds_series() {
        use crate::targets::TargetKind;
        let series: Vec<&str> = std::iter::once("up")
            .chain(
                crate::targets::memcached::Memcached
                    .series()
                    .iter()
                    .map(|s| s.name),
            )
            .collect();
        let recorded = super::COUNTERS
            .iter()
            .map(|(_, s)| *s)
            .chain(super::GAUGES)
            .chain(["hit_rate", "up"]);
        for s in recorded {
            assert!(series.contains(&s), "{s}");
        }
    }
}
