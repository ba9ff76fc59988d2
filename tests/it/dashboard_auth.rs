//! Signing in to the dashboard: the setup link, sessions, CSRF, roles and throttling, over
//! plain HTTP so every status, cookie and redirect can be checked.

use cachewarden::domain::Role;
use reqwest::StatusCode;

use crate::harness::TestApp;
use crate::harness::people::{PASSWORD, value_after};

const REDIS: &str = "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:1\"\n\
    [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n";

async fn jobs(app: &TestApp) -> Vec<cachewarden::store::JobRecord> {
    app.store
        .list_jobs(&cachewarden::store::JobFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
}

/// The session cookie a sign-in or setup answer sets, as a `Cookie` header value.
fn session_of(a: &crate::harness::people::Answer) -> String {
    a.cookie("cw_session")
        .unwrap_or_else(|| panic!("no session cookie in {:?}", a.set_cookies))
}

#[tokio::test]
async fn the_setup_link_creates_the_first_admin_once() {
    let app = TestApp::sqlite("").await;
    // Zero configuration, nobody yet: every page leads to the setup page.
    let home = app.page(None, "/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location.as_deref(), Some("/sign-in?next=%2F"));
    let sign_in = app.page(None, "/sign-in").await;
    assert_eq!(sign_in.location.as_deref(), Some("/setup"));
    let setup = app.page(None, "/setup").await;
    assert!(setup.body.contains("one-time setup link"), "{}", setup.body);

    let link = app
        .setup_link
        .clone()
        .expect("a setup link while nobody exists");
    let code = link.strip_prefix("/setup?code=").unwrap().to_owned();
    let wrong = app.page(None, "/setup?code=0000").await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let form = app.page(None, &link).await;
    assert_eq!(form.status, StatusCode::OK);
    let pre = form.set_cookies[0].split(';').next().unwrap().to_owned();
    let csrf = value_after(&form.body, "name=\"_csrf\"", "value").unwrap();
    let post = |password: &'static str, confirm: &'static str| {
        let (pre, csrf, code) = (pre.clone(), csrf.clone(), code.clone());
        let app = &app;
        async move {
            app.post_form(
                Some(&pre),
                "/setup",
                &[
                    ("_csrf", &csrf),
                    ("code", &code),
                    ("name", "root@example.com"),
                    ("password", password),
                    ("confirm", confirm),
                ],
            )
            .await
        }
    };
    let short = post("short", "short").await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(
        short.body.contains("at least 12 characters"),
        "{}",
        short.body
    );
    let differ = post(PASSWORD, "something else entirely").await;
    assert!(
        differ.body.contains("the two passwords differ"),
        "{}",
        differ.body
    );
    assert_eq!(
        app.store.count_users().await.unwrap(),
        0,
        "nothing stored yet"
    );

    let made = post(PASSWORD, PASSWORD).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let cookie = session_of(&made);
    let users = app.store.list_users().await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(
        (users[0].name.as_str(), users[0].role),
        ("root@example.com", Role::Admin)
    );
    let home = app.page(Some(&cookie), "/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        home.body.contains("root@example.com · admin"),
        "{}",
        home.body
    );
    // Used: the link no longer opens anything, and signing in is the way in.
    let again = post(PASSWORD, PASSWORD).await;
    assert_eq!(again.status, StatusCode::FORBIDDEN);
    assert_eq!(app.store.count_users().await.unwrap(), 1);
    assert_eq!(
        app.page(None, &link).await.location.as_deref(),
        Some("/sign-in")
    );
    // The setup is in the audit log under the new admin's name.
    let audit = app
        .store
        .list_audit(&cachewarden::store::AuditQuery {
            limit: 10,
            before_id: None,
            actor: None,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        audit.iter().any(|e| e.actor == "root@example.com"
            && e.action == "user.setup"
            && e.outcome.as_str() == "ok"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn a_daemon_with_people_offers_no_setup_link() {
    let app = TestApp::sqlite("").await;
    app.person("alice", Role::Viewer, &[]).await;
    let restarted = TestApp::restart_sqlite("", app.stop_keeping_data().await).await;
    assert_eq!(restarted.setup_link, None);
}

#[tokio::test]
async fn signed_out_requests_reach_only_the_sign_in_page() {
    let app = TestApp::sqlite(REDIS).await;
    app.person("alice", Role::Admin, &[]).await;
    for path in [
        "/",
        "/alarms",
        "/jobs",
        "/jobs/1",
        "/targets/sessions",
        "/invalidate",
        "/purge",
        "/tokens",
        "/audit",
    ] {
        let a = app.page(None, path).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            a.location
                .as_deref()
                .is_some_and(|l| l.starts_with("/sign-in?next=")),
            "{path}: {:?}",
            a.location
        );
        assert!(!a.body.contains("sessions"), "{path} leaks nothing");
    }
    // A made-up cookie is no session either.
    let forged = app.page(Some("cw_session=00ff"), "/").await;
    assert_eq!(forged.status, StatusCode::SEE_OTHER);
    // A form posted without a session is refused before it does anything.
    let post = app
        .post_form(
            None,
            "/invalidate",
            &[("target", "web"), ("items", "/a"), ("key", "k")],
        )
        .await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);
    assert!(jobs(&app).await.is_empty());
}

#[tokio::test]
async fn the_session_cookie_is_httponly_lax_and_secure_behind_https() {
    let plain = TestApp::sqlite("").await;
    plain.person("alice", Role::Viewer, &[]).await;
    let a = plain.try_sign_in("alice", PASSWORD).await;
    let cookie = a
        .set_cookies
        .iter()
        .find(|c| c.starts_with("cw_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");

    let https =
        TestApp::sqlite("[server]\npublic_url = \"https://cachewarden.example.com\"\n").await;
    https.person("alice", Role::Viewer, &[]).await;
    let a = https.try_sign_in("alice", PASSWORD).await;
    let cookie = a
        .set_cookies
        .iter()
        .find(|c| c.starts_with("cw_session="))
        .unwrap();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

#[tokio::test]
async fn sessions_survive_a_restart_and_end_on_sign_out_or_disable() {
    let app = TestApp::sqlite("").await;
    app.person("alice", Role::Viewer, &[]).await;
    app.person("bob", Role::Viewer, &[]).await;
    let alice = app.sign_in("alice").await;
    let bob = app.sign_in("bob").await;
    // The store, not the process, holds sessions: a restart (or another replica) keeps them.
    let app = TestApp::restart_sqlite("", app.stop_keeping_data().await).await;
    assert_eq!(
        app.page(Some(&alice.cookie), "/").await.status,
        StatusCode::OK
    );
    // Signing out ends the session on the server, not just in the browser.
    let out = app.submit(&alice, "/sign-out", &[]).await;
    assert_eq!(out.location.as_deref(), Some("/sign-in"));
    assert!(
        out.set_cookies
            .iter()
            .any(|c| c.starts_with("cw_session=;")),
        "{:?}",
        out.set_cookies
    );
    assert_eq!(
        app.page(Some(&alice.cookie), "/").await.status,
        StatusCode::SEE_OTHER
    );
    // Disabling a person ends their sessions at once.
    assert_eq!(
        app.page(Some(&bob.cookie), "/").await.status,
        StatusCode::OK
    );
    app.store
        .set_user_disabled("bob", true, cachewarden::store::now_ms())
        .await
        .unwrap();
    assert_eq!(
        app.page(Some(&bob.cookie), "/").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.try_sign_in("bob", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn wrong_passwords_are_throttled_per_account_and_say_nothing_about_names() {
    let app = TestApp::sqlite("").await;
    app.person("alice", Role::Viewer, &[]).await;
    let unknown = app.try_sign_in("mallory", "whatever whatever").await;
    let wrong = app.try_sign_in("alice", "not the password at all").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let message = |b: &str| {
        b.split("id=\"sign-in-error\">")
            .nth(1)
            .and_then(|r| r.split('<').next())
            .map(str::to_owned)
    };
    assert_eq!(
        message(&wrong.body).as_deref(),
        Some("the name or the password is wrong")
    );
    assert_eq!(
        message(&unknown.body),
        message(&wrong.body),
        "the same answer for both"
    );
    for _ in 0..4 {
        assert_eq!(
            app.try_sign_in("alice", "not the password at all")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Five failures: even the right password waits now, and the page says for how long.
    let throttled = app.try_sign_in("alice", PASSWORD).await;
    assert_eq!(
        throttled.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        throttled.body
    );
    assert!(
        throttled
            .body
            .contains("too many failed sign-ins; try again in 15 minutes"),
        "{}",
        throttled.body
    );
    assert!(
        throttled
            .set_cookies
            .iter()
            .all(|c| !c.starts_with("cw_session="))
    );
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused_and_change_nothing() {
    let app = TestApp::sqlite(REDIS).await;
    app.person("op", Role::Operator, &[]).await;
    app.person("op2", Role::Operator, &[]).await;
    let op = app.sign_in("op").await;
    let other = app.sign_in("op2").await;
    // One invalidation form of op's, with the CSRF field as each case has it.
    let invalidate = |csrf: Option<&str>| {
        let mut fields = vec![("target", "web"), ("items", "/index.html"), ("key", "k1")];
        fields.extend(csrf.map(|c| ("_csrf", c)));
        let fields: Vec<(String, String)> = fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let (app, cookie) = (&app, op.cookie.clone());
        async move {
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            app.post_form(Some(&cookie), "/invalidate", &fields).await
        }
    };
    for (case, csrf) in [
        ("missing", None),
        ("wrong", Some("0123")),
        ("empty", Some("")),
        ("another session's", Some(other.csrf.as_str())),
    ] {
        let a = invalidate(csrf).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{case}");
        assert!(a.body.contains("CSRF token"), "{case}: {}", a.body);
    }
    assert!(jobs(&app).await.is_empty(), "no job from a refused form");
    // With its own token the same form works (so the refusals above were the token's doing).
    let a = invalidate(Some(&op.csrf)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let jobs = jobs(&app).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].requester, "op", "the job is the person's");
}

#[tokio::test]
async fn each_role_may_do_what_it_maps_to_and_nothing_else() {
    // A firing alarm, a queued job and a token exist, so every refusal below is the role's
    // (not a 404 for something missing).
    let redis = crate::harness::redis::RedisServer::start();
    let app = TestApp::sqlite(&format!(
        "{}[[alarms]]\nname = \"hit-rate\"\ntarget = \"sessions\"\nmetric = \"hit_rate\"\nbelow = 0.8\n",
        REDIS.replace("redis://127.0.0.1:1", &redis.url())
    ))
    .await;
    for (name, role) in [
        ("viewer", Role::Viewer),
        ("responder", Role::Responder),
        ("operator", Role::Operator),
        ("admin", Role::Admin),
    ] {
        app.person(name, role, &[]).await;
    }
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    app.redis_interval(&mut c, "sessions", 1, 9).await;
    let alarm = app.store.list_alarm_states().await.unwrap()[0].id;
    let op = app.sign_in("operator").await;
    let job = app
        .submit(
            &op,
            "/invalidate",
            &[("target", "web"), ("items", "/a"), ("key", "k0")],
        )
        .await
        .location
        .unwrap();
    app.token("deploy", &["invalidate"], &[]).await;

    let viewer = app.sign_in("viewer").await;
    // Pages for actions are forbidden to a viewer, and so is every action (with a valid
    // CSRF token, so the refusal is the role's).
    for path in ["/invalidate", "/purge", "/tokens", "/audit"] {
        let a = app.page(Some(&viewer.cookie), path).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "GET {path}: {}", a.body);
        assert!(
            a.body.contains("user &#34;viewer&#34; lacks the"),
            "GET {path}: {}",
            a.body
        );
    }
    let (ack, silence, cancel) = (
        format!("/alarms/{alarm}/ack"),
        format!("/alarms/{alarm}/silence"),
        format!("{job}/cancel"),
    );
    let actions: [(&str, Vec<(&str, &str)>); 7] = [
        (
            "/invalidate",
            vec![("target", "web"), ("items", "/a"), ("key", "k")],
        ),
        (
            "/purge",
            vec![
                ("target", "sessions"),
                ("keys", "a"),
                ("action", "purge"),
                ("key", "k"),
            ],
        ),
        (&ack, vec![("comment", "x")]),
        (&silence, vec![("end", "1h"), ("comment", "x")]),
        (&cancel, vec![]),
        ("/tokens", vec![("name", "t"), ("scopes", "read")]),
        ("/tokens/deploy/revoke", vec![]),
    ];
    for (path, fields) in actions {
        let a = app.submit(&viewer, path, &fields).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "POST {path}: {}", a.body);
    }
    // Nothing changed: one job (the operator's, still queued), one live token, no ack.
    let stored = jobs(&app).await;
    assert_eq!((stored.len(), stored[0].state.as_str()), (1, "queued"));
    let tokens = app.store.list_tokens().await.unwrap();
    assert_eq!((tokens.len(), tokens[0].revoked_at), (1, None));
    assert_eq!(
        app.store.list_alarm_states().await.unwrap()[0].acked_by,
        None
    );
    assert!(
        app.store
            .active_silences(cachewarden::store::now_ms())
            .await
            .unwrap()
            .is_empty()
    );
    // Each refusal is in the audit log under the viewer's name.
    let audit = app
        .store
        .list_audit(&cachewarden::store::AuditQuery {
            limit: 100,
            before_id: None,
            actor: Some("viewer".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.outcome.as_str() == "denied")
            .count(),
        7,
        "{audit:?}"
    );

    // What each role's pages offer.
    let nav = |body: &str| {
        ["/invalidate\"", "/purge\"", "/tokens\"", "/audit\""]
            .map(|l| body.contains(&format!("href=\"{l}")))
    };
    for (name, expected) in [
        ("viewer", [false, false, false, false]),
        ("responder", [false, false, false, false]),
        ("operator", [true, true, false, false]),
        ("admin", [true, true, true, true]),
    ] {
        let s = app.sign_in(name).await;
        let home = app.page(Some(&s.cookie), "/").await;
        assert_eq!(nav(&home.body), expected, "{name}");
    }
}

#[tokio::test]
async fn a_person_limited_to_targets_sees_and_acts_on_those_only() {
    let app = TestApp::sqlite(REDIS).await;
    app.person("web-team", Role::Operator, &["web"]).await;
    let s = app.sign_in("web-team").await;
    let home = app.page(Some(&s.cookie), "/").await;
    assert!(home.body.contains("href=\"/targets/web\""), "{}", home.body);
    assert!(!home.body.contains("/targets/sessions"), "{}", home.body);
    assert_eq!(
        app.page(Some(&s.cookie), "/targets/sessions").await.status,
        StatusCode::FORBIDDEN
    );
    let purge = app
        .submit(
            &s,
            "/purge",
            &[
                ("target", "sessions"),
                ("keys", "a"),
                ("action", "purge"),
                ("key", "k"),
            ],
        )
        .await;
    assert_eq!(purge.status, StatusCode::FORBIDDEN, "{}", purge.body);
}

const PROXY: &str = "[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n\
    [dashboard]\nauth_proxy_header = \"X-Forwarded-Email\"\nauth_proxy_groups_header = \"X-Forwarded-Groups\"\n\
    trusted_proxies = [\"127.0.0.1\"]\n[dashboard.proxy_roles]\n\"alice@example.com\" = \"admin\"\nsre = \"operator\"\n";

#[tokio::test]
async fn behind_a_trusted_sso_proxy_its_header_signs_people_in_with_their_mapped_role() {
    let app = TestApp::sqlite(PROXY).await;
    let web = app.web();
    let as_person = |name: &'static str, groups: &'static str| {
        let web = &web;
        async move {
            web.page_with(
                None,
                "/",
                &[("X-Forwarded-Email", name), ("X-Forwarded-Groups", groups)],
            )
            .await
        }
    };
    let alice = as_person("Alice@Example.com", "").await;
    assert_eq!(alice.status, StatusCode::OK, "{}", alice.body);
    assert!(
        alice.body.contains("alice@example.com · admin"),
        "{}",
        alice.body
    );
    // A group's role, the highest that applies.
    let bob = as_person("bob@example.com", "dev, sre").await;
    assert!(
        bob.body.contains("bob@example.com · operator"),
        "{}",
        bob.body
    );
    // Nothing maps carol: refused, not made a viewer.
    let carol = as_person("carol@example.com", "dev").await;
    assert_eq!(carol.status, StatusCode::FORBIDDEN);
    assert!(
        carol.body.contains("carol@example.com has no role here"),
        "{}",
        carol.body
    );

    // The proxy's session carries a CSRF token like any other, and actions are the person's.
    let cookie = session_of(&bob);
    let csrf = value_after(&bob.body, "name=\"csrf-token\"", "content").unwrap();
    let headers = [
        ("X-Forwarded-Email", "bob@example.com"),
        ("X-Forwarded-Groups", "sre"),
    ];
    let page = web.page_with(Some(&cookie), "/invalidate", &headers).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.cookie("cw_session").is_none(),
        "the same session goes on"
    );
    let posted = app
        .post_form(
            Some(&cookie),
            "/invalidate",
            &[
                ("_csrf", &csrf),
                ("target", "web"),
                ("items", "/a"),
                ("key", "k"),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    assert_eq!(jobs(&app).await[0].requester, "bob@example.com");
}

#[tokio::test]
async fn the_proxy_header_from_an_untrusted_address_is_ignored() {
    let app = TestApp::sqlite(&PROXY.replace("127.0.0.1", "10.0.0.0/8")).await;
    let a = app
        .web()
        .page_with(None, "/", &[("X-Forwarded-Email", "alice@example.com")])
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert!(a.cookie("cw_session").is_none());
    assert_eq!(
        app.store.count_users().await.unwrap(),
        0,
        "nobody made from a spoofed header"
    );
}

#[tokio::test]
async fn replicas_on_one_postgresql_share_sessions_and_their_end() {
    let pg = crate::harness::postgres::Postgres::start();
    let url = pg.fresh_database_url();
    let a = TestApp::on_database(REDIS, &url).await;
    let b = TestApp::on_database(REDIS, &url).await;
    a.person("alice", Role::Operator, &[]).await;
    // Signed in on one replica, the browser may land on the other.
    let s = a.sign_in("alice").await;
    let page = b.page(Some(&s.cookie), "/jobs").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // A form drawn by one replica is accepted by the other (the CSRF token is the session's).
    let posted = b
        .submit(
            &s,
            "/invalidate",
            &[("target", "web"), ("items", "/a"), ("key", "k")],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    // Signing out on one ends the session on both.
    b.submit(&s, "/sign-out", &[]).await;
    assert_eq!(
        a.page(Some(&s.cookie), "/jobs").await.status,
        StatusCode::SEE_OTHER
    );
    // Failed sign-ins count across replicas too.
    for app in [&a, &b, &a, &b, &a] {
        app.try_sign_in("alice", "not the password at all").await;
    }
    assert_eq!(
        b.try_sign_in("alice", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// A stranger's failures lock out strangers, not the owner: guessing from one address stops
/// after five tries (as before), from five addresses after 25 for the account; the owner's
/// browser, which signed in before, still signs in, from any address.
#[tokio::test]
async fn a_stranger_cannot_lock_the_owner_out_and_guessing_stays_slow() {
    let app = TestApp::sqlite("").await;
    app.person("alice", Role::Admin, &[]).await;
    let first = app.try_sign_in("alice", PASSWORD).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let device = first
        .cookie("cw_device")
        .expect("a device cookie for the browser");
    let set = first
        .set_cookies
        .iter()
        .find(|c| c.starts_with("cw_device="))
        .unwrap();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/sign-in",
        "Max-Age=7776000",
    ] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }

    // One address: five wrong guesses, then even the right password waits.
    let stranger = app.web_from("127.0.0.2");
    for _ in 0..5 {
        let a = stranger.try_sign_in("alice", "guess guess guess").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        stranger.try_sign_in("alice", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "five guesses per account per address"
    );
    // The owner, from their own browser, is not locked out by that.
    let own = app
        .web()
        .try_sign_in_with("alice", PASSWORD, Some(&device))
        .await;
    assert_eq!(own.status, StatusCode::SEE_OTHER, "{}", own.body);

    // Four more addresses: 25 failures for the account from untrusted clients.
    for n in 3..=6 {
        let s = app.web_from(&format!("127.0.0.{n}"));
        for _ in 0..5 {
            assert_eq!(
                s.try_sign_in("alice", "guess guess guess").await.status,
                StatusCode::UNAUTHORIZED
            );
        }
    }
    let new_client = app.web_from("127.0.0.7");
    assert_eq!(
        new_client.try_sign_in("alice", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "guessing from many addresses is bounded for the account"
    );
    // The owner's browser still signs in, here and from another address.
    for from in ["127.0.0.1", "127.0.0.8"] {
        let a = app
            .web_from(from)
            .try_sign_in_with("alice", PASSWORD, Some(&device))
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "from {from}: {}", a.body);
    }
    // A device cookie counts only for the person who signed in with it.
    app.person("bob", Role::Viewer, &[]).await;
    for _ in 0..5 {
        new_client.try_sign_in("bob", "guess guess guess").await;
    }
    assert_eq!(
        app.web_from("127.0.0.7")
            .try_sign_in_with("bob", PASSWORD, Some(&device))
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS,
        "alice's browser is not trusted for bob"
    );
}

/// Two setup forms sent at once with the valid code: one admin is made, the other is told
/// the link is spent.
#[tokio::test]
async fn two_setup_forms_at_once_make_one_admin() {
    let app = TestApp::sqlite("").await;
    let link = app.setup_link.clone().unwrap();
    let code = link.strip_prefix("/setup?code=").unwrap().to_owned();
    let form = app.page(None, &link).await;
    let pre = form.cookie("cw_pre").unwrap();
    let csrf = value_after(&form.body, "name=\"_csrf\"", "value").unwrap();
    let post = |name: &'static str| {
        let (pre, csrf, code, web) = (pre.clone(), csrf.clone(), code.clone(), app.web());
        async move {
            web.post_form(
                Some(&pre),
                "/setup",
                &[
                    ("_csrf", csrf.as_str()),
                    ("code", code.as_str()),
                    ("name", name),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ],
            )
            .await
        }
    };
    let (a, b) = tokio::join!(post("root-a"), post("root-b"));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::SEE_OTHER, StatusCode::FORBIDDEN],
        "{} / {}",
        a.body,
        b.body
    );
    assert_eq!(app.store.count_users().await.unwrap(), 1);
}
