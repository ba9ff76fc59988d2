//! Amazon SNS: one Publish per notification to the topic, in the topic's region. The message
//! is structured per protocol: e-mail and SMS subscribers read the text, machine subscribers
//! (SQS, Lambda, HTTP/S, Firehose) get the JSON payload; message attributes carry kind,
//! severity, alarm and target for subscription filter policies.

use aws_sdk_sns::types::MessageAttributeValue;
use futures_util::future::BoxFuture;
use serde_json::json;

use super::{Receiver, SendError, subject, text};
use crate::store::Notification;

pub struct Sns {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl Sns {
    pub fn new(sdk: &aws_config::SdkConfig, topic_arn: String, region: &str) -> Self {
        let conf = aws_sdk_sns::config::Builder::from(sdk)
            .region(aws_config::Region::new(region.to_owned()))
            .build();
        Self {
            client: aws_sdk_sns::Client::from_conf(conf),
            topic_arn,
        }
    }
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
