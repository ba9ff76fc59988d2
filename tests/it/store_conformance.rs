//! One suite of store behaviour, run against both backends: SQLite and PostgreSQL.

use cachewarden::domain::DeliveryState;
use cachewarden::domain::{Scope, ScopeSet, TargetName, TokenName};
use cachewarden::store::{
    AuditEntry, AuditQuery, Backend, Evaluated, NewJob, NewNotification, NewSilence, NewToken,
    Outcome, Resolution, Sample, SeriesQuery, Store, StoreError,
};
use secrecy::SecretString;
use serde_json::json;

use crate::harness::postgres::Postgres;

async fn open(url: &str) -> Store {
    let store = Store::connect(&SecretString::from(url.to_owned()), 4)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    // Migrating again is a no-op, as at every restart.
    store.migrate().await.expect("migrate twice");
    store
}

fn new_token(name: &str, hash: &str) -> NewToken {
    NewToken {
        name: TokenName::parse(name).unwrap(),
        token_hash: hash.to_owned(),
        prefix: "cw_12345678".to_owned(),
        scopes: ScopeSet::new([Scope::Read, Scope::Invalidate]),
        targets: vec![TargetName::parse("web").unwrap()],
        created_by: "test".to_owned(),
        expires_at: None,
    }
}

async fn suite(store: Store) {
    store.ping().await.expect("ping");
    tokens(&store).await;
    audit(&store).await;
    samples(&store).await;
    alarms(&store).await;
    crate::store_jobs::outbox_claims(&store).await;
    crate::store_jobs::suite(&store).await;
    stream_checkpoints(&store).await;
    discovered(&store).await;
    users(&store).await;
    sessions(&store).await;
}

/// Discovered targets: a run's set and record written together, updated in place, removed
/// by name; runs read newest first and pruned except each discovery's last.
async fn discovered(store: &Store) {
    use cachewarden::domain::DiscoveryOutcome;
    use cachewarden::store::{KnownTarget, NewDiscoveryRun};
    let known = |name: &str, misses: i64, seen: i64| KnownTarget {
        name: name.into(),
        discovery: "prod".into(),
        kind: "elasticache".into(),
        account_id: "111111111111".into(),
        role_arn: "arn:aws:iam::111111111111:role/cw".into(),
        region: "eu-west-1".into(),
        found: serde_json::json!({ "id": name, "tags": { "env": "prod" } }),
        misses,
        first_seen: 1,
        last_seen: seen,
    };
    let diff = serde_json::json!({ "added": ["a", "b"] });
    let run = |at: i64| NewDiscoveryRun {
        discovery: "prod",
        started_at: at,
        finished_at: at,
        outcome: DiscoveryOutcome::Ok,
        targets: 2,
        diff: &diff,
        upserts: &[],
        removed: &[],
    };
    let first = [known("a", 0, 1), known("b", 0, 1)];
    let r = NewDiscoveryRun {
        upserts: &first,
        ..run(1)
    };
    store.record_discovery(&r).await.unwrap();
    let second = [known("b", 1, 1), known("a", 0, 5)];
    let r = NewDiscoveryRun {
        upserts: &second,
        ..run(5)
    };
    store.record_discovery(&r).await.unwrap();
    let mut want = vec![known("a", 0, 5), known("b", 1, 1)];
    assert_eq!(store.discovered_targets().await.unwrap(), want);
    let gone = ["b".to_owned()];
    let r = NewDiscoveryRun {
        removed: &gone,
        ..run(9)
    };
    store.record_discovery(&r).await.unwrap();
    want.truncate(1);
    assert_eq!(store.discovered_targets().await.unwrap(), want);
    let runs = store.discovery_runs("prod", 10).await.unwrap();
    assert_eq!(
        runs.iter().map(|r| r.finished_at).collect::<Vec<_>>(),
        [9, 5, 1]
    );
    assert_eq!(runs[0].outcome, DiscoveryOutcome::Ok);
    assert_eq!(runs[0].diff, diff);
    store.prune_alert_history(100).await.unwrap();
    let runs = store.discovery_runs("prod", 10).await.unwrap();
    assert_eq!(
        runs.iter().map(|r| r.finished_at).collect::<Vec<_>>(),
        [9],
        "the last run stays"
    );
    assert_eq!(
        store
            .forget_discoveries_except(&["prod".to_owned()])
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.forget_discoveries_except(&[]).await.unwrap(), 1);
    assert!(store.discovered_targets().await.unwrap().is_empty());
}

