//! The API described as OpenAPI 3.1, generated from the handlers' annotations and the request
//! and response types (utoipa), served at `/api/openapi.json`, with a reference page at
//! `/api/docs` that renders it in the browser from files in the binary (works offline).

use actix_web::HttpResponse;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, Response, ResponseBuilder};

use super::api;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "cachewarden",
        description = "Cache health across an AWS stack, and safe invalidation. Every route under /api/v1 needs `Authorization: Bearer TOKEN` with the scope it names."
    ),
    paths(
        super::health::healthz,
        super::health::readyz,
        super::health::metrics,
        api::tokens::list,
        api::tokens::create,
        api::tokens::revoke,
        api::audit::list,
        api::impact::report,
        api::admin::reload,
        api::events::create,
        api::events::show,
        api::events::list,
        api::streams::list,
        api::discovery::list,
        api::alarms::list,
        api::alarms::history,
        api::alarms::ack,
        api::alarms::unack,
        api::alarms::outbox,
        api::silences::list,
        api::silences::create,
        api::silences::show,
        api::silences::update,
        api::silences::end,
        api::targets::list,
        api::targets::show,
        api::series::read,
        api::cloudwatch::cost,
        api::invalidations::create,
        api::invalidations::list,
        api::invalidations::show,
        api::invalidations::cancel,
        api::invalidations::cost,
        api::purges::create,
        api::purges::list,
        api::purges::show,
        api::purges::cancel,
        api::jobs::create,
        api::jobs::list,
        api::jobs::show,
        api::jobs::cancel,
    ),
    components(schemas(
        super::error::Body<'static>,
        super::error::Inner<'static>,
        crate::store::Resolution,
        crate::store::Outcome,
        crate::domain::DeliveryState,
        crate::alarms::respond::SilenceFilter,
        crate::jobs::Action
    )),
    modifiers(&Conventions)
)]
struct ApiDoc;

/// What every API route shares, added once: the bearer scheme, and the error answers in the
/// one error shape.
struct Conventions;

impl utoipa::Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            let api = path.starts_with("/api/v1/");
            let has_id = path.contains('{');
            let ops = [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("patch", &mut item.patch),
                ("delete", &mut item.delete),
            ];
            for (method, op) in ops {
                let Some(op) = op else { continue };
                // Operation ids must be unique: the handler's name within its tag (`jobs_list`).
                let tag = op.tags.as_ref().and_then(|t| t.first()).cloned();
                if let (Some(tag), Some(id)) = (tag, op.operation_id.as_mut()) {
                    *id = format!("{tag}_{id}");
                }
                if !api {
                    continue;
                }
                op.security = Some(vec![SecurityRequirement::new(
                    "bearer",
                    Vec::<String>::new(),
                )]);
                let mut errors = vec![
                    ("400", "Invalid input: `field` names it, `message` the rule"),
                    ("401", "No valid token"),
                    ("403", "The token lacks the scope or the target"),
                    (
                        "503",
                        "The database cannot take the request now; retry later",
                    ),
                ];
                if has_id {
                    errors.push(("404", "No such thing (or not visible to this token)"));
                }
                if method != "get" {
                    errors.push(("409", "Conflicts with what is stored"));
                }
                if op.request_body.is_some() {
                    errors.push(("415", "The body is not sent as application/json"));
                }
                if method == "post" {
                    errors.push(("413", "The body is too large"));
                    errors.push(("422", "Well-formed, but a rule refuses it now"));
                }
                for (status, description) in errors {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error_response(description));
                }
            }
        }
    }
}

fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Error")))
                    .build(),
            )
            .build(),
    )
}

/// The document: the handlers' annotations, with each job kind's exact shapes (see
/// [`super::openapi_kinds`]).
pub fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    super::openapi_kinds::describe(&mut doc, &crate::registry::job_kinds());
    exact_parameters(&mut doc);
    doc
}

