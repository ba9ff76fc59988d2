//! An HTTP receiver inside the test: records every request (path, headers, body) and answers
//! 503 to the first `fail_first` requests, to play a receiver that is down for a while.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

#[derive(Debug, Clone)]
pub struct Received {
    /// When it arrived, in milliseconds since the epoch.
    pub at_ms: i64,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
    pub raw: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Shared {
    fail_first: usize,
    seen: usize,
    accepted: Vec<Received>,
}

pub struct TestReceiver {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
    handle: actix_web::dev::ServerHandle,
}

async fn record(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Arc<Mutex<Shared>>>,
) -> HttpResponse {
    let mut s = shared.lock().unwrap();
    s.seen += 1;
    if s.seen <= s.fail_first {
        return HttpResponse::ServiceUnavailable().finish();
    }
    s.accepted.push(Received {
        at_ms: chrono::Utc::now().timestamp_millis(),
        path: req.path().to_owned(),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        raw: body.to_vec(),
    });
    HttpResponse::Accepted().json(serde_json::json!({"status": "success"}))
}

impl TestReceiver {
    /// A receiver that refuses the first `fail_first` requests.
    pub async fn start(fail_first: usize) -> TestReceiver {
        let shared = Arc::new(Mutex::new(Shared {
            fail_first,
            ..Shared::default()
        }));
        let data = web::Data::new(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(record))
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .expect("bind the receiver");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        TestReceiver {
            url: format!("http://{addr}"),
            shared,
            handle,
        }
    }

    /// Requests accepted so far.
    pub fn accepted(&self) -> Vec<Received> {
        self.shared.lock().unwrap().accepted.clone()
    }

    /// The `kind` of each message accepted so far (`alarm`, `resolved`, …), in order.
    pub fn kinds(&self) -> Vec<String> {
        self.accepted()
            .iter()
            .map(|m| m.body["kind"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Requests seen, refused ones included.
    pub fn seen(&self) -> usize {
        self.shared.lock().unwrap().seen
    }
}

impl Drop for TestReceiver {
    fn drop(&mut self) {
        let h = self.handle.clone();
        tokio::spawn(async move { h.stop(false).await });
    }
}