/// Sessions: found by hash with their person until revoked; failures counted per key within
/// a window; ended sessions and old failures pruned.
async fn sessions(store: &Store) {
    use cachewarden::store::NewSession;
    let carol = store.user_for_sign_in("carol").await.unwrap().unwrap().0;
    let new = |hash: &str, expires_at: i64| NewSession {
        id_hash: hash.into(),
        user_id: carol.id,
        csrf: format!("csrf-{hash}"),
        address: "127.0.0.1".into(),
        expires_at,
    };
    store.create_session(&new("h1", 1_000), 100).await.unwrap();
    store.create_session(&new("h2", 5_000), 100).await.unwrap();
    let s = store.find_session("h1").await.unwrap().unwrap();
    assert_eq!(
        (
            s.user.name.as_str(),
            s.csrf.as_str(),
            s.last_seen_at,
            s.expires_at
        ),
        ("carol", "csrf-h1", 100, 1_000)
    );
    store.touch_session("h1", 150).await.unwrap();
    assert_eq!(
        store
            .find_session("h1")
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        150
    );
    assert!(store.find_session("nope").await.unwrap().is_none());
    assert!(store.revoke_session("h2", 200).await.unwrap());
    assert!(!store.revoke_session("h2", 201).await.unwrap(), "once");
    assert!(store.find_session("h2").await.unwrap().is_none());
    // A new password ends the person's sessions.
    store
        .set_user_password("carol", "$argon2id$third", 300)
        .await
        .unwrap();
    assert!(store.find_session("h1").await.unwrap().is_none());

    store
        .record_sign_in_failure(&["user:carol", "addr:1"], 10, 0, 1000)
        .await
        .unwrap();
    store
        .record_sign_in_failure(&["user:carol"], 20, 0, 1000)
        .await
        .unwrap();
    assert_eq!(
        store.sign_in_failures("user:carol", 0).await.unwrap(),
        (2, Some(10))
    );
    assert_eq!(
        store.sign_in_failures("user:carol", 15).await.unwrap(),
        (1, Some(20))
    );
    assert_eq!(
        store.sign_in_failures("addr:2", 0).await.unwrap(),
        (0, None)
    );
    store.clear_sign_in_failures("user:carol", 0).await.unwrap();
    assert_eq!(store.sign_in_failures("user:carol", 0).await.unwrap().0, 0);
    assert_eq!(store.sign_in_failures("addr:1", 0).await.unwrap().0, 1);

    store.create_session(&new("h3", 10_000), 400).await.unwrap();
    assert_eq!(
        store.prune_sessions(6_000).await.unwrap(),
        2,
        "h1 and h2 ended before"
    );
    assert!(store.find_session("h3").await.unwrap().is_some());
    assert_eq!(store.sign_in_failures("addr:1", 0).await.unwrap().0, 0);

    // Under a sustained attack from ever new addresses the table stays bounded: failures
    // older than the window go as new ones arrive, and at most `cap` rows are kept.
    for i in 0..300_i64 {
        let addr = format!("addr:10.0.{}.{}", i / 256, i % 256);
        let at = 10_000 + i * 10;
        store
            .record_sign_in_failure(&[&addr, "user:root"], at, at - 1_000, 150)
            .await
            .unwrap();
        // The cap, and the rows that share the oldest kept time.
        assert!(
            store.count_sign_in_failures().await.unwrap() <= 152,
            "bounded at {i}"
        );
    }
    assert_eq!(
        store.sign_in_failures("user:root", 0).await.unwrap(),
        (76, Some(12_240)),
        "the newest failures are the ones kept"
    );

    // A browser that signed in is remembered for its person.
    let carol = store.user_for_sign_in("carol").await.unwrap().unwrap().0;
    store.trust_device("d1", carol.id, 1_000).await.unwrap();
    assert_eq!(
        store.trusted_device_user("d1", 500).await.unwrap(),
        Some(carol.id)
    );
    assert_eq!(
        store.trusted_device_user("d1", 1_001).await.unwrap(),
        None,
        "too old"
    );
    assert_eq!(store.trusted_device_user("d2", 0).await.unwrap(), None);
    store.trust_device("d1", carol.id, 2_000).await.unwrap();
    assert_eq!(
        store.prune_trusted_devices(1_500).await.unwrap(),
        0,
        "used again"
    );
    assert_eq!(store.prune_trusted_devices(2_001).await.unwrap(), 1);
}

