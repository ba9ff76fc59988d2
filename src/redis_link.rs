//! How cachewarden reaches a Redis target, for polling and for purging alike: a client per
//! node (the configured URL with its host and port replaced, so credentials and TLS carry
//! over; a private CA read at each connect, so a rotated file is used without a restart), and
//! the nodes a cluster reports. Errors never carry the URL (it may hold a password).

use std::path::PathBuf;
use std::time::Duration;

use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;
use secrecy::{ExposeSecret, SecretString};

/// Why a Redis node could not be reached or asked; safe to show (no URL, no password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LinkError(pub String);

impl LinkError {
    fn with(what: &str, e: impl std::fmt::Display) -> Self {
        Self(format!("{what}: {e}"))
    }
}

/// A node as CLUSTER NODES lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    /// `host:port`
    pub address: String,
    pub primary: bool,
}

/// The way to one Redis target.
#[derive(Debug, Clone)]
pub struct RedisLink {
    /// The target's name, for messages.
    name: String,
    url: SecretString,
    /// A PEM CA to trust for `rediss://` instead of the system roots.
    tls_ca_file: Option<PathBuf>,
}

impl RedisLink {
    pub fn new(name: &str, url: SecretString, tls_ca_file: Option<PathBuf>) -> Self {
        Self {
            name: name.to_owned(),
            url,
            tls_ca_file,
        }
    }

    fn client(&self, url: String) -> Result<redis::Client, LinkError> {
        match &self.tls_ca_file {
            None => redis::Client::open(url).map_err(|e| LinkError::with("invalid Redis URL", e)),
            Some(file) => {
                let root = std::fs::read(file)
                    .map_err(|e| LinkError::with(&format!("cannot read {}", file.display()), e))?;
                let certs = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(root),
                };
                redis::Client::build_with_tls(url, certs)
                    .map_err(|e| LinkError::with("invalid TLS settings", e))
            }
        }
    }

    /// The URL for one node: the configured URL with its host and port replaced.
    fn node_url(&self, node: &str) -> Result<String, LinkError> {
        let mut url =
            url::Url::parse(self.url.expose_secret()).map_err(|e| LinkError::with("bad URL", e))?;
        let (host, port) = node
            .rsplit_once(':')
            .ok_or_else(|| LinkError(format!("bad node address {node:?}")))?;
        url.set_host(Some(host))
            .map_err(|e| LinkError::with("bad node host", e))?;
        url.set_port(port.parse().ok())
            .map_err(|_| LinkError(format!("bad node port in {node:?}")))?;
        Ok(url.into())
    }

    /// A connection to `node` (`host:port`), or to the configured address when `node` is
    /// empty; `timeout` bounds connecting and each answer.
    pub async fn connect(
        &self,
        node: &str,
        timeout: Duration,
    ) -> Result<MultiplexedConnection, LinkError> {
        let url = if node.is_empty() {
            self.url.expose_secret().to_owned()
        } else {
            self.node_url(node)?
        };
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        self.client(url)?
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| {
                LinkError::with(
                    &format!(
                        "cannot connect to {}",
                        if node.is_empty() { &self.name } else { node }
                    ),
                    e,
                )
            })
    }
}

impl RedisLink {
    /// A cluster connection seeded with `nodes` (`host:port`), which routes each command to
    /// the node owning its keys' slot.
    pub async fn cluster(
        &self,
        nodes: &[String],
        timeout: Duration,
    ) -> Result<redis::cluster_async::ClusterConnection, LinkError> {
        let urls = nodes
            .iter()
            .map(|n| self.node_url(n))
            .collect::<Result<Vec<_>, _>>()?;
        let mut builder = redis::cluster::ClusterClientBuilder::new(urls)
            .connection_timeout(timeout)
            .response_timeout(timeout);
        if let Some(file) = &self.tls_ca_file {
            let root = std::fs::read(file)
                .map_err(|e| LinkError::with(&format!("cannot read {}", file.display()), e))?;
            builder = builder.certs(redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(root),
            });
        }
        builder
            .build()
            .map_err(|e| LinkError::with("invalid cluster settings", e))?
            .get_async_connection()
            .await
            .map_err(|e| {
                LinkError::with(&format!("cannot connect to the cluster {}", self.name), e)
            })
    }
}

/// Every connected node in CLUSTER NODES output (pure), sorted by address.
pub fn parse_cluster_nodes(text: &str) -> Vec<ClusterNode> {
    let mut nodes: Vec<ClusterNode> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _id = fields.next()?;
            let address = fields.next()?;
            let flags = fields.next()?;
            if flags.contains("fail") || flags.contains("noaddr") || flags.contains("handshake") {
                return None;
            }
            // ip:port@cport[,hostname]
            let host_port = address.split('@').next()?;
            (!host_port.starts_with(':')).then(|| ClusterNode {
                address: host_port.to_owned(),
                primary: flags.split(',').any(|f| f == "master"),
            })
        })
        .collect();
    nodes.sort_by(|a, b| a.address.cmp(&b.address));
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_nodes_lists_reachable_nodes_and_their_roles() {
        let text = "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,hostname4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected\n\
                    67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922\n\
                    292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master,fail - 0 1426238318243 3 connected 10923-16383\n\
                    e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460\n";
        let nodes = parse_cluster_nodes(text);
        let listed: Vec<(&str, bool)> = nodes
            .iter()
            .map(|n| (n.address.as_str(), n.primary))
            .collect();
        assert_eq!(
            listed,
            [
                ("127.0.0.1:30001", true),
                ("127.0.0.1:30002", true),
                ("127.0.0.1:30004", false)
            ]
        );
    }
}
