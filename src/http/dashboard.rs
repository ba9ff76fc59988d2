//! Server-rendered pages. They work without JavaScript.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use super::AppState;
use crate::config::Schedule;
use crate::store::Backend;

/// One row of the targets table.
pub struct TargetRow {
    pub name: String,
    pub kind: &'static str,
    pub schedule: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct Home {
    version: &'static str,
    backend: &'static str,
    targets: Vec<TargetRow>,
}

/// The home page: every target, or how to add the first one.
pub async fn home(state: web::Data<AppState>) -> Home {
    let targets = state
        .settings
        .targets
        .iter()
        .map(|t| TargetRow {
            name: t.name.to_string(),
            kind: t.kind().as_str(),
            schedule: match &t.schedule {
                Schedule::Every(d) => format!("every {}", humantime::format_duration(*d)),
                Schedule::Cron(c) => format!("cron {c}"),
            },
        })
        .collect();
    Home {
        version: env!("CARGO_PKG_VERSION"),
        backend: match state.store.backend() {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        },
        targets,
    }
}
