//! E-mail over SMTP: STARTTLS required by default (the connection fails rather than send in
//! clear), optional AUTH, a private CA on top of the system roots. Plain text, one message per
//! notification to every configured recipient.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{Receiver, ReceiverConfig, ReceiverKind, SendError, Shared, subject, text};
use crate::checker::fields::{self, Field};
use crate::checker::{Checker, KeyPath};
use crate::store::Notification;

pub struct EmailKind;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// The SMTP server.
    host: Option<String>,
    /// Default 587.
    port: Option<u16>,
    /// Default true: STARTTLS is required; false only for a relay on the same host.
    starttls: Option<bool>,
    username: Option<String>,
    password: Option<String>,
    from: Option<String>,
    to: Option<Vec<String>>,
    /// A PEM file of a private CA to trust for STARTTLS, besides the system roots.
    tls_ca_file: Option<String>,
}

/// SMTP delivery.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub starttls: bool,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub from: String,
    pub to: Vec<String>,
    pub tls_ca_file: Option<PathBuf>,
}

impl ReceiverKind for EmailKind {
    fn name(&self) -> &'static str {
        "email"
    }

    fn fields(&self) -> Vec<Field> {
        fields::of::<Raw>()
    }

    fn parse(
        &self,
        v: &mut Checker,
        path: &KeyPath,
        table: toml::Table,
        foreign: &dyn Fn(&str) -> String,
    ) -> Option<Arc<dyn ReceiverConfig>> {
        let raw: Raw = fields::read(v, path, table, foreign)?;
        let host = v.required(path, "host", &raw.host).cloned();
        let from = v.required(path, "from", &raw.from).cloned();
        let to = v.required(path, "to", &raw.to).cloned();
        for (field, address) in from
            .iter()
            .map(|f| ("from", f))
            .chain(to.iter().flatten().map(|t| ("to", t)))
        {
            // The parser the sender uses, so what passes here is sendable.
            if let Err(e) = address.parse::<Mailbox>() {
                v.error(
                    path.key(field),
                    format!("{address:?} is not an e-mail address ({e})"),
                );
            }
        }
        if to.as_ref().is_some_and(Vec::is_empty) {
            v.error(path.key("to"), "must list at least one address");
        }
        let tls_ca_file = match &raw.tls_ca_file {
            None => Some(None),
            Some(f) => v.file(path.key("tls_ca_file"), f).map(Some),
        };
        Some(Arc::new(Config {
            host: host?,
            port: raw.port.unwrap_or(587),
            starttls: raw.starttls.unwrap_or(true),
            username: raw.username,
            password: raw.password.map(SecretString::from),
            from: from?,
            to: to?,
            tls_ca_file: tls_ca_file?,
        }))
    }

    fn example(&self) -> &'static str {
        r#"[[notifiers]]
name = "mail"
kind = "email"
host = "smtp.example.com"
port = 587
starttls = true                       # the default: alerts never travel in clear
username = "cachewarden"
password = "change-me"
from = "cachewarden <cachewarden@example.com>"
to = ["sre@example.com"]
# tls_ca_file = "/etc/ssl/private-ca.pem"   # trust a private CA besides the system roots
"#
    }
}

impl ReceiverConfig for Config {
    fn secrets(&self) -> Vec<&str> {
        self.password.iter().map(|s| s.expose_secret()).collect()
    }

    fn build(&self, _shared: &Shared<'_>) -> Result<Arc<dyn Receiver>, String> {
        Ok(Arc::new(Email::new(self)?))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl Email {
    /// Fails (with a message the outbox shows) when the CA file or an address is unusable.
    fn new(s: &Config) -> Result<Self, String> {
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host).port(s.port);
        if s.starttls {
            let mut tls = TlsParameters::builder(s.host.clone());
            if let Some(file) = &s.tls_ca_file {
                let pem = std::fs::read(file)
                    .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                let ca = Certificate::from_pem(&pem)
                    .map_err(|e| format!("{} is not a PEM certificate: {e}", file.display()))?;
                tls = tls.add_root_certificate(ca);
            }
            let tls = tls.build_rustls().map_err(|e| format!("TLS setup: {e}"))?;
            builder = builder.tls(Tls::Required(tls));
        }
        if let (Some(user), Some(password)) = (&s.username, &s.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        let parse = |a: &str| {
            a.parse::<Mailbox>()
                .map_err(|e| format!("{a:?} is not an e-mail address: {e}"))
        };
        Ok(Self {
            transport: builder
                .timeout(Some(std::time::Duration::from_secs(10)))
                .build(),
            from: parse(&s.from)?,
            to: s.to.iter().map(|a| parse(a)).collect::<Result<_, _>>()?,
        })
    }
}

impl Receiver for Email {
    fn send<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let mut m = Message::builder()
                .from(self.from.clone())
                .subject(subject(&n.payload))
                .header(ContentType::TEXT_PLAIN);
            for to in &self.to {
                m = m.to(to.clone());
            }
            let message = m
                .body(format!("{}\nDelivery: {}\n", text(&n.payload), n.id))
                .map_err(|e| SendError(format!("email: {e}")))?;
            self.transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError(format!("email: {e}")))
        })
    }
}
