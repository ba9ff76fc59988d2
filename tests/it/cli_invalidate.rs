//! `cachewarden invalidate` as a pipeline runs it: exit codes, progress on stderr, JSON on
//! stdout, idempotent re-runs; and through the AWS SDK into moto.

use std::sync::Arc;

use cachewarden::cloudfront::CloudFrontError;
use serde_json::Value;

use crate::harness::TestApp;
use crate::harness::app::CliRun;
use crate::harness::cloudfront::ScriptedCloudFront;

const CDN: &str = "[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\ncache_tags = true\n\
    [invalidation]\ncoalesce_window = \"10ms\"\n";

/// `cachewarden invalidate ARGS` against the app.
async fn cli(app: &TestApp, token: Option<&str>, args: &[&str]) -> CliRun {
    app.cli(token, &[&["invalidate"][..], args].concat()).await
}

#[tokio::test]
async fn waits_until_completed_and_exits_0_with_the_job_as_json() {
    let cf = Arc::new(ScriptedCloudFront::in_progress_for(1));
    let app = TestApp::with_cloudfront_running(CDN, cf.clone()).await;
    let token = app.token("ci", &["invalidate"], &["web"]).await;
    let args = [
        "--target",
        "web",
        "--path",
        "/index.html",
        "--path",
        "/assets/*",
        "--tag",
        "product:42",
        // Given with its `#`, as CloudFront writes tags: not doubled.
        "--tag",
        "#release",
        "--idempotency-key",
        "sha-abc",
        "--wait",
        "--timeout",
        "60s",
        "--json",
    ];
    let run = cli(&app, Some(&token), &args).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let job: Value = serde_json::from_str(&run.stdout).expect("stdout is the job as JSON");
    assert_eq!(job["state"], "completed");
    assert_eq!(
        job["request"]["items"],
        serde_json::json!(["/index.html", "/assets/*", "#product:42", "#release"])
    );
    assert!(
        run.stderr.contains("Queued invalidation job"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("as CloudFront invalidation I0001"),
        "progress on stderr: {}",
        run.stderr
    );
    assert!(run.stderr.contains("Completed in"), "{}", run.stderr);

    // The pipeline is re-run: the same key finds the same job; nothing is sent again.
    let again = cli(&app, Some(&token), &args).await;
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains(&format!("Found existing invalidation job {}", job["id"])),
        "{}",
        again.stderr
    );
    assert_eq!(cf.calls().len(), 1);
}

