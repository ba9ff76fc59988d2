//! The forms that change caches: a CloudFront invalidation (each bad item's error shown
//! beside it) and a purge that shows its dry run first and asks for the target's name where
//! the guard rails require it. Both submit jobs through the same service as the API, with an
//! idempotency key made when the form was drawn, so a double click makes one job.

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Chrome, PageError, Person, page_with_status, see_other};
use crate::http::AppState;
use crate::http::middleware::{AuditNote, Refusal};
use crate::jobs::{Action, JobView};
use crate::service_error::ServiceError;

fn fresh_key() -> String {
    format!("dashboard-{}", uuid::Uuid::new_v4())
}

/// Lines of a textarea, trimmed, blank ones dropped.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The targets `person` may start jobs of `action` on, or why they may start none.
fn targets_for(
    state: &AppState,
    person: &Person,
    action: Action,
) -> Result<Vec<String>, PageError> {
    Ok(state
        .jobs
        .targets_for(&person.0.principal, &state.settings(), action)?)
}

/// Whether any configured target serves `action` at all, whoever asks: an empty form then
/// says "nothing is configured" rather than "you may not".
fn any_configured(state: &AppState, action: Action) -> bool {
    let settings = state.settings();
    state.jobs.kinds().iter().any(|k| {
        settings
            .targets
            .iter()
            .any(|t| k.serves(action, t.kind.name()))
    })
}

/// The configured targets named in `names` (a form's offer), in configuration order: one
/// pass, however many targets there are.
fn offered<'a>(
    settings: &'a crate::config::Settings,
    names: &[String],
) -> Vec<&'a crate::config::TargetSettings> {
    let names: std::collections::HashSet<&str> = names.iter().map(String::as_str).collect();
    settings
        .targets
        .iter()
        .filter(|t| names.contains(t.name.as_str()))
        .collect()
}

/// The guard rails of `targets`, as the purge form states them before anyone asks: one line
/// per set of rails, naming the targets that have it (a fleet of alike targets is one line).
fn rails_of(state: &AppState, targets: &[String]) -> Vec<(String, String)> {
    use crate::domain::text::thousands;
    /// Targets named on one line; past this many the rest are counted.
    const NAMED: usize = 5;
    let settings = state.settings();
    let each: Vec<(String, String)> = offered(&settings, targets)
        .into_iter()
        .filter_map(|t| {
            let r = t.config.purge_rules()?;
            let patterns = if r.prefixes.is_empty() {
                "every pattern needs the target's name typed".to_owned()
            } else {
                format!(
                    "patterns under {} go without confirmation, others need the target's name typed",
                    r.prefixes.join(", ")
                )
            };
            Some((
                t.name.to_string(),
                format!(
                    "{patterns}; so do patterns matching more than {} keys. Exact keys and tags need none.",
                    thousands(r.max_keys as f64)
                ),
            ))
        })
        .collect();
    let mut lines: Vec<(Vec<String>, String)> = Vec::new();
    for (name, text) in each {
        match lines.iter_mut().find(|(_, t)| *t == text) {
            Some((names, _)) => names.push(name),
            None => lines.push((vec![name], text)),
        }
    }
    lines
        .into_iter()
        .map(|(names, text)| {
            let mut who = names[..names.len().min(NAMED)].join(", ");
            if names.len() > NAMED {
                who.push_str(&format!(" and {} more", names.len() - NAMED));
            }
            (who, text)
        })
        .collect()
}

/// One item of the form as drawn again, with its error when it has one.
pub struct Item {
    pub text: String,
    pub error: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "invalidate.html")]
pub struct InvalidatePage {
    chrome: Chrome,
    targets: Vec<String>,
    /// Where each offered target lives: (target, "distribution E2QWRUHEXAMPLE").
    facts: Vec<(String, String)>,
    /// This month's CloudFront paths and price, in words.
    month: String,
    /// The latest invalidations of every kind.
    recent: Vec<super::jobs::JobRow>,
    /// Some target of a kind that invalidates is configured (whoever may use it).
    configured: bool,
    target: String,
    text: String,
    /// The whole stage was asked to be flushed (API Gateway).
    flush: bool,
    items: Vec<Item>,
    error: String,
    key: String,
}

/// The target a form acts on, for its audit entry whatever the outcome.
fn targeting(req: &HttpRequest, target: &str) {
    req.extensions_mut().insert(AuditNote {
        target: Some(target.to_owned()),
        detail: Value::Null,
    });
}

fn audit(req: &HttpRequest, job: &JobView) {
    req.extensions_mut().insert(AuditNote {
        target: Some(job.target.clone()),
        detail: json!({ "job": job.id, "kind": job.kind }),
    });
}

