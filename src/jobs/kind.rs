//! A job kind, typed: its request, progress and result are Rust types (serde for storage,
//! utoipa for the API document), and what it does is two functions: `validate` a request
//! before anything is stored, and `step` a claimed job. [`typed`] turns a kind into the
//! runtime's [`Executor`], parsing and storing the JSON at the boundary, so a kind never reads
//! a field by JSON pointer.
//!
//! Architecture invariant: `jobs/` names no kind. Kinds depend on it; the list of kinds is the
//! composition root's (`crate::registry`).

use std::future::Future;
use std::sync::{Arc, OnceLock};

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::executor::{Executor, JobContext, Step, Validated};
use crate::config::Settings;
pub use crate::domain::Action;
use crate::domain::{Scope, TargetName};
use crate::metrics::Metrics;
use crate::service_error::ServiceError;
use crate::store::{JobRecord, Store, StoreError};

/// Named schemas collected for the API document's components.
pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// The schemas a kind's parts are described by in the API document.
pub struct KindSchemas {
    pub request: RefOr<Schema>,
    pub progress: RefOr<Schema>,
    pub result: RefOr<Schema>,
}

/// What is known of a kind without building it: for routes, the API document, the dashboard
/// and the command line.
#[derive(Clone, Copy)]
pub struct KindInfo {
    /// As stored and in the API (`cloudfront_invalidation`).
    pub name: &'static str,
    /// What people call one (`invalidation`), as marks and messages say it.
    pub label: &'static str,
    pub action: Action,
    /// The scope a caller needs.
    pub scope: Scope,
    /// The target kinds it acts on; empty for a kind that spans targets (an event).
    pub target_kinds: &'static [&'static str],
    /// Registers the schemas of its request, progress and result (and what they refer to).
    pub schemas: fn(&mut Schemas) -> KindSchemas,
}

impl KindInfo {
    /// Whether it acts on targets of kind `target_kind`.
    pub fn accepts(&self, target_kind: &str) -> bool {
        self.target_kinds.contains(&target_kind)
    }

    /// What people call a job of this kind with the service it acts on ("CloudFront
    /// invalidation", "Redis purge"); a kind that spans targets is its label ("Event").
    pub fn title(&self) -> String {
        match self.target_kinds {
            [one] => {
                let service = crate::targets::Kind::named(one).map_or(*one, |k| k.label());
                format!("{service} {}", self.label)
            }
            _ => {
                let mut c = self.label.chars();
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            }
        }
    }

    /// Whether it is the kind that does `action` on targets of kind `target_kind`: the one
    /// rule by which a request for an action (a purge, an event's invalidation) finds its kind.
    pub fn serves(&self, action: Action, target_kind: &str) -> bool {
        self.action == action && self.accepts(target_kind)
    }
}

/// The schema of `T`, registered (with what it refers to) under its name.
pub fn schema_of<T: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
    let name = T::name().into_owned();
    if !schemas.iter().any(|(n, _)| *n == name) {
        T::schemas(schemas);
        schemas.push((name.clone(), T::schema()));
    }
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
}

/// What kinds are built from: what every change needs, and the AWS clients.
#[derive(Clone)]
pub struct Deps {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub aws: crate::aws::Clients,
    /// Every kind built together, for a kind that makes jobs of others (an event validates
    /// its children as their own submissions would be). Set once all are built.
    pub peers: Peers,
}

/// The executors of one build of the kinds, by name.
#[derive(Clone, Default)]
pub struct Peers(Arc<OnceLock<Vec<Arc<dyn Executor>>>>);

impl Peers {
    pub fn set(&self, all: Vec<Arc<dyn Executor>>) {
        let _ = self.0.set(all);
    }

    /// The kind named `name`, once every kind is built.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Executor>> {
        self.0
            .get()?
            .iter()
            .find(|e| e.info().name == name)
            .cloned()
    }

    /// Every kind of this build.
    pub fn all(&self) -> Vec<Arc<dyn Executor>> {
        self.0.get().cloned().unwrap_or_default()
    }
}

/// A request a kind accepted, as it will be stored.
pub struct Accepted<R> {
    pub request: R,
    /// A form of the request equal for requests that mean the same (order, duplicates): two
    /// submissions with one idempotency key must have the same.
    pub canonical: Value,
    pub deadline_at: i64,
    /// Not run before this time (a coalescing window); `now` to run at once.
    pub run_after: i64,
    /// It only looks and changes nothing (see `Validated::dry_run`).
    pub dry_run: bool,
}