/// People: unique names, disabling, new passwords; `NotFound` for a name nobody has.
async fn users(store: &Store) {
    use cachewarden::domain::Role;
    use cachewarden::store::NewUser;
    let new = |name: &str| NewUser {
        name: name.into(),
        role: Role::Responder,
        targets: vec![TargetName::parse("web").unwrap()],
        password_hash: "$argon2id$first".into(),
        created_by: "test".into(),
    };
    assert_eq!(store.count_users().await.unwrap(), 0);
    // The setup link's first admin: only while nobody exists.
    let carol = store
        .create_first_user(&new("carol"), 10)
        .await
        .unwrap()
        .expect("nobody existed");
    assert_eq!(
        store.create_first_user(&new("dave"), 10).await.unwrap(),
        None,
        "someone exists now"
    );
    assert_eq!((carol.role, carol.disabled), (Role::Responder, false));
    assert!(matches!(
        store.create_user(&new("carol"), 11).await,
        Err(StoreError::Conflict(_))
    ));
    store
        .create_user(&new("alice@example.com"), 12)
        .await
        .unwrap();
    let names: Vec<String> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["alice@example.com", "carol"]);
    assert!(
        store
            .set_user_disabled("carol", true, 13)
            .await
            .unwrap()
            .disabled
    );
    store
        .set_user_password("carol", "$argon2id$second", 14)
        .await
        .unwrap();
    let (u, hash) = store.user_for_sign_in("carol").await.unwrap().unwrap();
    assert_eq!(
        (u.disabled, hash.as_str(), u.updated_at),
        (true, "$argon2id$second", 14)
    );
    assert!(matches!(
        store.set_user_disabled("nobody", true, 15).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.user_for_sign_in("nobody").await.unwrap().is_none());
}

/// Stream checkpoints: per shard, kept when a later save has no sequence (a shard marked
/// finished keeps where it ended); the first read's time is set once.
async fn stream_checkpoints(store: &Store) {
    use cachewarden::store::Checkpoint;
    assert!(
        store
            .stream_checkpoints("products")
            .await
            .unwrap()
            .is_empty()
    );
    let at = |shard: &str, sequence: Option<&str>, finished: bool| Checkpoint {
        shard_id: shard.into(),
        sequence: sequence.map(Into::into),
        finished,
    };
    store
        .save_checkpoint("products", &at("s1", Some("100"), false), 1)
        .await
        .unwrap();
    store
        .save_checkpoint("products", &at("s1", Some("250"), false), 2)
        .await
        .unwrap();
    store
        .save_checkpoint("products", &at("s1", None, true), 3)
        .await
        .unwrap();
    store
        .save_checkpoint("products", &at("s2", Some("7"), false), 4)
        .await
        .unwrap();
    store
        .save_checkpoint("orders", &at("s1", Some("1"), false), 5)
        .await
        .unwrap();
    assert_eq!(
        store.stream_checkpoints("products").await.unwrap(),
        [at("s1", Some("250"), true), at("s2", Some("7"), false)]
    );
    assert_eq!(
        store.stream_started("products", 1_000).await.unwrap(),
        1_000
    );
    assert_eq!(
        store.stream_started("products", 9_000).await.unwrap(),
        1_000
    );
}