/// Invalidations listed under the form.
const RECENT: u32 = 10;

impl InvalidatePage {
    /// The empty form, with the distributions `person` may invalidate, where they live, this
    /// month's price so far and the latest invalidations.
    async fn new(state: &AppState, person: &Person) -> Result<Self, PageError> {
        use crate::domain::text::thousands;
        let who = &person.0.principal;
        let targets = targets_for(state, person, Action::Invalidate)?;
        let settings = state.settings();
        let shown = offered(&settings, &targets);
        let facts = shown
            .iter()
            .map(|t| {
                let said: Vec<String> = t
                    .config
                    .facts()
                    .into_iter()
                    .map(|(what, value)| format!("{what} {value}"))
                    .collect();
                (t.name.to_string(), said.join(", "))
            })
            .collect();
        // CloudFront bills paths; the month's count matters only where one is offered.
        let cloudfront = shown.iter().any(|t| t.kind.name() == "cloudfront");
        let c = state.operations.invalidation_cost(who).await?;
        let month = if !cloudfront {
            String::new()
        } else {
            format!(
                "CloudFront in {}: {} paths billed so far, {} of the {} free paths left; about ${:.2} this month{}.",
                c.month,
                thousands(c.billed_paths as f64),
                thousands((c.free_paths as i64 - c.billed_paths).max(0) as f64),
                thousands(c.free_paths as f64),
                c.estimated_usd,
                c.budget_usd
                    .map(|b| format!(" (budget ${b:.2})"))
                    .unwrap_or_default()
            )
        };
        let kinds = state
            .jobs
            .kinds()
            .into_iter()
            .filter(|k| k.action == Action::Invalidate)
            .map(|k| k.name.to_owned())
            .collect();
        let recent = state
            .jobs
            .list(
                who,
                &crate::jobs::ListQuery {
                    kinds,
                    limit: RECENT,
                    ..Default::default()
                },
            )
            .await?
            .jobs
            .iter()
            .map(super::jobs::row)
            .collect();
        Ok(Self {
            chrome: Chrome::new(state, person),
            targets,
            facts,
            month,
            recent,
            configured: any_configured(state, Action::Invalidate),
            target: String::new(),
            text: String::new(),
            flush: false,
            items: Vec::new(),
            error: String::new(),
            key: fresh_key(),
        })
    }
}

pub async fn invalidate_form(
    state: web::Data<AppState>,
    person: Person,
) -> Result<InvalidatePage, PageError> {
    InvalidatePage::new(&state, &person).await
}

#[derive(Deserialize)]
pub struct InvalidateForm {
    target: String,
    #[serde(default)]
    items: String,
    /// "on" when the whole stage is to be flushed.
    #[serde(default)]
    flush: Option<String>,
    /// "on" for a CloudFront dry run: the plan and the price, nothing sent.
    #[serde(default)]
    dry_run: Option<String>,
    #[serde(default)]
    confirm: String,
    key: String,
}

