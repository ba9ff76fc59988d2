//! `cachewarden user …` (issue 12, item 1): people who will sign in to the dashboard, made on
//! the command line against the daemon's database, with argon2id passwords read from standard
//! input, every change audited without the password, and bad input refused with one line.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use cachewarden::auth::people::verify_password;
use cachewarden::store::{AuditQuery, Store};
use secrecy::SecretString;
use serde_json::Value;

/// `cachewarden user --config FILE ARGS` with `stdin` piped in (or none: no terminal).
fn user(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cachewarden"))
        .arg("user")
        .arg("--config")
        .arg(dir.join("cw.toml"))
        .args(args)
        .current_dir(dir)
        .env("USER", "ops-person")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cachewarden");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

async fn store(dir: &Path) -> Store {
    Store::connect(
        &SecretString::from(format!("sqlite://{}", dir.join("cw.db").display())),
        1,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn people_are_created_listed_disabled_and_given_new_passwords_and_each_change_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("cw.toml"),
        "[database]\nurl = \"sqlite://cw.db\"\n[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n",
    )
    .unwrap();

    let out = user(
        d,
        &[
            "--create",
            "create",
            "alice@example.com",
            "--role",
            "operator",
            "--target",
            "web",
            "--password-stdin",
            "--json",
        ],
        Some("correct horse battery\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let created: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(created["name"], "alice@example.com");
    assert_eq!(created["role"], "operator");
    assert_eq!(created["targets"], serde_json::json!(["web"]));
    assert!(!text(&out.stdout).contains("argon2"), "no hash is printed");

    let s = store(d).await;
    let (_, hash) = s
        .user_for_sign_in("alice@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(verify_password(
        &hash,
        &SecretString::from("correct horse battery".to_owned())
    ));

    // Listed; disabled and enabled again; a new password replaces the old one.
    let list = user(d, &["list"], None);
    assert!(
        text(&list.stdout).contains("alice@example.com"),
        "{}",
        text(&list.stdout)
    );
    assert!(text(&list.stdout).contains("operator"));
    assert_eq!(
        user(d, &["disable", "alice@example.com"], None)
            .status
            .code(),
        Some(0)
    );
    let listed: Value =
        serde_json::from_str(&text(&user(d, &["list", "--json"], None).stdout)).unwrap();
    assert_eq!(listed[0]["disabled"], true);
    assert_eq!(
        user(d, &["enable", "alice@example.com"], None)
            .status
            .code(),
        Some(0)
    );
    let out = user(
        d,
        &["reset-password", "alice@example.com", "--password-stdin"],
        Some("a whole new passphrase\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (u, hash) = s
        .user_for_sign_in("alice@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(!u.disabled);
    assert!(verify_password(
        &hash,
        &SecretString::from("a whole new passphrase".to_owned())
    ));
    assert!(!verify_password(
        &hash,
        &SecretString::from("correct horse battery".to_owned())
    ));

    // Bad input: exit 2 and one line that names the rule; nothing is stored.
    let cases: [(&[&str], Option<&str>, &str); 8] = [
        (
            &["create", "bob", "--role", "root", "--password-stdin"],
            Some("long enough pass\n"),
            "not a role",
        ),
        (
            &["create", "Bob", "--role", "viewer", "--password-stdin"],
            Some("long enough pass\n"),
            "lowercase",
        ),
        (
            &["create", "bob", "--role", "viewer", "--password-stdin"],
            Some("short\n"),
            "at least 12",
        ),
        (
            &[
                "create",
                "bob",
                "--role",
                "viewer",
                "--target",
                "nosuch",
                "--password-stdin",
            ],
            Some("long enough pass\n"),
            "no such target",
        ),
        (
            &[
                "create",
                "alice@example.com",
                "--role",
                "viewer",
                "--password-stdin",
            ],
            Some("long enough pass\n"),
            "already exists",
        ),
        (
            &["create", "bob", "--role", "viewer"],
            None,
            "--password-stdin",
        ),
        (&["disable", "nobody"], None, "no user named"),
        (
            &["reset-password", "nobody", "--password-stdin"],
            Some("long enough pass\n"),
            "no user named",
        ),
    ];
    for (args, stdin, says) in cases {
        let out = user(d, args, stdin);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
    }
    assert_eq!(s.count_users().await.unwrap(), 1);

    // Audited by the person at the keyboard, never with a password.
    let entries = s
        .list_audit(&AuditQuery {
            limit: 50,
            before_id: None,
            actor: Some("cli:ops-person".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "user.reset_password",
            "user.enable",
            "user.disable",
            "user.create"
        ]
    );
    let all =
        serde_json::to_string(&entries.iter().map(|e| &e.detail).collect::<Vec<_>>()).unwrap();
    assert!(!all.contains("horse") && !all.contains("passphrase") && !all.contains("argon2"));
}
