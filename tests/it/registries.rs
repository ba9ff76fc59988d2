//! A registration line is enough: every target kind, receiver and job kind the registries
//! hold appears wherever kinds are listed (the API document, the dashboard's filters, the
//! command line's help, the example configuration), and each job kind's filter works.

use cachewarden::domain::Role;
use serde_json::Value;

use crate::harness::TestApp;

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn every_registered_kind_and_receiver_is_listed_wherever_kinds_are() {
    let target_kinds: Vec<&str> = cachewarden::targets::KINDS
        .iter()
        .map(|k| k.name())
        .collect();
    let receivers: Vec<&str> = cachewarden::notify::RECEIVERS
        .iter()
        .map(|r| r.name())
        .collect();
    let job_kinds: Vec<&str> = cachewarden::registry::job_kinds()
        .iter()
        .map(|k| k.name)
        .collect();
    assert!(target_kinds.len() >= 6 && receivers.len() >= 6 && job_kinds.len() >= 5);
    // One target, so the overview shows its filters rather than the empty state.
    let app = TestApp::sqlite(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:1\"\n",
    )
    .await;

    // The API document.
    let doc = app.get_json("/api/openapi.json", None).await;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(names(&schemas["TargetKind"]["enum"]), target_kinds);
    let new_job: Vec<String> = schemas["NewJob"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| names(&s["properties"]["kind"]["enum"]))
        .collect();
    assert_eq!(new_job, job_kinds);
    let kind_filter = doc["paths"]["/api/v1/jobs"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "kind")
        .unwrap();
    assert_eq!(names(&kind_filter["schema"]["enum"]), job_kinds);
    for k in &job_kinds {
        assert!(
            schemas[format!("Job_{k}")].is_object(),
            "a view of {k} jobs"
        );
    }

    // The dashboard's filters; and each job kind's filter answers.
    app.person("vera", Role::Viewer, &[]).await;
    let vera = app.sign_in("vera").await;
    let overview = app.page(Some(&vera.cookie), "/").await;
    for k in &target_kinds {
        assert!(
            overview.body.contains(&format!("<option value=\"{k}\"")),
            "the overview's tier filter offers {k}"
        );
    }
    let jobs = app.page(Some(&vera.cookie), "/jobs").await;
    for k in &job_kinds {
        assert!(
            jobs.body.contains(&format!("<option value=\"{k}\"")),
            "the jobs page's kind filter offers {k}"
        );
        let filtered = app
            .page(Some(&vera.cookie), &format!("/jobs?kind={k}"))
            .await;
        assert_eq!(filtered.status, 200, "/jobs?kind={k}");
        assert!(
            filtered
                .body
                .contains(&format!("<option value=\"{k}\" selected"))
        );
    }

    // The command line's help and the example configuration.
    let job_help = app.cli(None, &["job", "list", "--help"]).await;
    let config_help = app.cli(None, &["check-config", "--help"]).await;
    let example = app.cli(None, &["print-default-config"]).await;
    for k in &job_kinds {
        assert!(job_help.stdout.contains(k), "job list --help names {k}");
    }
    for k in &target_kinds {
        assert!(
            config_help.stdout.contains(k),
            "check-config --help names {k}"
        );
        assert!(
            example.stdout.contains(&format!("kind = \"{k}\"")),
            "the example configuration has a {k} target"
        );
    }
    for r in &receivers {
        assert!(
            config_help.stdout.contains(r),
            "check-config --help names {r}"
        );
        assert!(
            example.stdout.contains(&format!("kind = \"{r}\"")),
            "the example configuration has a {r} notifier"
        );
    }
    app.stop().await;
}
