//! Notifications through the durable outbox to real HTTP receivers started by the test:
//! exactly one alarm and one resolved message, signed; retries while the receiver is down;
//! delivery after a restart; Slack and PagerDuty formats.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::harness::TestApp;
use crate::harness::receiver::TestReceiver;
use crate::harness::redis::RedisServer;

pub(crate) fn config(redis: &str, notifiers: &str, notify: &str) -> String {
    format!(
        "[server]\npublic_url = \"https://cachewarden.example.com\"\n\
         [[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{redis}\"\n{notifiers}\
         [[alarms]]\nname = \"sessions-hit-rate\"\ntarget = \"sessions\"\nmetric = \"hit_rate\"\nbelow = 0.8\nseverity = \"critical\"\nnotify = [{notify}]\n"
    )
}

pub(crate) async fn deliver(app: &TestApp, later_ms: i64) -> cachewarden::notify::DeliveryReport {
    app.notifications
        .run_once(cachewarden::store::now_ms() + later_ms)
        .await
        .unwrap()
}

#[tokio::test]
async fn one_signed_alarm_message_then_one_resolved_message() {
    let redis = RedisServer::start();
    let hook = TestReceiver::start(0).await;
    let notifiers = format!(
        "[[notifiers]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{}/hook\"\nsecret = \"s3cret\"\n",
        hook.url
    );
    let app = TestApp::sqlite(&config(&redis.url(), &notifiers, "\"ops\"")).await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    app.redis_interval(&mut c, "sessions", 9, 1).await; // ok: no message (insufficient_data -> ok is not news)
    app.redis_interval(&mut c, "sessions", 1, 9).await; // alarm
    app.redis_interval(&mut c, "sessions", 2, 8).await; // still alarm: no second message
    deliver(&app, 0).await;
    deliver(&app, 0).await;
    let got = hook.accepted();
    assert_eq!(got.len(), 1, "exactly one alarm message: {got:?}");
    let m = &got[0];
    assert_eq!(m.path, "/hook");
    assert_eq!(m.body["kind"], "alarm");
    assert_eq!(m.body["alarm"], "sessions-hit-rate");
    assert_eq!(m.body["target"], "sessions");
    assert_eq!(m.body["series"], "hit_rate");
    assert_eq!(m.body["value"], 0.1);
    assert_eq!(m.body["threshold"]["below"], 0.8);
    assert_eq!(m.body["severity"], "critical");
    // The links lead to this alarm's card and to its target's charts, not to the overview.
    let id = m.body["alarm_id"].as_i64().unwrap();
    assert_eq!(
        m.body["link"],
        format!("https://cachewarden.example.com/alarms#alarm-{id}")
    );
    assert_eq!(
        m.body["target_link"],
        "https://cachewarden.example.com/targets/sessions"
    );
    app.person("olga", cachewarden::domain::Role::Viewer, &[])
        .await;
    let olga = app.sign_in("olga").await;
    let alarms = app.page(Some(&olga.cookie), "/alarms").await;
    assert!(
        alarms.body.contains(&format!("id=\"alarm-{id}\"")),
        "the link's anchor is on the alarms page"
    );
    assert!(m.body["since"].as_i64().unwrap() > 1_700_000_000_000);
    // The signature checks out: HMAC-SHA256 over "t.body" with the shared secret.
    let sig = m.header("x-cachewarden-signature").expect("signed");
    let (t, v1) = sig.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&m.raw);
    assert_eq!(hex::encode(mac.finalize().into_bytes()), v1);
    assert!(m.header("x-cachewarden-delivery").is_some());

    app.redis_interval(&mut c, "sessions", 10, 0).await; // resolved
    app.redis_interval(&mut c, "sessions", 10, 0).await; // still ok
    deliver(&app, 0).await;
    let got = hook.accepted();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].body["kind"], "resolved");
    assert_eq!(got[1].body["state"], "ok");
}

