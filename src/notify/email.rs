//! E-mail over SMTP: STARTTLS required by default (the connection fails rather than send in
//! clear), optional AUTH, a private CA on top of the system roots. Plain text, one message per
//! notification to every configured recipient.

use futures_util::future::BoxFuture;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use super::{Receiver, SendError, subject, text};
use crate::config::EmailSettings;
use crate::store::Notification;

pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl Email {
    /// Fails (with a message the outbox shows) when the CA file or an address is unusable.
    pub fn new(s: &EmailSettings) -> Result<Self, String> {
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