pub async fn invalidate(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    form: web::Form<InvalidateForm>,
) -> Result<HttpResponse, PageError> {
    let f = form.into_inner();
    let items = lines(&f.items);
    let flush = f.flush.is_some();
    let request = if flush {
        json!({ "flush": true, "confirm": f.confirm })
    } else if f.dry_run.is_some() {
        json!({ "items": items, "dry_run": true })
    } else {
        json!({ "items": items })
    };
    // Named before the service decides, so a refusal is audited with its target too.
    targeting(&req, &f.target);
    let submitted = state
        .jobs
        .submit_action(
            &person.0.principal,
            &state.settings(),
            Action::Invalidate,
            &f.target,
            &request,
            Some(f.key.clone()),
        )
        .await;
    let (code, message, details) = match submitted {
        Ok((job, _)) => {
            audit(&req, &job);
            return Ok(see_other(&format!("/jobs/{}", job.id)));
        }
        Err(ServiceError::Invalid {
            code,
            message,
            details,
            ..
        }) => (code, message, details),
        // A flush not confirmed: said on the form, which keeps what was typed.
        Err(ServiceError::Refused {
            code: "confirmation_required",
            message,
            ..
        }) => ("confirmation_required", message, Vec::new()),
        Err(other) => return Err(other.into()),
    };
    // Each bad item's message beside it; the rest of the list as it was.
    let error_of = |i: usize| {
        details
            .iter()
            .find(|d| d["field"] == Value::String(format!("items[{i}]")))
            .and_then(|d| d["message"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    Refusal::note(&req, code, &message);
    // The banner names the first refused line as people count lines (from 1), like the list.
    let bad: Vec<usize> = (0..items.len())
        .filter(|i| !error_of(*i).is_empty())
        .collect();
    let message = match bad.as_slice() {
        [] => message,
        [i] => format!("Line {}: {}", i + 1, error_of(*i)),
        [i, rest @ ..] => format!(
            "Line {}: {} ({} refused too, marked below)",
            i + 1,
            error_of(*i),
            crate::domain::text::count(rest.len(), "other line", "other lines")
        ),
    };
    let page = InvalidatePage {
        target: f.target,
        text: f.items,
        flush,
        items: items
            .iter()
            .enumerate()
            .map(|(i, text)| Item {
                text: text.clone(),
                error: error_of(i),
            })
            .collect(),
        error: message,
        // The same key: the list was refused, nothing was stored under it.
        key: f.key,
        ..InvalidatePage::new(&state, &person).await?
    };
    page_with_status(StatusCode::BAD_REQUEST, &page)
}

#[derive(Template, WebTemplate)]
#[template(path = "purge.html")]
pub struct PurgePage {
    chrome: Chrome,
    targets: Vec<String>,
    /// Each offered target's guard rails, in words: (target, what needs confirmation).
    rails: Vec<(String, String)>,
    /// Some target of a kind that purges is configured (whoever may use it).
    configured: bool,
    target: String,
    keys: String,
    patterns: String,
    tags: String,
    rate_limit: String,
    /// The dry run shown, if any.
    dry_run: Option<DryRun>,
    /// Ask for the target's name before purging.
    needs_confirm: bool,
    error: String,
    key: String,
}

/// A dry run's figures, as far as it got.
pub struct DryRun {
    pub job: i64,
    pub state: &'static str,
    pub is_final: bool,
    pub count: String,
    pub sample: Vec<String>,
    pub estimate: String,
    /// "0.1 % of the 4,000 keys on the scanned nodes" (empty: not known).
    pub share: String,
    /// "holding about 1.2 MiB" (empty: not known).
    pub memory: String,
    /// Why a purge of the same request needs the target's name (empty: it does not).
    pub confirmation_needed: String,
}

#[derive(Deserialize)]
pub struct PurgeParams {
    /// A dry-run job to show (and to fill the form from).
    dry_run: Option<i64>,
}

fn text_list(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn dry_run_of(job: &JobView) -> DryRun {
    // The result when it ended; the running tally before.
    let (count, sample) = match (&job.result, &job.progress) {
        (Some(r), _) => (r.get("matched"), r.get("sample")),
        // The kinds keep their running tally at the top of their progress.
        (None, Some(p)) => (p.get("matched"), p.get("sample")),
        _ => (None, None),
    };
    let estimate = job
        .result
        .as_ref()
        .and_then(|r| r.get("estimated_seconds"))
        .and_then(Value::as_f64)
        .map(|s| {
            let d = std::time::Duration::from_secs(s.ceil() as u64);
            match job.request["rate_limit"].as_u64() {
                Some(rate) => format!("about {} at {rate} keys/s", humantime::format_duration(d)),
                None => format!("about {} (no rate limit)", humantime::format_duration(d)),
            }
        })
        .unwrap_or_default();
    let result = job.result.as_ref();
    let matched = count.and_then(Value::as_u64);
    let share = match (matched, result.and_then(|r| r["keyspace"].as_u64())) {
        (Some(m), Some(all)) if all > 0 => format!(
            ", {:.1} % of the {} keys on the scanned nodes",
            m as f64 * 100.0 / all as f64,
            crate::domain::text::thousands(all as f64)
        ),
        _ => String::new(),
    };
    let memory = result
        .and_then(|r| r["estimated_bytes"].as_u64())
        .map(|b| {
            format!(
                ", holding about {}",
                super::chart::reading(b as f64, super::chart::Unit::Bytes)
            )
        })
        .unwrap_or_default();
    DryRun {
        share,
        memory,
        job: job.id,
        state: job.state.as_str(),
        is_final: job.state.is_final(),
        count: count
            .and_then(Value::as_u64)
            .map(|n| n.to_string())
            .unwrap_or_default(),
        sample: sample
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        estimate,
        confirmation_needed: job
            .result
            .as_ref()
            .and_then(|r| r["confirmation_needed"].as_str())
            .unwrap_or_default()
            .to_owned(),
    }
}

impl PurgePage {
    /// The empty form, with the Redis and Memcached targets `person` may purge.
    fn new(state: &AppState, person: &Person) -> Result<Self, PageError> {
        let targets = targets_for(state, person, Action::Purge)?;
        Ok(Self {
            chrome: Chrome::new(state, person),
            rails: rails_of(state, &targets),
            targets,
            configured: any_configured(state, Action::Purge),
            target: String::new(),
            keys: String::new(),
            patterns: String::new(),
            tags: String::new(),
            rate_limit: String::new(),
            dry_run: None,
            needs_confirm: false,
            error: String::new(),
            key: fresh_key(),
        })
    }
}

pub async fn purge_form(
    state: web::Data<AppState>,
    person: Person,
    params: web::Query<PurgeParams>,
) -> Result<PurgePage, PageError> {
    let who = &person.0.principal;
    let mut page = PurgePage::new(&state, &person)?;
    if let Some(id) = params.dry_run {
        let job = state
            .jobs
            .get(who, id, &crate::registry::kinds_of(Action::Purge))
            .await?;
        page.target = job.target.clone();
        page.keys = text_list(&job.request["keys"]);
        page.patterns = text_list(&job.request["patterns"]);
        page.tags = text_list(&job.request["tags"]);
        page.rate_limit = job.request["rate_limit"]
            .as_u64()
            .map(|r| r.to_string())
            .unwrap_or_default();
        let dry_run = dry_run_of(&job);
        // What the dry run found beyond the guard rails, or a dry run that was confirmed:
        // the purge asks for the target's name (typed again, on purpose).
        page.needs_confirm =
            !dry_run.confirmation_needed.is_empty() || job.request["confirm"].is_string();
        page.dry_run = Some(dry_run);
    }
    Ok(page)
}

#[derive(Deserialize)]
pub struct PurgeForm {
    target: String,
    #[serde(default)]
    keys: String,
    #[serde(default)]
    patterns: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    rate_limit: String,
    #[serde(default)]
    confirm: String,
    /// `dry_run` or `purge`: which button.
    action: String,
    key: String,
    /// The dry run shown above the form, if one was: it stays shown when a purge is refused.
    #[serde(default)]
    dry_run_job: String,
}

pub async fn purge(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    form: web::Form<PurgeForm>,
) -> Result<HttpResponse, PageError> {
    let f = form.into_inner();
    let dry_run = f.action != "purge";
    let rate_limit = match f.rate_limit.trim() {
        "" => None,
        r => Some(r.parse::<u64>().map_err(|_| {
            PageError::from(crate::http::ApiError::invalid(
                "rate_limit",
                "keys per second, a whole number",
            ))
        })?),
    };
    let mut request = json!({
        "keys": lines(&f.keys),
        "patterns": lines(&f.patterns),
        "tags": lines(&f.tags),
        "dry_run": dry_run,
        "rate_limit": rate_limit,
    });
    if !f.confirm.trim().is_empty() {
        request["confirm"] = Value::String(f.confirm.trim().to_owned());
    }
    targeting(&req, &f.target);
    // A dry run and the purge after it are two jobs: each gets its own key.
    let key = format!("{}-{}", f.key, if dry_run { "dry-run" } else { "purge" });
    let e = match state
        .jobs
        .submit_action(
            &person.0.principal,
            &state.settings(),
            Action::Purge,
            &f.target,
            &request,
            Some(key),
        )
        .await
    {
        Ok((job, _)) => {
            audit(&req, &job);
            return Ok(see_other(&if dry_run {
                format!("/purge?dry_run={}", job.id)
            } else {
                format!("/jobs/{}", job.id)
            }));
        }
        Err(e @ (ServiceError::Invalid { .. } | ServiceError::Refused { .. })) => e,
        Err(other) => return Err(other.into()),
    };
    let needs_confirm = matches!(
        e,
        ServiceError::Refused {
            code: "confirmation_required",
            ..
        }
    );
    // The dry run the person just read stays above the form.
    let shown = match f.dry_run_job.trim().parse::<i64>() {
        Ok(id) => state
            .jobs
            .get(&person.0.principal, id, &[])
            .await
            .ok()
            .map(|j| dry_run_of(&j)),
        Err(_) => None,
    };
    let page = PurgePage {
        dry_run: shown,
        target: f.target,
        keys: f.keys,
        patterns: f.patterns,
        tags: f.tags,
        rate_limit: f.rate_limit,
        needs_confirm,
        error: e.to_string(),
        key: f.key,
        ..PurgePage::new(&state, &person)?
    };
    Refusal::note(
        &req,
        if needs_confirm {
            "confirmation_required"
        } else {
            "invalid_request"
        },
        e.to_string(),
    );
    page_with_status(StatusCode::BAD_REQUEST, &page)
}
