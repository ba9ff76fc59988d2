//! What the configuration in force built, replaced whole by a reload. Readers take a snapshot
//! (`settings()`, `collector()`) and use it to the end of what they do, so one request or one
//! poll never sees half of two configurations.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::collector::Collector;
use crate::config::Settings;
use crate::streams::StreamConsumer;

pub struct Live {
    settings: ArcSwap<Settings>,
    collector: ArcSwap<Collector>,
    streams: ArcSwap<Vec<Arc<StreamConsumer>>>,
}

impl crate::config::InForce for Live {
    fn settings(&self) -> Arc<Settings> {
        Live::settings(self)
    }
}

impl Live {
    pub fn new(
        settings: Arc<Settings>,
        collector: Arc<Collector>,
        streams: Vec<Arc<StreamConsumer>>,
    ) -> Self {
        Self {
            settings: ArcSwap::new(settings),
            collector: ArcSwap::new(collector),
            streams: ArcSwap::from_pointee(streams),
        }
    }

    /// The DynamoDB streams read as event sources.
    pub fn streams(&self) -> Arc<Vec<Arc<StreamConsumer>>> {
        self.streams.load_full()
    }

    /// The settings in force.
    pub fn settings(&self) -> Arc<Settings> {
        self.settings.load_full()
    }

    /// The collector of the targets in force (its evaluator holds the alarms in force).
    pub fn collector(&self) -> Arc<Collector> {
        self.collector.load_full()
    }

    /// Puts a reloaded configuration in force. The collector first: a request that reads the
    /// new settings then finds their targets polled.
    pub(crate) fn install(
        &self,
        settings: Arc<Settings>,
        collector: Arc<Collector>,
        streams: Vec<Arc<StreamConsumer>>,
    ) {
        self.collector.store(collector);
        self.streams.store(Arc::new(streams));
        self.settings.store(settings);
    }
}