fn note(kind: &str) -> Vec<NewNotification> {
    vec![NewNotification {
        notifier: "ops".into(),
        kind: kind.into(),
        payload: json!({ "target": "web" }),
    }]
}

/// Alarm episodes: notified marks, reminders numbered per transition, held messages,
/// acknowledgements and "until resolved" silences ending with the episode, expected dips.
async fn alarms(store: &Store) {
    let eval = |state: &'static str| Evaluated {
        alarm: "hit-rate",
        target: "web",
        state: state.parse().unwrap(),
        reason: "test",
        evaluation: &serde_json::Value::Null,
    };
    let e = eval("alarm");
    let t = store
        .record_alarm_evaluation(&e, None, |_| note("alarm"), 1_000)
        .await
        .unwrap()
        .expect("a transition");
    let s = store.alarm_state("hit-rate", "web").await.unwrap().unwrap();
    assert_eq!((s.state.as_str(), s.notified_at), ("alarm", Some(1_000)));
    // A reminder: no transition, the next sequence number of the same transition.
    let none = store
        .record_alarm_evaluation(&e, None, |_| note("reminder"), 2_000)
        .await
        .unwrap();
    assert_eq!(none, None);
    let all = store.list_notifications(None, 10).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|n| (n.transition_id, n.seq, n.kind.as_str(), n.state.as_str()))
            .collect::<Vec<_>>(),
        [
            (t.id, 1, "reminder", "pending"),
            (t.id, 0, "alarm", "pending")
        ]
    );
    let s = store
        .ack_alarm(s.id, "bob", "on it", 2_500)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.acked_by.as_deref(), Some("bob"));
    assert_eq!(s.notified_at, Some(2_000));
    let until_resolved = store
        .create_silence(
            &NewSilence {
                alarm_id: Some(s.id),
                comment: "deploy".into(),
                created_by: "bob".into(),
                ..NewSilence::default()
            },
            2_600,
        )
        .await
        .unwrap();
    let timed = store
        .create_silence(
            &NewSilence {
                target: Some("w*".into()),
                until: Some(10_000),
                comment: "maintenance".into(),
                created_by: "bob".into(),
                ..NewSilence::default()
            },
            2_600,
        )
        .await
        .unwrap();
    assert_eq!(store.active_silences(3_000).await.unwrap().len(), 2);
    assert_eq!(
        store.active_silences(10_000).await.unwrap(),
        std::slice::from_ref(&until_resolved)
    );
    // Resolution ends the episode: acknowledgement, notified mark and "until resolved" silence.
    store
        .record_alarm_evaluation(
            &eval("ok"),
            Some("its alarm message was held"),
            |_| note("resolved"),
            4_000,
        )
        .await
        .unwrap()
        .expect("a transition");
    let s = store.alarm_state("hit-rate", "web").await.unwrap().unwrap();
    assert_eq!((s.acked_by, s.notified_at), (None, None));
    let ended = store.silence(until_resolved.id).await.unwrap().unwrap();
    assert_eq!(
        (ended.ended_at, ended.ended_by.as_deref()),
        (Some(4_000), Some("resolved"))
    );
    assert_eq!(
        store.active_silences(4_001).await.unwrap(),
        std::slice::from_ref(&timed)
    );
    let held = &store
        .list_notifications(Some(DeliveryState::Held), 10)
        .await
        .unwrap()[0];
    assert_eq!(
        (held.kind.as_str(), held.held_by.as_deref()),
        ("resolved", Some("its alarm message was held"))
    );
    assert!(
        store
            .due_notifications(i64::MAX, 10)
            .await
            .unwrap()
            .iter()
            .all(|n| n.state == DeliveryState::Pending)
    );
    // Someone ends the timed silence early; it is kept.
    let gone = store
        .end_silence(timed.id, "alice", 5_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gone.ended_by.as_deref(), Some("alice"));
    assert!(store.active_silences(5_001).await.unwrap().is_empty());
    assert_eq!(store.list_silences(10).await.unwrap().len(), 2);
    // An invalidation opens an expected-dip window from its creation until `window` after it
    // completes (still running: open).
    let job = store
        .create_job(
            &NewJob {
                dry_run: false,
                kind: "cloudfront_invalidation",
                target: "web".into(),
                requester: "ci".into(),
                idempotency_key: None,
                request_hash: "h".into(),
                request: json!({ "items": ["/index.html"] }),
                deadline_at: 1_000_000,
                run_after: 6_000,
                parent_id: None,
            },
            6_000,
        )
        .await
        .unwrap();
    assert_eq!(store.expected_dip("web", 5_999, 600).await.unwrap(), None);
    assert_eq!(
        store.expected_dip("web", 9_000_000, 600).await.unwrap(),
        Some((job.0.id, "cloudfront_invalidation".to_owned()))
    );
    assert_eq!(store.expected_dip("api", 9_000, 600).await.unwrap(), None);
    // Retention: the held resolution and both ended silences go; pending notifications, the
    // transition they belong to, and the alarm's latest transition stay.
    assert_eq!(store.prune_alert_history(i64::MAX).await.unwrap(), 3);
    assert!(store.list_silences(10).await.unwrap().is_empty());
    let left = store.list_notifications(None, 10).await.unwrap();
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|n| n.state == DeliveryState::Pending));
    let s = store.alarm_state("hit-rate", "web").await.unwrap().unwrap();
    assert_eq!(store.alarm_history(s.id, 10).await.unwrap().len(), 2);
}

