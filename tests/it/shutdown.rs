//! The daemon as a process: starts with no configuration at all, and ends cleanly on SIGTERM.

use std::process::Command;
use std::time::Duration;

use crate::harness::process::Proc;

/// The address from the daemon's JSON "Listening." log line, once it has been written.
fn listening_address(log: &str) -> Option<String> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["message"] == "Listening.")
        .and_then(|v| v["fields"]["address"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn with_no_configuration_it_serves_from_sqlite_in_the_working_directory_and_stops_on_sigterm()
{
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cachewarden"));
    cmd.args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("CACHEWARDEN_CONFIG");
    let mut daemon = Proc::spawn(
        "cachewarden",
        cmd,
        libc::SIGKILL,
        &dir.path().join("daemon.log"),
    );
    daemon.wait_ready(Duration::from_secs(30), || {
        listening_address(
            &std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default(),
        )
        .is_some()
    });
    let address = listening_address(&daemon.log()).unwrap();

    let health = reqwest::get(format!("http://{address}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let home = reqwest::get(format!("http://{address}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Nobody exists yet: the first page says where the one-time setup link is, and the log
    // has it.
    assert!(home.contains("Create the first admin"), "{home}");
    let log = daemon.log();
    let link = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|l| l["fields"]["link"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no setup link in the log:\n{log}"));
    assert!(
        link.starts_with(&format!("http://{address}/setup?code=")),
        "{link}"
    );
    let setup = reqwest::get(&link).await.unwrap().text().await.unwrap();
    assert!(
        setup.contains("name=\"confirm\""),
        "the link opens the form: {setup}"
    );
    assert!(
        dir.path().join("cachewarden.db").exists(),
        "the embedded default is a SQLite file in the working directory"
    );

    let status = daemon
        .signal_and_wait(libc::SIGTERM, Duration::from_secs(5))
        .expect("exited within 5 s of SIGTERM");
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM; log:\n{}",
        daemon.log()
    );
    assert!(daemon.log().contains("Received SIGTERM."));
    assert!(
        reqwest::get(format!("http://{address}/healthz"))
            .await
            .is_err(),
        "the port is closed"
    );
}
