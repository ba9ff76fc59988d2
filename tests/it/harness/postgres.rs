//! A throwaway PostgreSQL cluster. PostgreSQL refuses to run as root, so when the tests run as
//! root the server runs as the `postgres` system user (created by Debian's package).

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use super::process::{Proc, free_port};

pub struct Postgres {
    pub port: u16,
    proc: Proc,
    _dir: TempDir,
}

/// The newest installed PostgreSQL's bin directory.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    versions.pop().expect(
        "PostgreSQL is not installed (run `bash tests/run.sh` once to install test dependencies)",
    )
}

/// (uid, gid) to run as: ourselves, or `postgres` when we are root.
fn run_as() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions; getpwnam returns a pointer into static storage
    // that is read at once, before any other call could overwrite it.
    unsafe {
        if libc::geteuid() != 0 {
            return None;
        }
        let name = CString::new("postgres").expect("static name");
        let pw = libc::getpwnam(name.as_ptr());
        assert!(
            !pw.is_null(),
            "running as root needs a `postgres` user (apt-get install postgresql)"
        );
        Some(((*pw).pw_uid, (*pw).pw_gid))
    }
}

impl Postgres {
    pub fn start() -> Postgres {
        let dir = tempfile::tempdir().expect("temp dir");
        let bin = bin_dir();
        let data = dir.path().join("data");
        let user = run_as();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown temp dir");
        }
        let as_user = |cmd: &mut Command| {
            if let Some((uid, gid)) = user {
                cmd.uid(uid).gid(gid);
            }
        };
        let mut initdb = Command::new(bin.join("initdb"));
        initdb.arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        as_user(&mut initdb);
        let out = initdb.output().expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut cmd = Command::new(bin.join("postgres"));
        cmd.arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]);
        as_user(&mut cmd);
        // SIGINT is PostgreSQL's fast shutdown: abort transactions, exit cleanly.
        let mut proc = Proc::spawn(
            "postgres",
            cmd,
            libc::SIGINT,
            &dir.path().join("postgres.log"),
        );
        let log = dir.path().join("postgres.log");
        proc.wait_ready(Duration::from_secs(30), || {
            std::fs::read_to_string(&log)
                .is_ok_and(|l| l.contains("database system is ready to accept connections"))
        });
        Postgres {
            port,
            proc,
            _dir: dir,
        }
    }

    /// A URL for a new, empty database on this server, for one store under test.
    pub fn fresh_database_url(&self) -> String {
        let name = format!("t{}", uuid::Uuid::new_v4().simple());
        let out = Command::new(bin_dir().join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
            ])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "create database failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    pub fn stop(&mut self) {
        self.proc.stop();
    }
}