const H: i64 = 3_600_000;

async fn read(store: &Store, series: &str, resolution: Resolution) -> Vec<(i64, f64, i64)> {
    let q = SeriesQuery {
        target: "t".into(),
        node: String::new(),
        series: series.into(),
        from: 0,
        to: i64::MAX,
        resolution,
        detail: true,
    };
    store
        .read_series(&q)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.ts, p.value, p.count.unwrap_or(1)))
        .collect()
}

async fn samples(store: &Store) {
    let base = 1_800_000_000_000 / H * H; // an hour boundary
    // Two ratio samples in one 5-minute bucket: 1 hit of 1 request, then 1 of 9.
    // The mean of the ratios would be 0.556; the ratio of the sums is 2 / 10 = 0.2.
    let mut batch = vec![
        Sample::ratio("t", "", "hit_rate", base, 1.0, 1.0),
        Sample::ratio("t", "", "hit_rate", base + 60_000, 1.0, 9.0),
        Sample::new("t", "", "keys", base, 10.0),
        Sample::new("t", "", "keys", base + 60_000, 30.0),
        // The next 5-minute bucket, same hour: 8 hits of 10.
        Sample::ratio("t", "", "hit_rate", base + 300_000, 8.0, 10.0),
    ];
    // 600 more rows, to cross the statement batch size.
    batch.extend((0..600).map(|i| Sample::new("t", "n1", "bulk", base + i, i as f64)));
    store.upsert_samples(&batch).await.unwrap();
    // A revised value replaces the stored one.
    store
        .upsert_samples(&[Sample::new("t", "", "keys", base + 60_000, 20.0)])
        .await
        .unwrap();
    assert_eq!(
        read(store, "keys", Resolution::Raw).await,
        [(base, 10.0, 1), (base + 60_000, 20.0, 1)]
    );

    store.rollup(base, base + H).await.unwrap();
    let five = read(store, "hit_rate", Resolution::FiveMinutes).await;
    assert_eq!(five.len(), 2);
    assert_eq!((five[0].0, five[0].2), (base, 2));
    assert!(
        (five[0].1 - 0.2).abs() < 1e-12,
        "sum of hits over sum of requests, not a mean of ratios: {five:?}"
    );
    assert!((five[1].1 - 0.8).abs() < 1e-12);
    assert_eq!(
        read(store, "keys", Resolution::FiveMinutes).await,
        [(base, 15.0, 2)],
        "plain series: the mean"
    );
    let hour = read(store, "hit_rate", Resolution::OneHour).await;
    assert_eq!((hour.len(), hour[0].0, hour[0].2), (1, base, 3));
    assert!((hour[0].1 - 10.0 / 20.0).abs() < 1e-12, "{hour:?}");
    // Rolling up again changes nothing (idempotent).
    store.rollup(base, base + H).await.unwrap();
    assert_eq!(read(store, "hit_rate", Resolution::OneHour).await.len(), 1);

    // Retention deletes what is past each resolution's age, and only that.
    let deleted = store
        .apply_retention(base + 60_000, base, base)
        .await
        .unwrap();
    assert_eq!(deleted, [602, 0, 0]);
    assert_eq!(
        read(store, "keys", Resolution::Raw).await,
        [(base + 60_000, 20.0, 1)]
    );
    let deleted = store
        .apply_retention(0, base + 300_000, base + H)
        .await
        .unwrap();
    assert_eq!(deleted, [0, 3, 3]);
    assert_eq!(
        read(store, "hit_rate", Resolution::FiveMinutes).await.len(),
        1
    );
    assert!(
        read(store, "hit_rate", Resolution::OneHour)
            .await
            .is_empty()
    );

    // A long range (read in slices on SQLite) comes back whole and in order.
    let spread: Vec<Sample> = (0..80)
        .map(|i| Sample::new("t", "", "spread", base + i * 6 * H, i as f64))
        .collect();
    store.upsert_samples(&spread).await.unwrap();
    let q = SeriesQuery {
        target: "t".into(),
        node: String::new(),
        series: "spread".into(),
        from: base,
        to: base + 20 * 24 * H,
        resolution: Resolution::Raw,
        detail: false,
    };
    let values: Vec<f64> = store
        .read_series(&q)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.value)
        .collect();
    assert_eq!(values, (0..80).map(|i| i as f64).collect::<Vec<_>>());
    let boundary = SeriesQuery {
        from: base + 6 * H,
        to: base + 12 * H + 1,
        ..q
    };
    assert_eq!(
        store.read_series(&boundary).await.unwrap().len(),
        2,
        "from is inclusive, to exclusive"
    );

    // The newest value of each series, for status pages.
    let latest = store.latest_samples("t", 0).await.unwrap();
    let mut names: Vec<(&str, f64)> = latest
        .iter()
        .map(|s| (s.series.as_str(), s.value))
        .collect();
    names.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(names, [("hit_rate", 0.8), ("keys", 20.0), ("spread", 79.0)]);
    // Every target at once (one query for status pages) agrees with the per-target read.
    store
        .upsert_samples(&[Sample::new("u", "", "keys", base, 5.0)])
        .await
        .unwrap();
    let all = store.latest_samples_all(0).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all["t"].len(), latest.len());
    assert_eq!(all["u"], [Sample::new("u", "", "keys", base, 5.0)]);
}