/// What a step leaves to do.
pub enum Outcome<R> {
    /// More to do at once.
    Continue,
    /// Nothing to do before this time (ms).
    WaitUntil(i64),
    /// Done; `None` when the result was stored with the work itself (a CloudFront batch).
    Completed(Option<R>),
    Failed(String),
    /// Stopped on request at a safe point.
    Cancelled(String),
}

/// What a step of a `K` job works with: the claimed job, its request and progress as `K`'s
/// types, the time, the store.
pub struct Ctx<'a, K: JobKind> {
    pub job: &'a JobRecord,
    pub request: K::Request,
    /// As last saved; `None` before the first save.
    pub progress: Option<K::Progress>,
    pub now: i64,
    /// The worker holding the lease.
    pub owner: &'a str,
    pub store: &'a Store,
}

impl<K: JobKind> Ctx<'_, K> {
    fn untyped(&self) -> JobContext<'_> {
        JobContext {
            job: self.job,
            now: self.now,
            owner: self.owner,
            store: self.store,
        }
    }

    /// Whether someone asked to stop this job; read fresh, so call it at safe points.
    pub async fn cancel_requested(&self) -> Result<bool, StoreError> {
        self.untyped().cancel_requested().await
    }

    /// Stores progress (shown by `GET`), so a restart resumes from it.
    pub async fn save_progress(&self, progress: &K::Progress) -> Result<(), StoreError> {
        let v = serde_json::to_value(progress).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.untyped().save_progress(&v).await
    }

    /// Marks the job running (the first step that does something).
    pub async fn started(&self) -> Result<(), StoreError> {
        self.untyped().started().await
    }
}

/// A kind of job. Each step must be safe to repeat: a worker may die after doing it and
/// before storing that it did, and another replica then runs it again from stored progress.
pub trait JobKind: Send + Sync + Sized + 'static {
    const NAME: &'static str;
    const LABEL: &'static str;
    const ACTION: Action;
    const SCOPE: Scope;
    /// The target kinds it acts on; empty when it spans targets.
    const TARGET_KINDS: &'static [&'static str];

    type Request: Serialize + DeserializeOwned + ToSchema + Send + Sync;
    type Progress: Serialize + DeserializeOwned + ToSchema + Send + Sync;
    type Result: Serialize + DeserializeOwned + ToSchema + Send + Sync;

    fn new(deps: &Deps) -> Self;

    /// Checks a request on `target` (its name already authorised) and says how to store it;
    /// every rule that can refuse it runs here, before anything is stored.
    fn validate(
        &self,
        target: &TargetName,
        request: Self::Request,
        now: i64,
    ) -> impl Future<Output = Result<Accepted<Self::Request>, ServiceError>> + Send;

    /// Advances a claimed job.
    fn step(
        &self,
        ctx: &Ctx<'_, Self>,
    ) -> impl Future<Output = Result<Outcome<Self::Result>, StoreError>> + Send;

    /// Why a running job can no longer stop, if it cannot.
    fn cannot_stop(
        &self,
        _job: &JobRecord,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send {
        async { Ok(None) }
    }

    /// What a job has done so far, in one line for people ("12 of 30 entries invalidated");
    /// `None` shows its counters.
    fn summary(
        _request: &Self::Request,
        _progress: Option<&Self::Progress>,
        _result: Option<&Self::Result>,
    ) -> Option<String> {
        None
    }

    /// How far each part of a job has got (each node's scan of a purge), for progress bars.
    fn meters(_request: &Self::Request, _progress: Option<&Self::Progress>) -> Vec<Meter> {
        Vec::new()
    }

    /// The targets a job acts on (a kind that spans targets says which).
    fn targets(&self, target: &str, _request: &Self::Request) -> Vec<String> {
        vec![target.to_owned()]
    }

    /// What is known of the kind without building it.
    fn info() -> KindInfo {
        KindInfo {
            name: Self::NAME,
            label: Self::LABEL,
            action: Self::ACTION,
            scope: Self::SCOPE,
            target_kinds: Self::TARGET_KINDS,
            schemas: |s| KindSchemas {
                request: schema_of::<Self::Request>(s),
                progress: schema_of::<Self::Progress>(s),
                result: schema_of::<Self::Result>(s),
            },
        }
    }
}

/// A typed kind as the runtime's executor.
struct Typed<K>(K);

/// `K`, built from `deps`, as an executor.
pub fn typed<K: JobKind>(deps: &Deps) -> Arc<dyn Executor> {
    Arc::new(Typed(K::new(deps)))
}

