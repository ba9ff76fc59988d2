//! redis-server, standalone or as a small cluster.

use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use super::process::{Proc, exchange, free_port};

/// One redis-server with no persistence.
pub struct RedisServer {
    pub port: u16,
    proc: Proc,
    _dir: TempDir,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_with(&[])
    }

    /// Starts with extra command-line settings (e.g. `["--cluster-enabled", "yes"]`).
    pub fn start_with(extra: &[&str]) -> RedisServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        Self::start_on(port, dir, extra)
    }

    fn start_on(port: u16, dir: TempDir, extra: &[&str]) -> RedisServer {
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir.path())
        .args(extra);
        let mut proc = Proc::spawn(
            "redis-server",
            cmd,
            libc::SIGTERM,
            &dir.path().join("redis.log"),
        );
        proc.wait_ready(Duration::from_secs(10), || {
            exchange(port, b"PING\r\n").is_some_and(|r| r.starts_with("+PONG"))
        });
        RedisServer {
            port,
            proc,
            _dir: dir,
        }
    }

    /// `redis://127.0.0.1:PORT`
    /// A client connection (to make traffic).
    pub async fn connection(&self) -> ::redis::aio::MultiplexedConnection {
        ::redis::Client::open(self.url())
            .expect("redis URL")
            .get_multiplexed_async_connection()
            .await
            .expect("connect to redis-server")
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Stops the server (for restart and outage tests).
    pub fn stop(&mut self) {
        self.proc.stop();
    }

    /// Stops the server and starts a new one, empty, on the same port: a restart.
    pub fn restart(&mut self) {
        self.proc.stop();
        let fresh = RedisServer::start_on(self.port, tempfile::tempdir().expect("temp dir"), &[]);
        *self = fresh;
    }
}

/// A redis-server that speaks only TLS, with a certificate for 127.0.0.1 signed by a CA made
/// for the test, and a password.
pub struct TlsRedis {
    pub port: u16,
    pub password: String,
    _proc: Proc,
    dir: TempDir,
}

impl TlsRedis {
    pub fn start(password: &str) -> TlsRedis {
        let dir = tempfile::tempdir().expect("temp dir");
        super::tls::make_certificates(dir.path());
        let port = free_port();
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--tls-auth-clients", "no", "--requirepass", password])
        .arg("--tls-cert-file")
        .arg(dir.path().join("server.crt"))
        .arg("--tls-key-file")
        .arg(dir.path().join("server.key"))
        .arg("--tls-ca-cert-file")
        .arg(dir.path().join("ca.crt"))
        .arg("--dir")
        .arg(dir.path());
        let log = dir.path().join("redis.log");
        let mut proc = Proc::spawn("redis-server (TLS)", cmd, libc::SIGTERM, &log);
        proc.wait_ready(Duration::from_secs(10), || {
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains("Ready to accept connections"))
        });
        TlsRedis {
            port,
            password: password.to_owned(),
            _proc: proc,
            dir,
        }
    }

    /// The PEM file of the CA that signed the server's certificate.
    pub fn ca_file(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.crt")
    }
}

/// A Redis Cluster of primaries only, every slot assigned.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

/// A port whose cluster bus port (port + 10000) is also free and valid.
fn cluster_port() -> u16 {
    loop {
        let p = free_port();
        if p < 55_000 && std::net::TcpListener::bind(("127.0.0.1", p + 10_000)).is_ok() {
            return p;
        }
    }
}

impl RedisCluster {
    pub fn start(primaries: usize) -> RedisCluster {
        let nodes: Vec<RedisServer> = (0..primaries)
            .map(|_| {
                let dir = tempfile::tempdir().expect("temp dir");
                RedisServer::start_on(
                    cluster_port(),
                    dir,
                    &[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "2000",
                    ],
                )
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster create (install redis-tools)");
        assert!(
            out.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = RedisCluster { nodes };
        let end = std::time::Instant::now() + Duration::from_secs(20);
        while !cluster.nodes.iter().all(|n| {
            exchange(n.port, b"CLUSTER INFO\r\n").is_some_and(|r| r.contains("cluster_state:ok"))
        }) {
            assert!(
                std::time::Instant::now() < end,
                "the cluster did not reach cluster_state:ok"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        cluster
    }
}

/// Drives cache traffic: `hits` GETs of a key that exists and `misses` GETs of keys that do not.
pub async fn traffic(c: &mut ::redis::aio::MultiplexedConnection, hits: usize, misses: usize) {
    use ::redis::AsyncCommands;
    let _: () = c.set("present", "v").await.expect("SET");
    for _ in 0..hits {
        let _: Option<String> = c.get("present").await.expect("GET");
    }
    for i in 0..misses {
        let _: Option<String> = c.get(format!("absent:{i}")).await.expect("GET");
    }
}