async fn tokens(store: &Store) {
    let now = 1_800_000_000_000;
    let created = store
        .create_token(&new_token("ci", "h1"), now)
        .await
        .unwrap();
    assert_eq!(created.name.as_str(), "ci");
    assert_eq!(
        created.scopes,
        ScopeSet::new([Scope::Read, Scope::Invalidate])
    );
    assert_eq!(created.targets, vec![TargetName::parse("web").unwrap()]);
    assert_eq!(created.created_at, now);

    let found = store
        .find_active_token("h1", now)
        .await
        .unwrap()
        .expect("found by hash");
    assert_eq!(found.id, created.id);
    assert!(store.find_active_token("h2", now).await.unwrap().is_none());

    // An active name cannot be taken twice.
    match store.create_token(&new_token("ci", "h2"), now).await {
        Err(StoreError::Conflict(m)) => assert!(m.contains("already exists"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }

    store.touch_token(created.id, now + 5).await.unwrap();
    assert_eq!(
        store
            .find_active_token("h1", now)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(now + 5)
    );

    let revoked = store
        .revoke_token(&TokenName::parse("ci").unwrap(), now + 10)
        .await
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(now + 10));
    assert!(
        store
            .find_active_token("h1", now + 20)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store
            .revoke_token(&TokenName::parse("ci").unwrap(), now)
            .await,
        Err(StoreError::NotFound)
    ));
    // After revocation the name is free again.
    store
        .create_token(&new_token("ci", "h3"), now + 30)
        .await
        .unwrap();

    let mut expiring = new_token("short", "h4");
    expiring.expires_at = Some(now + 1_000);
    store.create_token(&expiring, now).await.unwrap();
    assert!(
        store
            .find_active_token("h4", now + 999)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .find_active_token("h4", now + 1_000)
            .await
            .unwrap()
            .is_none()
    );

    let all = store.list_tokens().await.unwrap();
    let names: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["short", "ci", "ci"],
        "newest first, revoked included"
    );
}