#[tokio::test]
async fn a_receiver_down_for_three_attempts_gets_the_message_once() {
    let redis = RedisServer::start();
    let hook = TestReceiver::start(3).await;
    let notifiers = format!(
        "[[notifiers]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        hook.url
    );
    let app = TestApp::sqlite(&config(&redis.url(), &notifiers, "\"ops\"")).await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    app.redis_interval(&mut c, "sessions", 0, 10).await; // alarm
    let admin = app.token("root", &["admin"], &[]).await;
    // Backoff 5 s, 10 s, 20 s: each pass is late enough for the next attempt.
    for later in [0, 6_000, 17_000, 38_000, 80_000, 200_000] {
        deliver(&app, later).await;
    }
    assert_eq!(
        hook.seen(),
        4,
        "three refusals, then one delivery, then nothing more"
    );
    assert_eq!(hook.accepted().len(), 1);
    let outbox: Value = app
        .get("/api/v1/outbox", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let n = &outbox["notifications"][0];
    assert_eq!(n["state"], "delivered");
    assert_eq!(n["attempts"], 4);
    // Alert delivery is itself monitored.
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    for line in [
        "cachewarden_notification_attempts_total{notifier=\"ops\",outcome=\"retried\"} 3",
        "cachewarden_notification_attempts_total{notifier=\"ops\",outcome=\"delivered\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}

#[tokio::test]
async fn a_notification_accepted_before_a_crash_is_delivered_after_the_restart_once() {
    let redis = RedisServer::start();
    let hook = TestReceiver::start(0).await;
    let notifiers = format!(
        "[[notifiers]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        hook.url
    );
    let toml = config(&redis.url(), &notifiers, "\"ops\"");
    let app = TestApp::sqlite(&toml).await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    app.redis_interval(&mut c, "sessions", 0, 10).await; // the transition and its notification are stored together
    let data = app.stop_keeping_data().await; // stopped before any delivery
    assert_eq!(hook.seen(), 0);
    let app = TestApp::restart_sqlite(&toml, data).await;
    deliver(&app, 0).await;
    deliver(&app, 60_000).await;
    assert_eq!(hook.accepted().len(), 1);
    assert_eq!(hook.accepted()[0].body["kind"], "alarm");
}

#[tokio::test]
async fn slack_and_pagerduty_get_their_own_formats() {
    let redis = RedisServer::start();
    let rx = TestReceiver::start(0).await;
    let notifiers = format!(
        "[[notifiers]]\nname = \"chat\"\nkind = \"slack\"\nurl = \"{0}/slack\"\n\
         [[notifiers]]\nname = \"pager\"\nkind = \"pagerduty\"\nrouting_key = \"0123456789abcdef0123456789abcdef\"\nurl = \"{0}/pd\"\n",
        rx.url
    );
    let app = TestApp::sqlite(&config(&redis.url(), &notifiers, "\"chat\", \"pager\"")).await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    app.redis_interval(&mut c, "sessions", 0, 10).await;
    app.redis_interval(&mut c, "sessions", 10, 0).await;
    deliver(&app, 0).await;
    let got = rx.accepted();
    let slack: Vec<_> = got.iter().filter(|r| r.path == "/slack").collect();
    let pd: Vec<_> = got.iter().filter(|r| r.path == "/pd").collect();
    assert_eq!((slack.len(), pd.len()), (2, 2));
    let text = slack[0].body["text"].as_str().unwrap();
    assert!(
        text.starts_with("ALARM sessions-hit-rate on sessions: hit_rate 0.000 (below 0.8)"),
        "{text}"
    );
    assert!(
        slack[1].body["text"]
            .as_str()
            .unwrap()
            .starts_with("RESOLVED sessions-hit-rate on sessions")
    );
    assert_eq!(pd[0].body["event_action"], "trigger");
    assert_eq!(pd[1].body["event_action"], "resolve");
    assert_eq!(
        pd[0].body["dedup_key"], pd[1].body["dedup_key"],
        "one incident, triggered then resolved"
    );
    assert_eq!(pd[0].body["payload"]["severity"], "critical");
    assert_eq!(
        pd[0].body["routing_key"],
        "0123456789abcdef0123456789abcdef"
    );
}

#[tokio::test]
async fn sns_publishes_text_for_people_and_json_for_machines_to_the_topic() {
    let moto = crate::harness::moto::Moto::start();
    let sdk = moto.sdk_config("us-east-1").await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let topic = sns
        .create_topic()
        .name("cache-alerts")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let queue = sqs
        .create_queue()
        .queue_name("alert-consumer")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .unwrap();
    let redis = RedisServer::start();
    let notifiers =
        format!("[[notifiers]]\nname = \"topic\"\nkind = \"sns\"\ntopic_arn = \"{topic}\"\n");
    let app = TestApp::with_aws(&config(&redis.url(), &notifiers, "\"topic\""), sdk).await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    app.redis_interval(&mut c, "sessions", 1, 9).await; // alarm
    let report = deliver(&app, 0).await;
    assert_eq!(report.delivered, 1, "{report:?}");

    let got = sqs
        .receive_message()
        .queue_url(&queue)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(got.len(), 1);
    // SQS receives SNS's envelope; its Message is the JSON payload (the "sqs" variant).
    let envelope: Value = serde_json::from_str(got[0].body().unwrap()).unwrap();
    assert_eq!(envelope["TopicArn"], topic.as_str());
    assert_eq!(envelope["Subject"], "ALARM sessions-hit-rate on sessions");
    assert_eq!(
        envelope["MessageAttributes"]["severity"]["Value"],
        "critical"
    );
    assert_eq!(envelope["MessageAttributes"]["kind"]["Value"], "alarm");
    let payload: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(payload["target"], "sessions");
    assert_eq!(payload["value"], 0.1);
    assert_eq!(payload["threshold"]["below"], 0.8);
}

#[tokio::test]
async fn email_goes_over_starttls_with_auth_and_an_untrusted_server_gets_nothing() {
    let smtp = crate::harness::smtp::SmtpServer::start();
    let redis = RedisServer::start();
    let mail = |name: &str, ca: &str| {
        format!(
            "[[notifiers]]\nname = \"{name}\"\nkind = \"email\"\nhost = \"127.0.0.1\"\nport = {}\n\
             username = \"{}\"\npassword = \"{}\"\nfrom = \"cachewarden <cachewarden@example.com>\"\n\
             to = [\"oncall@example.com\", \"sre@example.com\"]\n{ca}",
            smtp.port, smtp.user, smtp.password
        )
    };
    // The second notifier does not trust the server's CA: STARTTLS fails, nothing is sent in
    // clear, and the delivery is retried with the reason visible.
    let notifiers = format!(
        "{}{}",
        mail(
            "mail",
            &format!("tls_ca_file = \"{}\"\n", smtp.ca_file().display())
        ),
        mail("mail-untrusted", "")
    );
    let app = TestApp::sqlite(&config(
        &redis.url(),
        &notifiers,
        "\"mail\", \"mail-untrusted\"",
    ))
    .await;
    let reader = app.token("dash", &["read"], &[]).await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    app.redis_interval(&mut c, "sessions", 1, 9).await; // alarm
    let report = deliver(&app, 0).await;
    assert_eq!((report.delivered, report.retried), (1, 1), "{report:?}");

    let got = smtp.received();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert!(m.tls && m.authenticated, "{m:?}");
    assert_eq!(m.mail_from, "cachewarden@example.com");
    assert_eq!(m.rcpt_tos, ["oncall@example.com", "sre@example.com"]);
    assert!(
        m.data
            .contains("Subject: ALARM sessions-hit-rate on sessions"),
        "{}",
        m.data
    );
    for line in [
        "Target: sessions",
        "Series: hit_rate",
        "Value: 0.1",
        "Threshold: {\"below\":0.8}",
        "Alarm: https://cachewarden.example.com/alarms#alarm-",
        "Charts: https://cachewarden.example.com/targets/sessions",
    ] {
        assert!(m.data.contains(line), "{line:?} in {}", m.data);
    }
    let pending: Value = app
        .get("/api/v1/outbox?state=pending", Some(&reader))
        .await
        .json()
        .await
        .unwrap();
    let n = &pending["notifications"][0];
    assert_eq!(n["notifier"], "mail-untrusted");
    let error = n["last_error"].as_str().unwrap();
    assert!(
        error.contains("certificate") || error.contains("Certificate"),
        "{error}"
    );
    assert!(!error.contains(&smtp.password), "no secret in errors");
}

/// An alarm reaches a real Alertmanager as an alert with its labels, annotations and link, and
/// its resolution ends that alert (issue 13).
#[tokio::test]
async fn alertmanager_receives_the_alert_and_its_resolution() {
    use crate::harness::alertmanager::Alertmanager;
    let redis = RedisServer::start();
    let am = Alertmanager::start();
    let notifiers = format!(
        "[[notifiers]]\nname = \"am\"\nkind = \"alertmanager\"\nurl = \"{}\"\n",
        am.url()
    );
    let app = TestApp::sqlite(&config(&redis.url(), &notifiers, "\"am\"")).await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    app.redis_interval(&mut c, "sessions", 1, 9).await; // alarm
    assert_eq!(deliver(&app, 0).await.delivered, 1);

    let alerts = am.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a["labels"]["alertname"], "sessions-hit-rate");
    assert_eq!(a["labels"]["target"], "sessions");
    assert_eq!(a["labels"]["severity"], "critical");
    assert_eq!(a["labels"]["source"], "cachewarden");
    assert_eq!(a["status"]["state"], "active", "{a}");
    assert!(
        a["generatorURL"]
            .as_str()
            .unwrap()
            .starts_with("https://cachewarden.example.com/alarms#alarm-"),
        "Alertmanager links back to the alarm: {a}"
    );
    assert!(
        a["annotations"]["summary"]
            .as_str()
            .unwrap()
            .contains("sessions-hit-rate"),
        "{a}"
    );
    // Firing for a day unless resolved: Alertmanager's 5-minute resolve_timeout does not end it.
    let ends = chrono::DateTime::parse_from_rfc3339(a["endsAt"].as_str().unwrap()).unwrap();
    assert!(
        ends > chrono::Utc::now() + chrono::Duration::hours(23),
        "{a}"
    );

    app.redis_interval(&mut c, "sessions", 10, 0).await; // resolved
    assert_eq!(deliver(&app, 0).await.delivered, 1);
    let alerts = am.alerts().await;
    // Resolved alerts leave the active list; the same alert (by labels) now has ended.
    let still_active: Vec<_> = alerts
        .iter()
        .filter(|a| {
            a["status"]["state"] == "active"
                && chrono::DateTime::parse_from_rfc3339(a["endsAt"].as_str().unwrap()).unwrap()
                    > chrono::Utc::now()
        })
        .collect();
    assert!(still_active.is_empty(), "{alerts:?}");
}

/// Bad Alertmanager notifiers are refused with the field named.
#[test]
fn alertmanager_notifiers_are_checked() {
    // (notifier body, the error expected)
    let table = [
        ("url = \"ftp://am\"", "notifiers[0].url"),
        ("", "notifiers[0].url: is required"),
        (
            "url = \"http://am:9093\"\nusername = \"u\"",
            "notifiers[0].password: is required with username",
        ),
        (
            "url = \"http://am:9093\"\nrouting_key = \"x\"",
            "notifiers[0].routing_key",
        ),
    ];
    for (body, want) in table {
        let toml = format!("[[notifiers]]\nname = \"am\"\nkind = \"alertmanager\"\n{body}\n");
        let errors = cachewarden::config::load_from(Some(&toml), Vec::new())
            .expect_err(body)
            .to_string();
        assert!(errors.contains(want), "{body:?}: {errors}");
    }
}
