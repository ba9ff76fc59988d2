//! A real SMTP server (Python's aiosmtpd from the test virtual environment) that requires
//! STARTTLS and AUTH, with a certificate from a private CA, and keeps what it accepts.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use super::process::{Proc, free_port, repo_root};

pub struct SmtpServer {
    pub port: u16,
    pub user: String,
    pub password: String,
    _proc: Proc,
    dir: TempDir,
}

/// One accepted message.
#[derive(Debug, serde::Deserialize)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// The whole message: headers and body.
    pub data: String,
    pub tls: bool,
    pub authenticated: bool,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let dir = tempfile::tempdir().expect("temp dir");
        super::tls::make_certificates(dir.path());
        let mail = dir.path().join("mail");
        std::fs::create_dir(&mail).expect("mail dir");
        let port = free_port();
        let (user, password) = ("alerts", "smtp-s3cret");
        let mut cmd = Command::new(repo_root().join(".tools/venv/bin/python"));
        cmd.arg(repo_root().join("tests/it/harness/smtp_server.py"))
            .arg(port.to_string())
            .arg(dir.path().join("server.crt"))
            .arg(dir.path().join("server.key"))
            .arg(&mail)
            .args([user, password]);
        let log = dir.path().join("smtp.log");
        let mut proc = Proc::spawn("aiosmtpd", cmd, libc::SIGTERM, &log);
        proc.wait_ready(Duration::from_secs(20), || {
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains("ready"))
        });
        SmtpServer {
            port,
            user: user.into(),
            password: password.into(),
            _proc: proc,
            dir,
        }
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// The messages accepted so far, in order.
    pub fn received(&self) -> Vec<Received> {
        let mail = self.dir.path().join("mail");
        let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(&mail)
            .expect("mail dir")
            .filter_map(|e| {
                let p = e.ok()?.path();
                let n = p.file_stem()?.to_str()?.parse().ok()?;
                Some((n, p))
            })
            .collect();
        files.sort();
        files
            .iter()
            .map(|(_, p)| {
                serde_json::from_str(&std::fs::read_to_string(p).expect("read message"))
                    .expect("message JSON")
            })
            .collect()
    }
}