async fn audit(store: &Store) {
    for i in 0..5 {
        let entry = AuditEntry {
            actor: if i % 2 == 0 {
                "alice".into()
            } else {
                "ci".into()
            },
            action: format!("action.{i}"),
            target: (i == 3).then(|| "web".to_owned()),
            outcome: if i == 4 { Outcome::Denied } else { Outcome::Ok },
            status: Some(200),
            request_id: Some(format!("req-{i}")),
            detail: json!({"n": i}),
        };
        store
            .record_audit(&entry, 1_800_000_000_000 + i)
            .await
            .unwrap();
    }
    let page = store
        .list_audit(&AuditQuery {
            limit: 2,
            before_id: None,
            actor: None,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["action.4", "action.3"]
    );
    assert_eq!(page[0].outcome.as_str(), "denied");
    assert_eq!(page[1].target.as_deref(), Some("web"));
    assert_eq!(page[1].detail, json!({"n": 3}));
    assert_eq!(page[1].status, Some(200));
    let next = store
        .list_audit(&AuditQuery {
            limit: 10,
            before_id: Some(page[1].id),
            actor: None,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        next.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["action.2", "action.1", "action.0"]
    );
    let alice = store
        .list_audit(&AuditQuery {
            limit: 10,
            before_id: None,
            actor: Some("alice".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        alice.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["action.4", "action.2", "action.0"]
    );
    // Each filter narrows; `action` matches text literally (a `_` or `%` is not a wildcard).
    let actions = |q: AuditQuery| async move {
        store
            .list_audit(&AuditQuery { limit: 10, ..q })
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect::<Vec<_>>()
    };
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        actions(AuditQuery {
            target: some("web"),
            ..Default::default()
        })
        .await,
        ["action.3"]
    );
    assert_eq!(
        actions(AuditQuery {
            outcome: Outcome::parse("denied"),
            ..Default::default()
        })
        .await,
        ["action.4"]
    );
    assert_eq!(
        actions(AuditQuery {
            action: some("on.2"),
            ..Default::default()
        })
        .await,
        ["action.2"]
    );
    assert!(
        actions(AuditQuery {
            action: some("action%"),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert!(
        actions(AuditQuery {
            action: some("action_1"),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert_eq!(
        actions(AuditQuery {
            actor: some("ci"),
            action: some("action."),
            ..Default::default()
        })
        .await,
        ["action.3", "action.1"]
    );
}

#[tokio::test]
async fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&format!("sqlite://{}", dir.path().join("s.db").display())).await;
    assert_eq!(store.backend(), Backend::Sqlite);
    suite(store).await;
}

#[tokio::test]
async fn postgres_store_conforms() {
    let pg = Postgres::start();
    let store = open(&pg.fresh_database_url()).await;
    assert_eq!(store.backend(), Backend::Postgres);
    suite(store).await;
}

#[tokio::test]
async fn the_application_serves_from_postgres() {
    let pg = Postgres::start();
    let app = crate::harness::TestApp::on_database("", &pg.fresh_database_url()).await;
    let admin = app.token("root", &["admin"], &[]).await;
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    assert_eq!(app.get("/api/v1/audit", Some(&admin)).await.status(), 200);
    app.stop().await;
}
