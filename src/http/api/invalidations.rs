//! CloudFront invalidations for people and pipelines (scope `invalidate` to create, `read` to
//! follow): `POST /api/v1/invalidations` with an `Idempotency-Key`, `GET …/{id}?wait=`,
//! `GET /api/v1/invalidations`, `GET /api/v1/invalidations/cost`.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Principal, hash_token};
use crate::cloudfront::cost::{exceeds_budget, month_of, monthly};
use crate::cloudfront::worker::{MAX_FILES_IN_FLIGHT, MAX_WILDCARDS_IN_FLIGHT};
use crate::config::TargetSource;
use crate::domain::{InvalidationItem, ItemCounts, Scope, TargetName, coalesce};
use crate::http::middleware::AuditNote;
use crate::http::{ApiError, AppState};
use crate::store::{JobFilter, JobRecord, NewJob, now_ms};

/// The longest `?wait=` honoured.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    target: String,
    items: Vec<String>,
}

/// Checks every item and returns them parsed, or one error listing each bad item.
fn parse_items(
    items: &[String],
    target: &str,
    cache_tags: bool,
) -> Result<Vec<InvalidationItem>, ApiError> {
    if items.is_empty() {
        return Err(ApiError::invalid(
            "items",
            "must list at least one path or #tag",
        ));
    }
    let mut parsed = Vec::with_capacity(items.len());
    let mut details = Vec::new();
    for (i, raw) in items.iter().enumerate() {
        match InvalidationItem::parse(raw) {
            Ok(item) if item.is_tag() && !cache_tags => details.push(json!({
                "field": format!("items[{i}]"),
                "item": raw,
                "message": format!("target {target:?} has no cache tags (its distribution has no CacheTagConfig; set cache_tags = true if it does)"),
            })),
            Ok(item) => parsed.push(item),
            Err(e) => details.push(json!({ "field": format!("items[{i}]"), "item": raw, "message": e.to_string() })),
        }
    }
    if let Some(first) = details.first() {
        let mut err = ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_items",
            format!(
                "{} of {} items are invalid; first: {}: {}",
                details.len(),
                items.len(),
                first["field"].as_str().unwrap_or_default(),
                first["message"].as_str().unwrap_or_default()
            ),
        );
        err.field = first["field"].as_str().map(str::to_owned);
        err.details = details;
        return Err(err);
    }
    Ok(parsed)
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "must be printable ASCII"))?
        .trim();
    if key.is_empty() || key.len() > 255 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "must be 1-255 printable ASCII characters without spaces",
        ));
    }
    Ok(Some(key.to_owned()))
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Invalidate)?;
    let key = idempotency_key(&req)?;
    let name = TargetName::parse(&body.target)
        .map_err(|e| ApiError::invalid("target", format!("{:?} {e}", body.target)))?;
    who.require_target(Scope::Invalidate, &name)?;
    let target = state.settings.target(&name).ok_or_else(|| {
        ApiError::invalid(
            "target",
            format!("{:?} is not a configured target", body.target),
        )
    })?;
    let TargetSource::Cloudfront { cache_tags, .. } = &target.source else {
        return Err(ApiError::invalid(
            "target",
            format!(
                "{:?} is a {} target; invalidations go to cloudfront targets",
                body.target,
                target.kind()
            ),
        ));
    };
    let items = parse_items(&body.items, name.as_str(), *cache_tags)?;
    let coalesced = coalesce(items.iter().cloned());
    let counts = ItemCounts::of(&coalesced);
    if counts.files > MAX_FILES_IN_FLIGHT || counts.wildcards > MAX_WILDCARDS_IN_FLIGHT {
        return Err(ApiError::invalid(
            "items",
            format!(
                "{} paths and {} wildcards after coalescing; CloudFront allows at most {MAX_FILES_IN_FLIGHT} and {MAX_WILDCARDS_IN_FLIGHT} in progress per distribution: split the request or use a wildcard",
                counts.files, counts.wildcards
            ),
        ));
    }
    let now = now_ms();
    let billed = state.store.billed_paths(&month_of(now)).await?;
    if exceeds_budget(billed, counts.billed(), &state.settings.invalidation) {
        let c = monthly(month_of(now), billed, &state.settings.invalidation);
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "budget_exceeded",
            format!(
                "{} more billed paths would take this month's estimated invalidation cost beyond the budget of {:.2} USD (now {:.2} USD for {} paths)",
                counts.billed(),
                c.budget_usd.unwrap_or_default(),
                c.estimated_usd,
                c.billed_paths
            ),
        ));
    }
    // Order and duplicates do not make a different request.
    let canonical: Vec<String> = coalesce(items).into_iter().map(String::from).collect();
    let request_hash = hash_token(
        &serde_json::to_string(&json!({ "target": name, "items": canonical })).unwrap_or_default(),
    );
    let new = NewJob {
        target: name.to_string(),
        requester: who.name.to_string(),
        idempotency_key: key,
        request_hash,
        items: body.items.clone(),
        deadline_at: now + state.settings.invalidation.deadline.as_millis() as i64,
    };
    let (job, created) = state.store.create_job(&new, now).await?;
    if created && let Some(w) = &state.invalidations {
        w.waker().notify_one();
    }
    req.extensions_mut().insert(AuditNote {
        target: Some(job.target.clone()),
        detail: json!({ "job": job.id, "items": job.items.len(), "replayed": !created }),
    });
    let mut res = if created {
        HttpResponse::Accepted()
    } else {
        HttpResponse::Ok()
    };
    if !created {
        res.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(res.json(job))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowParams {
    /// Long-poll until the job is final or this much time passed (e.g. `30s`, at most 15m).
    wait: Option<String>,
    /// With `wait`: also answer as soon as the job's state is no longer this one (the state
    /// the client last showed), so a waiting client can show progress.
    seen: Option<String>,
}

pub async fn show(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
    params: web::Query<ShowParams>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Read)?;
    let wait = match &params.wait {
        None => Duration::ZERO,
        Some(w) => humantime::parse_duration(w)
            .map_err(|_| {
                ApiError::invalid("wait", format!("{w:?} is not a duration like \"30s\""))
            })?
            .min(MAX_WAIT),
    };
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let job = state
            .store
            .job(*id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no invalidation job {id}")))?;
        let target = TargetName::parse(&job.target).map_err(|e| ApiError::internal(&e))?;
        who.require_target(Scope::Read, &target)?;
        // Answer when the job is final, at the deadline, or when its state is no longer the
        // one the client says it has seen.
        let changed = params.seen.as_deref().is_some_and(|s| s != job.state);
        if job.is_final() || changed || tokio::time::Instant::now() >= deadline {
            return Ok(HttpResponse::Ok().json(job));
        }
        // Woken when a worker here changes a job; polling covers workers on other replicas.
        tokio::select! {
            () = state.job_events.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    target: Option<String>,
    state: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
}

pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Read)?;
    let limit = super::params::limit(params.limit, 50, 500)?;
    if let Some(s) = &params.state
        && !["queued", "running", "completed", "failed", "cancelled"].contains(&s.as_str())
    {
        return Err(ApiError::invalid(
            "state",
            "must be one of queued, running, completed, failed, cancelled",
        ));
    }
    let filter = JobFilter {
        target: params.target.clone(),
        state: params.state.clone(),
        targets: (!who.targets.is_empty()).then(|| who.targets.clone()),
        before_id: params.before,
        limit,
    };
    let jobs: Vec<JobRecord> = state.store.list_jobs(&filter).await?;
    let next_before = (jobs.len() == limit as usize)
        .then(|| jobs.last().map(|j| j.id))
        .flatten();
    Ok(HttpResponse::Ok().json(json!({ "jobs": jobs, "next_before": next_before })))
}

pub async fn cost(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Read)?;
    let month = month_of(now_ms());
    let billed = state.store.billed_paths(&month).await?;
    Ok(HttpResponse::Ok().json(monthly(month, billed, &state.settings.invalidation)))
}
