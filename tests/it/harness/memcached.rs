//! memcached.

use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use super::process::{Proc, exchange, free_port};

pub struct Memcached {
    pub port: u16,
    proc: Proc,
    _dir: TempDir,
}

impl Memcached {
    pub fn start() -> Memcached {
        Self::start_on(free_port())
    }

    /// Stops the server and starts a new one, empty, on the same port: a restart.
    pub fn restart(&mut self) {
        self.proc.stop();
        *self = Self::start_on(self.port);
    }

    fn start_on(port: u16) -> Memcached {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cmd = Command::new("memcached");
        cmd.args([
            "-l",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "0",
            "-m",
            "64",
        ]);
        // memcached refuses to run as root unless told which user to become.
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            cmd.args(["-u", "nobody"]);
        }
        let mut proc = Proc::spawn(
            "memcached",
            cmd,
            libc::SIGTERM,
            &dir.path().join("memcached.log"),
        );
        proc.wait_ready(Duration::from_secs(10), || {
            exchange(port, b"version\r\n").is_some_and(|r| r.starts_with("VERSION"))
        });
        Memcached {
            port,
            proc,
            _dir: dir,
        }
    }

    /// `127.0.0.1:PORT`
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    pub fn stop(&mut self) {
        self.proc.stop();
    }
}
