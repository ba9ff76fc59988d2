//! The files in `deploy/` work the first time: each is linted or validated by the tool its
//! users would run, and what they rely on in cachewarden (the health command, the probe paths,
//! the configuration, the AWS permissions) is checked against the real thing (issue 13).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::harness::TestApp;
use crate::harness::process::{free_port, repo_root};

fn venv(tool: &str) -> std::path::PathBuf {
    repo_root().join(".tools/venv/bin").join(tool)
}

/// Every document of a YAML file, as JSON (PyYAML from the test tools).
fn yaml(path: &Path) -> Vec<Value> {
    let out = Command::new(venv("python"))
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(path)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("YAML as JSON")
}

/// `cachewarden check-config FILE` with `env`: the file is valid.
fn check_config(file: &Path, env: &[(&str, &str)]) {
    let out = Command::new(env!("CARGO_BIN_EXE_cachewarden"))
        .arg("check-config")
        .arg(file)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `cachewarden ARGS` against `server`, returning the exit code.
fn run_against(server: &str, args: &[&str]) -> Option<i32> {
    Command::new(env!("CARGO_BIN_EXE_cachewarden"))
        .args(args)
        .env("CACHEWARDEN_SERVER", server)
        .output()
        .unwrap()
        .status
        .code()
}

#[tokio::test]
async fn the_dockerfile_passes_hadolint_and_its_healthcheck_command_works() {
    let dockerfile = repo_root().join("deploy/docker/Dockerfile");
    let lint = Command::new(venv("hadolint"))
        .arg(&dockerfile)
        .output()
        .expect("hadolint");
    assert!(
        lint.status.success(),
        "{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    assert!(text.contains("\nUSER 10001"), "runs as a non-root user");
    // The HEALTHCHECK's exec form, run as Docker would, against a real daemon and a dead port.
    let cmd = text
        .split("HEALTHCHECK")
        .nth(1)
        .and_then(|rest| rest.split("CMD ").nth(1))
        .and_then(|rest| rest.lines().next())
        .expect("a HEALTHCHECK with CMD");
    let argv: Vec<String> = serde_json::from_str(cmd).expect("exec form");
    assert_eq!(argv[0], "cachewarden");
    let app = TestApp::sqlite("").await;
    let (url, healthy_args) = (app.url(""), argv[1..].to_vec());
    let code = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = healthy_args.iter().map(String::as_str).collect();
        run_against(&url, &args)
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "healthy daemon");
    let dead = format!("http://127.0.0.1:{}", free_port());
    let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
    assert_eq!(run_against(&dead, &args), Some(1), "no daemon");
    assert_eq!(run_against("not a url", &["health"]), Some(2));
}

#[test]
fn compose_runs_two_replicas_on_one_postgres_with_a_valid_configuration() {
    let dir = repo_root().join("deploy/docker");
    let compose = yaml(&dir.join("compose.yaml")).remove(0);
    let services = compose["services"].as_object().unwrap();
    let names: BTreeSet<&str> = services.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from(["cachewarden-a", "cachewarden-b", "postgres", "redis"])
    );
    let replica = |name: &str| &services[name];
    let url_a = replica("cachewarden-a")["environment"]["CACHEWARDEN__DATABASE__URL"].clone();
    assert_eq!(
        url_a,
        replica("cachewarden-b")["environment"]["CACHEWARDEN__DATABASE__URL"],
        "one database for both"
    );
    assert!(url_a.as_str().unwrap().starts_with("postgres://"));
    for name in ["cachewarden-a", "cachewarden-b"] {
        let r = replica(name);
        assert_eq!(r["build"]["dockerfile"], "deploy/docker/Dockerfile");
        assert!(
            dir.join(r["build"]["context"].as_str().unwrap())
                .join("Cargo.toml")
                .exists()
        );
        for port in r["ports"].as_array().unwrap() {
            assert!(port.as_str().unwrap().starts_with("127.0.0.1:"), "{port}");
        }
        assert_eq!(r["depends_on"]["postgres"]["condition"], "service_healthy");
    }
    check_config(
        &dir.join("cachewarden.toml"),
        &[(
            "CACHEWARDEN__DATABASE__URL",
            "postgres://u:p@postgres/cachewarden",
        )],
    );
}

