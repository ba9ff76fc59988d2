//! What the API document says of each job kind, derived from the registry: the exact schema
//! of its request, progress and result; a job view per kind (so `JobView` is one of them,
//! told apart by `kind`); and the bodies of the routes that take a request of some kind: the
//! generic `POST /api/v1/jobs`, and the routes of an action, whose body is the target beside
//! the request's own fields. A new kind appears here by its registration alone.

use serde_json::{Map, Value, json};
use utoipa::openapi::{RefOr, Schema};

use crate::jobs::{Action, KindInfo};

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The component name a `$ref` points at.
fn ref_name(v: &Value) -> Option<&str> {
    v["$ref"].as_str()?.strip_prefix("#/components/schemas/")
}

/// `schema`, or null (a part a job does not have yet). A part that is always null stays so.
fn or_null(schema: &Value, components: &Map<String, Value>) -> Value {
    let always_null = ref_name(schema)
        .and_then(|n| components.get(n))
        .is_some_and(|s| s["type"] == "null");
    if always_null {
        json!({ "type": "null" })
    } else {
        json!({ "oneOf": [schema, { "type": "null" }] })
    }
}

/// A target's (or an event type's) name, as `domain::check_name` accepts it.
fn name_schema(description: String) -> Value {
    json!({
        "type": "string",
        "pattern": crate::domain::NAME_PATTERN,
        "maxLength": crate::domain::MAX_NAME_LEN,
        "description": description,
    })
}

/// `Kind` → `Job_kind_name` component names.
fn view_name(kind: &str) -> String {
    format!("Job_{kind}")
}

/// Adds the kinds to `doc` (an OpenAPI 3.1 document as JSON).
pub fn describe(doc: &mut Value, kinds: &[KindInfo]) {
    let mut registered: crate::jobs::Schemas = Vec::new();
    let parts: Vec<(KindInfo, Value, Value, Value)> = kinds
        .iter()
        .map(|k| {
            let s = (k.schemas)(&mut registered);
            let json = |r: &RefOr<Schema>| serde_json::to_value(r).unwrap_or_default();
            (*k, json(&s.request), json(&s.progress), json(&s.result))
        })
        .collect();
    let Some(components) = doc["components"]["schemas"].as_object_mut() else {
        return;
    };
    for (name, schema) in registered {
        components.insert(name, serde_json::to_value(schema).unwrap_or_default());
    }
    let components_now = components.clone();

    // A job as the API shows it, one view per kind.
    let generic = components_now.get("JobView").cloned().unwrap_or_default();
    let mut views = Vec::new();
    for (k, request, progress, result) in &parts {
        let mut view = generic.clone();
        view["description"] = json!(format!("A {} job ({}).", k.label, k.name));
        view["properties"]["kind"] = json!({ "type": "string", "enum": [k.name] });
        view["properties"]["request"] = request.clone();
        view["properties"]["progress"] = or_null(progress, &components_now);
        view["properties"]["result"] = or_null(result, &components_now);
        components.insert(view_name(k.name), view);
        views.push(reference(&view_name(k.name)));
    }
    let mapping: Map<String, Value> = parts
        .iter()
        .map(|(k, ..)| {
            (
                k.name.to_owned(),
                json!(format!("#/components/schemas/{}", view_name(k.name))),
            )
        })
        .collect();
    components.insert(
        "JobView".into(),
        json!({
            "description": "A job of any kind; `kind` says which, and with it the shape of its request, progress and result.",
            "oneOf": views,
            "discriminator": { "propertyName": "kind", "mapping": mapping },
        }),
    );

    // POST /api/v1/jobs: the kind, its target, its request.
    let new_job: Vec<Value> = parts
        .iter()
        .map(|(k, request, ..)| {
            json!({
                "type": "object",
                "description": format!("A {} ({}).", k.label, k.name),
                "properties": {
                    "kind": { "type": "string", "enum": [k.name] },
                    "target": name_schema(if k.target_kinds.is_empty() {
                        "What it is about (an event's type).".to_owned()
                    } else {
                        format!("A {} target.", k.target_kinds.join(" or "))
                    }),
                    "request": request,
                },
                "required": ["kind", "target", "request"],
                "additionalProperties": false,
            })
        })
        .collect();
    components.insert(
        "NewJob".into(),
        json!({ "oneOf": new_job, "discriminator": { "propertyName": "kind" } }),
    );

    // The routes of an action: the target beside the request's own fields. Kinds sharing a
    // request (both purge kinds) share one shape.
    let mut bodies: Vec<(&str, Value)> = Vec::new();
    for (action, name, route) in [
        (
            Action::Invalidate,
            "NewInvalidation",
            "/api/v1/invalidations",
        ),
        (Action::Purge, "NewPurge", "/api/v1/purges"),
    ] {
        let mut shapes: Vec<Value> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for (k, request, ..) in parts.iter().filter(|(k, ..)| k.action == action) {
            let request_name = ref_name(request).unwrap_or_default().to_owned();
            if seen.contains(&request_name) {
                continue;
            }
            seen.push(request_name.clone());
            let Some(own) = components_now.get(&request_name) else {
                continue;
            };
            let mut shape = own.clone();
            shape["description"] = json!(format!(
                "A {} of a {} target: the target, and the request.",
                k.label,
                k.target_kinds.join(" or ")
            ));
            shape["properties"]["target"] =
                name_schema(format!("A {} target.", k.target_kinds.join(" or ")));
            let mut required: Vec<Value> =
                shape["required"].as_array().cloned().unwrap_or_default();
            required.insert(0, json!("target"));
            shape["required"] = json!(required);
            shape["additionalProperties"] = json!(false);
            shapes.push(shape);
        }
        let body = match shapes.len() {
            1 => shapes.remove(0),
            _ => json!({ "anyOf": shapes }),
        };
        components.insert(name.into(), body);
        bodies.push((route, reference(name)));
    }
    bodies.push(("/api/v1/jobs", reference("NewJob")));
    // A `kind` filter takes the registered kinds.
    let names: Vec<&str> = kinds.iter().map(|k| k.name).collect();
    for item in doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|p| p.values_mut())
    {
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|i| i.values_mut())
        {
            let params = op.get_mut("parameters").and_then(Value::as_array_mut);
            for p in params.into_iter().flatten() {
                if p["name"] == "kind" && p["in"] == "query" {
                    p["schema"] = json!({ "type": "string", "enum": names });
                }
            }
        }
    }
    for (route, schema) in bodies {
        let body = &mut doc["paths"][route]["post"]["requestBody"];
        body["content"]["application/json"]["schema"] = schema;
        body["required"] = json!(true);
    }
}
