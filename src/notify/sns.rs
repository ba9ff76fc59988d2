//! Amazon SNS: one Publish per notification to the topic, in the topic's region. The message
//! is structured per protocol: e-mail and SMS subscribers read the text, machine subscribers
//! (SQS, Lambda, HTTP/S, Firehose) get the JSON payload; message attributes carry kind,
//! severity, alarm and target for subscription filter policies.

use std::sync::Arc;

use aws_sdk_sns::types::MessageAttributeValue;
use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::json;

use super::{Receiver, ReceiverConfig, ReceiverKind, SendError, Shared, subject, text};
use crate::checker::fields::{self, Field};
use crate::checker::{Checker, KeyPath};
use crate::store::Notification;

pub struct SnsKind;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// `arn:aws:sns:REGION:ACCOUNT:TOPIC`; published to in the topic's region.
    topic_arn: Option<String>,
    /// Only if it is the topic's own region (which the ARN already says).
    region: Option<String>,
}

/// An SNS notifier.
#[derive(Debug, Clone)]
pub struct Config {
    pub topic_arn: String,
    /// The topic's region, from its ARN.
    pub region: String,
}

impl ReceiverKind for SnsKind {
    fn name(&self) -> &'static str {
        "sns"
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
        let arn = v.required(path, "topic_arn", &raw.topic_arn)?;
        let parts: Vec<&str> = arn.split(':').collect();
        if !arn.starts_with("arn:aws:sns:") || parts.len() != 6 {
            v.error(
                path.key("topic_arn"),
                format!(
                    "{arn:?} is not a topic ARN like \"arn:aws:sns:eu-west-1:123456789012:alerts\""
                ),
            );
            return None;
        }
        // A topic is published to in its own region, which its ARN names.
        let region = v.region(path.key("topic_arn"), parts[3])?;
        if let Some(r) = &raw.region
            && r != &region
        {
            v.error(
                path.key("region"),
                format!("{r:?} is not the topic's region {region:?}; leave region out"),
            );
            return None;
        }
        Some(Arc::new(Config {
            topic_arn: arn.clone(),
            region,
        }))
    }

    fn example(&self) -> &'static str {
        r#"[[notifiers]]
name = "alerts-topic"
kind = "sns"
topic_arn = "arn:aws:sns:eu-west-1:123456789012:cache-alerts"  # published in the topic's region
"#
    }
}

impl ReceiverConfig for Config {
    fn needs_aws(&self) -> bool {
        true
    }

    fn build(&self, shared: &Shared<'_>) -> Result<Arc<dyn Receiver>, String> {
        let sdk = shared.aws.ok_or("no AWS configuration was loaded")?;
        let conf = aws_sdk_sns::config::Builder::from(sdk)
            .region(aws_config::Region::new(self.region.clone()))
            .build();
        Ok(Arc::new(Sns {
            client: aws_sdk_sns::Client::from_conf(conf),
            topic_arn: self.topic_arn.clone(),
        }))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

struct Sns {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

fn attribute(value: &str) -> Option<MessageAttributeValue> {
    // An empty string attribute is refused by SNS; leave it out.
    (!value.is_empty())
        .then(|| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .ok()
        })
        .flatten()
}

impl Receiver for Sns {
    fn send<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let p = &n.payload;
            let machine = p.to_string();
            let message = json!({
                "default": text(p),
                "sqs": machine,
                "lambda": machine,
                "http": machine,
                "https": machine,
                "firehose": machine,
            });
            let mut publish = self
                .client
                .publish()
                .topic_arn(&self.topic_arn)
                .subject(subject(p))
                .message_structure("json")
                .message(message.to_string());
            for (name, value) in [
                ("kind", n.kind.as_str()),
                ("severity", p["severity"].as_str().unwrap_or_default()),
                ("alarm", p["alarm"].as_str().unwrap_or_default()),
                ("target", p["target"].as_str().unwrap_or_default()),
                ("delivery", &n.id.to_string()),
            ] {
                if let Some(v) = attribute(value) {
                    publish = publish.message_attributes(name, v);
                }
            }
            publish.send().await.map(|_| ()).map_err(|e| {
                SendError(format!("sns: {}", crate::aws_error::explain("Publish", &e)))
            })
        })
    }
}
