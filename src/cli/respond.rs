//! `cachewarden alarm …` and `cachewarden silence …`: what on-call people do from a terminal,
//! through a running daemon (token scope `read` to list, `respond` to change). One line per
//! item on stdout, `--json` for the API's answer; errors are one line on stderr with the exit
//! codes of the client commands.

use serde_json::{Value, json};

use super::Failure;
use super::client::{Client, ClientArgs};

#[derive(Debug, clap::Subcommand)]
pub enum AlarmCommand {
    /// List alarm states (one per alarm and target).
    List,
    /// Acknowledge an alarm in state alarm: its reminders are held until it resolves.
    Ack {
        /// The alarm state id (from `alarm list`).
        id: i64,
        /// Why, or what is being done (shown beside the acknowledgement).
        #[arg(long)]
        comment: Option<String>,
    },
    /// Withdraw an acknowledgement: reminders resume.
    Unack {
        /// The alarm state id (from `alarm list`).
        id: i64,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum SilenceCommand {
    /// Hold the notifications of one alarm (--alarm-id), or of an alarm name and/or a target
    /// glob, until a time (--until), for a while (--for), or until the alarm resolves
    /// (--until resolved, with --alarm-id).
    Create {
        /// One alarm state (the id from `alarm list`).
        #[arg(long)]
        alarm_id: Option<i64>,
        /// An alarm name, on every target (or those --target matches).
        #[arg(long)]
        alarm: Option<String>,
        /// A target name or glob (`web-*`), for every alarm (or --alarm).
        #[arg(long)]
        target: Option<String>,
        /// RFC 3339, milliseconds since the epoch, or `resolved`.
        #[arg(long)]
        until: Option<String>,
        /// A duration such as `2h`.
        #[arg(long = "for")]
        duration: Option<String>,
        /// Why (required: whoever is on call next reads it).
        #[arg(long)]
        comment: String,
    },
    /// List silences.
    List {
        /// active, ended or all.
        #[arg(long, default_value = "active")]
        state: String,
    },
    /// End a silence now (it stays listed as ended).
    End {
        /// The silence id (from `silence list`).
        id: i64,
    },
}

#[derive(Debug, clap::Args)]
pub struct AlarmArgs {
    #[command(flatten)]
    pub(super) client: ClientArgs,
    #[command(subcommand)]
    command: AlarmCommand,
}

#[derive(Debug, clap::Args)]
pub struct SilenceArgs {
    #[command(flatten)]
    pub(super) client: ClientArgs,
    #[command(subcommand)]
    command: SilenceCommand,
}

fn time(v: &Value) -> String {
    v.as_i64()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| "-".into())
}

/// `7  alarm  sessions-hit-rate on sessions  since …  acked by oncall  silenced by #3`
fn alarm_line(a: &Value) -> String {
    let mut line = format!(
        "{}\t{}\t{} on {}\tsince {}",
        a["id"],
        a["state"].as_str().unwrap_or_default(),
        a["alarm"].as_str().unwrap_or_default(),
        a["target"].as_str().unwrap_or_default(),
        time(&a["since"])
    );
    if let Some(by) = a["acknowledged"]["by"].as_str() {
        line.push_str(&format!("\tacknowledged by {by}"));
    }
    if let Some(ids) = a["silenced_by"].as_array().filter(|s| !s.is_empty()) {
        let ids: Vec<String> = ids.iter().map(|i| format!("#{i}")).collect();
        line.push_str(&format!("\tsilenced by {}", ids.join(", ")));
    }
    line
}

/// `#3  active  target sessions-*  until …  by oncall: deploy`
fn silence_line(s: &Value) -> String {
    let what = [
        s["alarm_id"].as_i64().map(|i| format!("alarm {i}")),
        s["alarm"].as_str().map(|a| format!("alarm {a}")),
        s["target"].as_str().map(|t| format!("target {t}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let until = if s["until_resolved"] == true {
        "until resolved".to_owned()
    } else {
        format!("until {}", time(&s["until"]))
    };
    format!(
        "#{}\t{}\t{what}\t{until}\tby {}: {}",
        s["id"],
        if s["active"] == true {
            "active"
        } else {
            "ended"
        },
        s["created_by"].as_str().unwrap_or_default(),
        s["comment"].as_str().unwrap_or_default()
    )
}

fn print(json_out: bool, body: &Value, lines: impl IntoIterator<Item = String>) {
    if json_out {
        println!("{}", serde_json::to_string_pretty(body).unwrap_or_default());
    } else {
        for l in lines {
            println!("{}", crate::domain::text::printable(&l));
        }
    }
}

pub(super) async fn alarm(args: AlarmArgs) -> Result<(), Failure> {
    let client = Client::new(&args.client.server, args.client.token.clone())?;
    let j = args.client.json;
    match args.command {
        AlarmCommand::List => {
            let (_, body) = client.get("/api/v1/alarms").await?;
            let lines = body["alarms"]
                .as_array()
                .into_iter()
                .flatten()
                .map(alarm_line);
            print(j, &body, lines);
        }
        AlarmCommand::Ack { id, comment } => {
            let (_, body) = client
                .send(
                    reqwest::Method::POST,
                    &format!("/api/v1/alarms/{id}/ack"),
                    &json!({ "comment": comment }),
                )
                .await?;
            print(j, &body, [alarm_line(&body)]);
        }
        AlarmCommand::Unack { id } => {
            let (_, body) = client.delete(&format!("/api/v1/alarms/{id}/ack")).await?;
            print(j, &body, [alarm_line(&body)]);
        }
    }
    Ok(())
}

pub(super) async fn silence(args: SilenceArgs) -> Result<(), Failure> {
    let client = Client::new(&args.client.server, args.client.token.clone())?;
    let j = args.client.json;
    match args.command {
        SilenceCommand::Create {
            alarm_id,
            alarm,
            target,
            until,
            duration,
            comment,
        } => {
            let mut body = json!({ "comment": comment });
            for (k, v) in [
                ("alarm_id", alarm_id.map(Value::from)),
                ("alarm", alarm.map(Value::from)),
                ("target", target.map(Value::from)),
                ("until", until.map(Value::from)),
                ("for", duration.map(Value::from)),
            ] {
                if let Some(v) = v {
                    body[k] = v;
                }
            }
            let (_, s) = client
                .send(reqwest::Method::POST, "/api/v1/silences", &body)
                .await?;
            print(j, &s, [silence_line(&s)]);
        }
        SilenceCommand::List { state } => {
            let (_, body) = client
                .get(&format!("/api/v1/silences?state={}", url_part(&state)))
                .await?;
            let lines = body["silences"]
                .as_array()
                .into_iter()
                .flatten()
                .map(silence_line);
            print(j, &body, lines);
        }
        SilenceCommand::End { id } => {
            let (_, s) = client.delete(&format!("/api/v1/silences/{id}")).await?;
            print(j, &s, [silence_line(&s)]);
        }
    }
    Ok(())
}

/// A query value, percent-encoded.
fn url_part(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