/// A request as `T`, or the error that names the field it breaks.
pub fn parse<T: DeserializeOwned>(value: &Value) -> Result<T, ServiceError> {
    serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        // serde names an unknown or missing field in its message, not in the path.
        let named = message
            .split('`')
            .nth(1)
            .filter(|_| {
                message.starts_with("unknown field") || message.starts_with("missing field")
            })
            .map(|f| match path.as_str() {
                "." => f.to_owned(),
                p if p == f || p.ends_with(&format!(".{f}")) => p.to_owned(),
                p => format!("{p}.{f}"),
            });
        let field = named.unwrap_or(if path == "." { "request".into() } else { path });
        ServiceError::invalid(field, message)
    })
}

/// A stored part of a job as `T`, if it reads as one.
fn read_stored<T: DeserializeOwned>(v: &Option<Value>) -> Option<T> {
    v.clone().and_then(|v| serde_json::from_value(v).ok())
}

/// How far one part of a job has got: `done` of `of` (a node's keys scanned of its keys).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Meter {
    /// What part ("node 10.0.0.1:6379"; empty for the whole job).
    pub label: String,
    pub done: f64,
    pub of: f64,
}

/// A stored part of job `id` as `T`.
fn stored<T: DeserializeOwned>(id: i64, what: &str, v: &Value) -> Result<T, StoreError> {
    serde_json::from_value(v.clone())
        .map_err(|e| StoreError::Corrupt(format!("the {what} of job {id}: {e}")))
}

fn json<T: Serialize>(v: &T) -> Result<Value, StoreError> {
    serde_json::to_value(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl<K: JobKind> Executor for Typed<K> {
    fn info(&self) -> KindInfo {
        K::info()
    }

    fn targets(&self, target: &str, request: &Value) -> Vec<String> {
        match serde_json::from_value::<K::Request>(request.clone()) {
            Ok(r) => self.0.targets(target, &r),
            Err(_) => vec![target.to_owned()],
        }
    }

    fn validate<'a>(
        &'a self,
        target: &'a TargetName,
        request: &'a Value,
        now: i64,
    ) -> BoxFuture<'a, Result<Validated, ServiceError>> {
        Box::pin(async move {
            let request = parse::<K::Request>(request)?;
            let a = self.0.validate(target, request, now).await?;
            Ok(Validated {
                request: json(&a.request)?,
                request_hash: crate::auth::hash_token(
                    &serde_json::json!({ "target": target, "request": a.canonical }).to_string(),
                ),
                deadline_at: a.deadline_at,
                run_after: a.run_after,
                dry_run: a.dry_run,
            })
        })
    }

    fn step<'a>(&'a self, ctx: &'a JobContext<'a>) -> BoxFuture<'a, Result<Step, StoreError>> {
        Box::pin(async move {
            let job = ctx.job;
            let typed = Ctx::<K> {
                job,
                request: stored(job.id, "request", &job.request)?,
                progress: job
                    .progress
                    .as_ref()
                    .map(|p| stored(job.id, "progress", p))
                    .transpose()?,
                now: ctx.now,
                owner: ctx.owner,
                store: ctx.store,
            };
            Ok(match self.0.step(&typed).await? {
                Outcome::Continue => Step::Continue,
                Outcome::WaitUntil(at) => Step::WaitUntil(at),
                Outcome::Completed(r) => Step::Completed(r.as_ref().map(json).transpose()?),
                Outcome::Failed(e) => Step::Failed(e),
                Outcome::Cancelled(e) => Step::Cancelled(e),
            })
        })
    }

    fn cannot_stop<'a>(
        &'a self,
        job: &'a JobRecord,
    ) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(self.0.cannot_stop(job))
    }

    fn summary(&self, job: &JobRecord) -> Option<String> {
        // What cannot be read as the kind's types has no summary; its JSON still shows.
        let request = serde_json::from_value(job.request.clone()).ok()?;
        let progress: Option<K::Progress> = read_stored(&job.progress);
        let result: Option<K::Result> = read_stored(&job.result);
        K::summary(&request, progress.as_ref(), result.as_ref())
    }

    fn meters(&self, job: &JobRecord) -> Vec<Meter> {
        let Ok(request) = serde_json::from_value(job.request.clone()) else {
            return Vec::new();
        };
        let progress: Option<K::Progress> = read_stored(&job.progress);
        K::meters(&request, progress.as_ref())
    }
}

/// The schema of a value that is always `null` (a part a kind does not have).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Nothing;

impl PartialSchema for Nothing {
    fn schema() -> RefOr<Schema> {
        RefOr::T(Schema::Object(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::Null)
                .build(),
        ))
    }
}

impl ToSchema for Nothing {
    fn name() -> std::borrow::Cow<'static, str> {
        "Nothing".into()
    }
}