#[tokio::test]
async fn exit_codes_for_invalid_input_authorisation_failure_and_timeout() {
    let cf = Arc::new(ScriptedCloudFront::in_progress_for(10_000));
    let app = TestApp::with_cloudfront_running(CDN, cf.clone()).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let reader = app.token("reader", &["read"], &[]).await;

    let bad = cli(
        &app,
        Some(&ci),
        &["--target", "web", "--path", "index.html"],
    )
    .await;
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert_eq!(
        bad.stderr.lines().count(),
        1,
        "one readable line: {}",
        bad.stderr
    );
    assert!(
        bad.stderr.starts_with("cachewarden: items[0]:"),
        "{}",
        bad.stderr
    );
    assert!(bad.stderr.contains("must start with /"), "{}", bad.stderr);
    // Several bad items: every one is printed, each on its own line under the summary, and
    // control characters the daemon echoes back are shown escaped, never sent raw.
    let several = cli(
        &app,
        Some(&ci),
        &[
            "--target",
            "web",
            "--path",
            "a",
            "--path",
            "/fine",
            "--path",
            "/b?c=d",
            "--path",
            "/\u{1b}[2J",
        ],
    )
    .await;
    assert_eq!(several.code, Some(2), "{}", several.stderr);
    let lines: Vec<&str> = several.stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{}", several.stderr);
    assert!(
        lines[0].contains("3 of 4 items are invalid"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("  items[0] \"a\": "), "{}", lines[1]);
    assert!(
        lines[2].starts_with("  items[2] \"/b?c=d\": "),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with("  items[3] \"/\\u{1b}[2J\": "),
        "{}",
        lines[3]
    );
    assert!(!several.stderr.contains('\u{1b}'), "{}", several.stderr);
    assert_eq!(
        cli(&app, Some(&ci), &["--target", "web"]).await.code,
        Some(2)
    );
    assert_eq!(
        cli(
            &app,
            Some(&ci),
            &["--target", "web", "--path", "/a", "--timeout", "soon"]
        )
        .await
        .code,
        Some(2)
    );

    let none = cli(&app, None, &["--target", "web", "--path", "/a"]).await;
    assert_eq!(none.code, Some(4));
    assert!(
        none.stderr.contains("set CACHEWARDEN_TOKEN"),
        "{}",
        none.stderr
    );
    let forbidden = cli(&app, Some(&reader), &["--target", "web", "--path", "/a"]).await;
    assert_eq!(forbidden.code, Some(4), "{}", forbidden.stderr);
    assert!(
        forbidden.stderr.contains("lacks the invalidate scope"),
        "{}",
        forbidden.stderr
    );

    let slow = cli(
        &app,
        Some(&ci),
        &[
            "--target",
            "web",
            "--path",
            "/slow",
            "--wait",
            "--timeout",
            "3s",
        ],
    )
    .await;
    assert_eq!(slow.code, Some(3), "{}", slow.stderr);
    assert!(
        slow.stderr.contains("still running after 3s"),
        "{}",
        slow.stderr
    );

    cf.fail_creates([CloudFrontError::Permanent(
        "NoSuchDistribution: The specified distribution does not exist.".into(),
    )]);
    let failed = cli(
        &app,
        Some(&ci),
        &[
            "--target",
            "web",
            "--path",
            "/gone",
            "--wait",
            "--timeout",
            "60s",
        ],
    )
    .await;
    assert_eq!(failed.code, Some(1), "{}", failed.stderr);
    assert!(
        failed.stderr.contains("NoSuchDistribution"),
        "{}",
        failed.stderr
    );
}

#[tokio::test]
async fn the_cli_invalidates_in_moto() {
    let moto = crate::harness::moto::Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let cf = cachewarden::aws::cloudfront(&sdk);
    let id = crate::harness::moto::create_distribution(&cf).await;
    let config = format!(
        "[aws]\nregion = \"eu-west-1\"\n[invalidation]\ncoalesce_window = \"10ms\"\n[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"{id}\"\n"
    );
    let app = TestApp::with_aws_running(&config, sdk).await;
    let token = app.token("ci", &["invalidate"], &[]).await;
    let run = cli(
        &app,
        Some(&token),
        &[
            "--target",
            "web",
            "--path",
            "/cli/*",
            "--wait",
            "--timeout",
            "60s",
            "--json",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let job: Value = serde_json::from_str(&run.stdout).unwrap();
    let inv = job["result"]["invalidation_id"].as_str().unwrap();
    let got = cf
        .get_invalidation()
        .distribution_id(&id)
        .id(inv)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.invalidation()
            .unwrap()
            .invalidation_batch()
            .unwrap()
            .paths()
            .unwrap()
            .items(),
        ["/cli/*"]
    );
}

#[tokio::test]
async fn a_dry_run_from_the_command_line_prints_the_plan_and_sends_nothing() {
    let cf = Arc::new(ScriptedCloudFront::in_progress_for(1));
    let app = TestApp::with_cloudfront_running(CDN, cf.clone()).await;
    let token = app.token("ci", &["invalidate"], &["web"]).await;
    let run = cli(
        &app,
        Some(&token),
        &[
            "--target",
            "web",
            "--path",
            "/index.html",
            "--path",
            "/assets/*",
            "--dry-run",
            "--timeout",
            "60s",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("completed (dry run: would send 2 paths (2 billed, 0.00 USD; 1000 free paths left this month))"),
        "{}",
        run.stderr
    );
    assert!(cf.calls().is_empty(), "nothing reached CloudFront");
}
