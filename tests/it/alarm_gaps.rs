//! A gap in the data is not recovery (issue 14): an alarm whose latest periods are one
//! breaching datapoint and gaps — a real redis-server paused with SIGSTOP, then restarted —
//! keeps its state; it resolves once enough good datapoints rule the alarm out. The webhook
//! gets one alarm message and one resolution, nothing between.

use crate::harness::TestApp;
use crate::harness::receiver::TestReceiver;
use crate::harness::redis::RedisServer;

#[tokio::test]
async fn a_paused_then_restarted_redis_neither_resolves_nor_pages_again() {
    let mut redis = RedisServer::start();
    let hook = TestReceiver::start(0).await;
    let toml = format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{}\"\ntimeout = \"1s\"\n\
         [[notifiers]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{}/hook\"\nsecret = \"s\"\n\
         [[alarms]]\nname = \"hit\"\ntarget = \"sessions\"\nmetric = \"hit_rate\"\nbelow = 0.8\ndatapoints = \"3 of 5\"\nmissing = \"missing\"\nnotify = [\"ops\"]\n",
        redis.url(),
        hook.url
    );
    let app = TestApp::sqlite(&toml).await;
    let deliver = || async {
        app.notifications
            .run_once(cachewarden::store::now_ms())
            .await
            .unwrap()
    };
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    for _ in 0..3 {
        app.redis_interval(&mut c, "sessions", 1, 9).await;
    }
    deliver().await;
    assert_eq!(hook.kinds(), ["alarm"]);

    // Redis freezes: polls fail, periods have no datapoint; the window is one breaching
    // datapoint and gaps.
    app.redis_interval(&mut c, "sessions", 1, 9).await;
    // SAFETY: signalling a child process of the harness by pid.
    unsafe { libc::kill(redis.pid() as i32, libc::SIGSTOP) };
    for _ in 0..4 {
        let polled = app.collector().poll_target_once("sessions").await.unwrap();
        assert!(polled.error.is_some(), "the paused server does not answer");
    }
    deliver().await;
    assert_eq!(hook.kinds(), ["alarm"], "a gap is not a recovery");
    let state = app
        .store
        .alarm_state("hit", "sessions")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.state.as_str(), "alarm", "{}", state.reason);

    // It comes back, restarted (its counters start again); good traffic returns.
    unsafe { libc::kill(redis.pid() as i32, libc::SIGCONT) };
    redis.restart();
    let mut c = redis.connection().await;
    app.redis_interval(&mut c, "sessions", 10, 0).await;
    app.redis_interval(&mut c, "sessions", 10, 0).await;
    deliver().await;
    assert_eq!(
        hook.kinds(),
        ["alarm"],
        "two good datapoints cannot rule out 3 breaching of 5 yet"
    );
    app.redis_interval(&mut c, "sessions", 10, 0).await;
    deliver().await;
    assert_eq!(
        hook.kinds(),
        ["alarm", "resolved"],
        "one resolution, once the evidence is there"
    );
    app.redis_interval(&mut c, "sessions", 10, 0).await;
    deliver().await;
    assert_eq!(hook.kinds(), ["alarm", "resolved"], "nothing after");
}