/// What the handlers accept of the parameters every route shares the meaning of: a `{name}`
/// in a path is a name (`domain::check_name`); `metric` is a series some target kind records;
/// a text filter is `domain::text::filter`'s.
fn exact_parameters(doc: &mut serde_json::Value) {
    let mut metrics: Vec<&str> = std::iter::once("up")
        .chain(
            crate::targets::KINDS
                .iter()
                .flat_map(|k| k.series().iter().map(|s| s.name)),
        )
        .collect();
    metrics.sort_unstable();
    metrics.dedup();
    // A silence ends at a time, or (one alarm) when it resolves.
    let time = super::api::params::TIME_PATTERN;
    let until = serde_json::json!({
        "type": ["string", "integer", "null"],
        "pattern": format!("^(resolved|{})$", &time[1..time.len() - 1]),
        "description": "RFC 3339, milliseconds since the epoch, or \"resolved\" (with alarm_id)",
    });
    for body in ["NewSilence", "SilenceChange"] {
        if let Some(p) = doc["components"]["schemas"][body].get_mut("properties") {
            p["until"] = until.clone();
        }
    }
    let paths = doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|p| p.values_mut());
    for op in paths.flat_map(|item| {
        item.as_object_mut()
            .into_iter()
            .flat_map(|i| i.values_mut())
    }) {
        let params = op.get_mut("parameters").and_then(|p| p.as_array_mut());
        for p in params.into_iter().flatten() {
            match (p["in"].as_str(), p["name"].as_str()) {
                (Some("path"), Some("name")) => {
                    p["schema"] = serde_json::json!({
                        "type": "string",
                        "pattern": crate::domain::NAME_PATTERN,
                        "maxLength": crate::domain::MAX_NAME_LEN,
                    });
                }
                (Some("query"), Some("actor" | "target" | "action" | "requester"))
                    if p["schema"]["enum"].is_null() && p["schema"]["$ref"].is_null() =>
                {
                    p["schema"] = serde_json::json!({
                        "type": "string",
                        "pattern": crate::domain::text::FILTER_PATTERN,
                    });
                }
                (Some("query"), Some("from" | "to" | "since")) => {
                    p["schema"] = serde_json::json!({
                        "type": "string",
                        "pattern": super::api::params::TIME_PATTERN,
                    });
                }
                (Some("query"), Some("metric")) => {
                    p["schema"] = serde_json::json!({ "type": "string", "enum": metrics });
                }
                (Some("query"), _) => not_null(&mut p["schema"]),
                _ => {}
            }
        }
    }
}

/// A query parameter is given or absent; it has no null (an empty `?state=` is not one).
fn not_null(schema: &mut serde_json::Value) {
    // (`get_mut`, not indexing: indexing a missing key would add it as null.)
    if let Some(types) = schema.get_mut("type").and_then(|t| t.as_array_mut()) {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            schema["type"] = only;
        }
    }
    let one_of = schema.get("oneOf").and_then(|o| o.as_array()).cloned();
    if let Some(mut alternatives) = one_of {
        alternatives.retain(|a| a["type"] != "null");
        if alternatives.len() == 1 {
            *schema = alternatives.remove(0);
        } else {
            schema["oneOf"] = serde_json::Value::Array(alternatives);
        }
    }
}

/// The methods the document gives `path` (`GET`, `POST`…), in the document's order; empty
/// when no documented route matches it. Read once, from the document itself, so a route and
/// its 405 answer cannot disagree.
pub fn methods_at(path: &str) -> Vec<&'static str> {
    static ROUTES: std::sync::OnceLock<Vec<(actix_web::dev::ResourceDef, Vec<&'static str>)>> =
        std::sync::OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        let doc = document();
        doc["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(template, item)| {
                let methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
                    .into_iter()
                    .filter(|m| item.get(m.to_lowercase()).is_some())
                    .collect();
                (actix_web::dev::ResourceDef::new(template.as_str()), methods)
            })
            .collect()
    });
    routes
        .iter()
        .filter(|(def, _)| def.is_match(path))
        .flat_map(|(_, m)| m.iter().copied())
        .collect()
}

pub async fn json() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json"))
        .body(serde_json::to_string_pretty(&document()).unwrap_or_default())
}

/// The reference page: plain HTML, and a script in the binary that renders the document.
pub async fn docs() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(include_str!("../../static/api-docs.html"))
}