#[tokio::test]
async fn kubernetes_manifests_validate_and_their_probes_answer() {
    let file = repo_root().join("deploy/kubernetes/cachewarden.yaml");
    let out = Command::new(venv("kubernetes-validate"))
        .args(["--strict", "--quiet"])
        .arg(&file)
        .output()
        .expect("kubernetes-validate");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = yaml(&file);
    let of = |kind: &str| {
        docs.iter()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("a {kind}"))
    };
    let deployment = of("Deployment");
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(of("PodDisruptionBudget")["spec"]["minAvailable"], 1);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let app = TestApp::sqlite("").await;
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        assert_eq!(container[probe]["httpGet"]["path"], path);
        assert_eq!(app.get(path, None).await.status(), 200, "{path}");
    }
    // The ConfigMap's file, with the Secret's values as environment, is a valid configuration.
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("cachewarden.toml");
    std::fs::write(
        &toml,
        of("ConfigMap")["data"]["cachewarden.toml"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let secret = of("Secret")["stringData"].as_object().unwrap().clone();
    let env: Vec<(&str, &str)> = secret
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();
    check_config(&toml, &env);
}

/// The IAM actions the code needs, read from the code: every operation called on an AWS SDK
/// client (`….client.get_metric_data()`), as `service:Operation`.
fn actions_called_by_the_code() -> BTreeSet<String> {
    fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut all = Vec::new();
    files(&repo_root().join("src"), &mut all);
    let mut actions = BTreeSet::new();
    for file in all {
        let text = std::fs::read_to_string(&file).unwrap();
        // A target's role_arn is assumed by aws-config's provider, not by a client call.
        if text.contains("AssumeRoleProvider::builder") {
            actions.insert("sts:AssumeRole".to_owned());
        }
        let services: BTreeSet<&str> = text
            .match_indices("aws_sdk_")
            .filter_map(|(i, _)| {
                let rest = &text[i + "aws_sdk_".len()..];
                let service = &rest[..rest.find(|c: char| !c.is_ascii_alphanumeric())?];
                rest[service.len()..]
                    .starts_with("::Client")
                    .then_some(service)
            })
            .collect();
        if services.is_empty() {
            continue;
        }
        let mut operations = Vec::new();
        for (i, _) in text.match_indices("client") {
            let after = text[i + "client".len()..].trim_start();
            let Some(call) = after.strip_prefix('.') else {
                continue;
            };
            let name: String = call
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if name.is_empty() || !call[name.len()..].starts_with("()") {
                continue;
            }
            let operation: String = name
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                })
                .collect();
            operations.push(operation);
        }
        if operations.is_empty() {
            continue; // builds clients (src/aws.rs), calls nothing
        }
        assert_eq!(
            services.len(),
            1,
            "{}: calls on one AWS client per file, so each call's service is known",
            file.display()
        );
        let crate_service = *services.first().unwrap();
        // IAM names DynamoDB Streams' actions under dynamodb:.
        let service = match crate_service {
            "dynamodbstreams" => "dynamodb",
            other => other,
        };
        for operation in operations {
            let action = match service {
                // API Gateway's control plane is authorised by HTTP verb on a resource path.
                "apigateway" => match operation.as_str() {
                    o if o.starts_with("Get") => "GET".to_owned(),
                    "FlushStageCache" => "DELETE".to_owned(),
                    other => panic!("{}: say which verb IAM names {other} by", file.display()),
                },
                _ => operation,
            };
            actions.insert(format!("{service}:{action}"));
        }
        // A request signed for a stage's invoke URL is an execute-api action, not an SDK call.
        if text.contains(".name(\"execute-api\")") {
            actions.insert("execute-api:InvalidateCache".to_owned());
        }
    }
    actions
}

#[test]
fn the_iam_policy_allows_exactly_what_the_code_calls() {
    let policy: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("deploy/iam-policy.json")).unwrap(),
    )
    .unwrap();
    let allowed: BTreeSet<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|s| assert_eq!(s["Effect"], "Allow"))
        .flat_map(|s| s["Action"].as_array().unwrap().clone())
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    let called = actions_called_by_the_code();
    assert!(called.contains("cloudwatch:GetMetricData"), "{called:?}");
    assert_eq!(allowed, called);
}

#[test]
fn the_release_build_ships_without_symbols() {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap()).unwrap();
    assert_eq!(
        manifest["profile"]["release"]["strip"].as_str(),
        Some("debuginfo")
    );
}

/// `systemctl reload cachewarden` sends the SIGHUP that `tests/it/reload.rs` shows reloading,
/// and the unit starts `serve` with the file a reload reads again.
#[test]
fn the_systemd_unit_reloads_with_sighup() {
    let unit = std::fs::read_to_string(repo_root().join("deploy/cachewarden.service")).unwrap();
    let lines: Vec<&str> = unit.lines().map(str::trim).collect();
    assert!(
        lines.contains(&"ExecReload=/bin/kill -HUP $MAINPID"),
        "{unit}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ExecStart=") && l.contains("serve --config /etc/")),
        "{unit}"
    );
}
