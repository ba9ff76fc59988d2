//! A scripted CloudFront behind the same trait as the AWS one, for what the emulator cannot
//! do: invalidations that stay InProgress, TooManyInvalidationsInProgress, throttling, and a
//! call that reached CloudFront but whose answer was lost. It keeps CloudFront's
//! CallerReference rule: the same reference with the same paths returns the existing
//! invalidation; with other paths it is an error.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use cachewarden::cloudfront::{CloudFrontApi, CloudFrontError, Created};
use futures_util::future::BoxFuture;

#[derive(Default)]
struct Inner {
    /// Errors the next CreateInvalidation calls return, in order, before any succeeds.
    create_errors: VecDeque<CloudFrontError>,
    /// Lose the answer of the next successful create (it happened, the caller saw an error).
    lose_next_answer: bool,
    /// How many GetInvalidation calls answer InProgress before Completed.
    in_progress_polls: u32,
    /// caller reference → (id, paths, GetInvalidation calls so far)
    by_reference: HashMap<String, (String, Vec<String>, u32)>,
    /// Every CreateInvalidation call: (caller reference, paths).
    calls: Vec<(String, Vec<String>)>,
    /// When each call arrived.
    call_times: Vec<std::time::Instant>,
}

#[derive(Default)]
pub struct ScriptedCloudFront {
    inner: Mutex<Inner>,
}

impl ScriptedCloudFront {
    /// Invalidations stay InProgress for `polls` GetInvalidation calls.
    pub fn in_progress_for(polls: u32) -> Self {
        let s = Self::default();
        s.inner.lock().unwrap().in_progress_polls = polls;
        s
    }

    /// The next create calls fail with these errors first.
    pub fn fail_creates(&self, errors: impl IntoIterator<Item = CloudFrontError>) {
        self.inner.lock().unwrap().create_errors.extend(errors);
    }

    /// The next successful create is made but its answer is lost (a timeout after sending).
    pub fn lose_next_answer(&self) {
        self.inner.lock().unwrap().lose_next_answer = true;
    }

    /// Every CreateInvalidation call made.
    pub fn calls(&self) -> Vec<(String, Vec<String>)> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// When each CreateInvalidation call arrived, by caller reference (first call).
    pub fn first_call_at(&self, caller_reference: &str) -> Option<std::time::Instant> {
        let inner = self.inner.lock().unwrap();
        inner
            .calls
            .iter()
            .zip(&inner.call_times)
            .find(|((r, _), _)| r == caller_reference)
            .map(|(_, t)| *t)
    }

    /// Distinct invalidations created (what CloudFront bills).
    pub fn invalidations(&self) -> Vec<Vec<String>> {
        let inner = self.inner.lock().unwrap();
        let mut v: Vec<(String, Vec<String>)> = inner
            .by_reference
            .values()
            .map(|(id, p, _)| (id.clone(), p.clone()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, p)| p).collect()
    }
}

impl CloudFrontApi for ScriptedCloudFront {
    fn create_invalidation<'a>(
        &'a self,
        _distribution_id: &'a str,
        caller_reference: &'a str,
        paths: &'a [String],
    ) -> BoxFuture<'a, Result<Created, CloudFrontError>> {
        Box::pin(async move {
            let mut inner = self.inner.lock().unwrap();
            inner
                .calls
                .push((caller_reference.to_owned(), paths.to_vec()));
            inner.call_times.push(std::time::Instant::now());
            if let Some(e) = inner.create_errors.pop_front() {
                return Err(e);
            }
            let next_id = format!("I{:04}", inner.by_reference.len() + 1);
            let (id, existing_paths, _) = inner
                .by_reference
                .entry(caller_reference.to_owned())
                .or_insert((next_id, paths.to_vec(), 0))
                .clone();
            if existing_paths != paths {
                return Err(CloudFrontError::Permanent(
                    "InvalidationBatchAlreadyExists".into(),
                ));
            }
            if std::mem::take(&mut inner.lose_next_answer) {
                return Err(CloudFrontError::Retryable(
                    "timed out waiting for the answer".into(),
                ));
            }
            Ok(Created {
                id,
                completed: false,
            })
        })
    }

    fn invalidation_completed<'a>(
        &'a self,
        _distribution_id: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<bool, CloudFrontError>> {
        Box::pin(async move {
            let mut inner = self.inner.lock().unwrap();
            let limit = inner.in_progress_polls;
            let entry = inner
                .by_reference
                .values_mut()
                .find(|(i, _, _)| i == id)
                .ok_or_else(|| CloudFrontError::Permanent("NoSuchInvalidation".into()))?;
            entry.2 += 1;
            Ok(entry.2 > limit)
        })
    }
}
