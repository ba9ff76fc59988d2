//! The composition root's list of job kinds: every kind this build runs is one line below.
//! Routes, the API document, the dashboard's tabs and labels, the command line and event
//! rules all read the kinds from here (target kinds are listed in `targets::KINDS`, receivers
//! in `notify::RECEIVERS`, each beside its framework).

use std::sync::Arc;

use crate::jobs::{Action, Deps, Executor, JobKind, KindInfo, typed};

macro_rules! job_kinds {
    ($($kind:ty),* $(,)?) => {
        /// Every job kind's executor, built from `deps` (and known to each other, for a kind
        /// that makes jobs of others).
        pub fn job_executors(deps: &Deps) -> Vec<Arc<dyn Executor>> {
            let all: Vec<Arc<dyn Executor>> = vec![$(typed::<$kind>(deps)),*];
            deps.peers.set(all.clone());
            all
        }

        /// What is known of every job kind without building one.
        pub fn job_kinds() -> Vec<KindInfo> {
            vec![$(<$kind as JobKind>::info()),*]
        }
    };
}

job_kinds![
    crate::cloudfront::Invalidation,
    crate::apigateway::ApiGatewayInvalidation,
    crate::purge::redis::RedisPurge,
    crate::purge::memcached::MemcachedPurge,
    crate::events::publish::Publish,
    crate::events::Event,
];

/// What people call a job of kind `name` ("invalidation", "purge").
pub fn label_of(name: &str) -> Option<&'static str> {
    job_kinds()
        .into_iter()
        .find(|k| k.name == name)
        .map(|k| k.label)
}

/// What people call a job of kind `name` with its service ("CloudFront invalidation"); an
/// unknown kind (of a newer build, in a shared database) as it is stored.
pub fn title_of(name: &str) -> String {
    job_kinds()
        .into_iter()
        .find(|k| k.name == name)
        .map_or_else(|| name.to_owned(), |k| k.title())
}

/// The kinds of `action`.
pub fn kinds_of(action: Action) -> Vec<&'static str> {
    job_kinds()
        .into_iter()
        .filter(|k| k.action == action)
        .map(|k| k.name)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn job_kinds_have_unique_names_and_act_on_known_target_kinds() {
        let kinds = super::job_kinds();
        let mut names: Vec<&str> = kinds.iter().map(|k| k.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), kinds.len());
        for k in &kinds {
            for t in k.target_kinds {
                assert!(
                    crate::targets::Kind::named(t).is_some(),
                    "{} acts on {t}, which is not a target kind",
                    k.name
                );
            }
        }
    }
}
