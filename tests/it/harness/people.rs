//! People on the dashboard: users made as the CLI makes them, and signing in, over plain HTTP
//! (cookies handled by hand, redirects not followed, so each answer can be checked) or in
//! the headless browser.

use cachewarden::auth::people::hash_password;
use cachewarden::domain::{Role, TargetName};
use cachewarden::store::{NewUser, Store, now_ms};
use fantoccini::Client;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use secrecy::SecretString;

use super::TestApp;
use super::browser::{click, fill, wait_for};

/// Every person's password in tests (long enough for the rule).
pub const PASSWORD: &str = "correct horse battery staple";

/// A signed-in browser-less session: the cookie to send and the page's CSRF token.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub cookie: String,
    pub csrf: String,
}

/// An answer to a page or a form.
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    /// `NAME=VALUE` of the cookie `name` this answer sets, as a `Cookie` header value.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .and_then(|c| c.split(';').next())
            .map(str::to_owned)
    }
}

/// The value of `name="…" value="…"` or `content="…"` that follows `marker` in `html`.
pub fn value_after(html: &str, marker: &str, attr: &str) -> Option<String> {
    let at = html.find(marker)?;
    let rest = &html[at..];
    let start = rest.find(&format!("{attr}=\""))? + attr.len() + 2;
    let end = rest[start..].find('"')?;
    Some(rest[start..start + end].to_owned())
}

/// Stores a person with [`PASSWORD`].
pub async fn add_person(store: &Store, name: &str, role: Role, targets: &[&str]) {
    store
        .create_user(
            &NewUser {
                name: name.to_owned(),
                role,
                targets: targets
                    .iter()
                    .map(|t| TargetName::parse(t).unwrap())
                    .collect(),
                password_hash: hash_password(&SecretString::from(PASSWORD.to_owned())).unwrap(),
                created_by: "test".into(),
            },
            now_ms(),
        )
        .await
        .expect("create a person");
}

/// Stores a person in the database at `url` (a daemon run as a process).
pub async fn add_person_at(url: &str, name: &str, role: Role) {
    let store = Store::connect(&SecretString::from(url.to_owned()), 2)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    add_person(&store, name, role, &[]).await;
    store.close().await;
}

/// A dashboard client for the daemon at `base` (`http://127.0.0.1:PORT`), connecting from
/// `from` (another loopback address, such as 127.0.0.2, is another client to the daemon).
pub struct Web {
    pub base: String,
    pub from: Option<std::net::IpAddr>,
}

impl TestApp {
    /// Stores a person with [`PASSWORD`].
    pub async fn person(&self, name: &str, role: Role, targets: &[&str]) {
        add_person(&self.store, name, role, targets).await;
    }

    pub fn web(&self) -> Web {
        Web {
            base: self.url(""),
            from: None,
        }
    }

    /// A dashboard client connecting from another loopback address (`127.0.0.N`).
    pub fn web_from(&self, address: &str) -> Web {
        Web {
            base: self.url(""),
            from: Some(address.parse().expect("an IP address")),
        }
    }

    pub async fn page(&self, cookie: Option<&str>, path: &str) -> Answer {
        self.web().page(cookie, path).await
    }

    pub async fn post_form(
        &self,
        cookie: Option<&str>,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Answer {
        self.web().post_form(cookie, path, fields).await
    }

    pub async fn try_sign_in(&self, name: &str, password: &str) -> Answer {
        self.web().try_sign_in(name, password).await
    }

    /// POSTs a form as `s`, with the session's own CSRF token.
    pub async fn submit(&self, s: &WebSession, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all = vec![("_csrf", s.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_form(Some(&s.cookie), path, &all).await
    }

    pub async fn sign_in(&self, name: &str) -> WebSession {
        self.web().sign_in(name).await
    }
}

impl Web {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .local_address(self.from)
            .build()
            .expect("a client")
    }

    async fn answer(res: reqwest::Response) -> Answer {
        let status = res.status();
        let location = res
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let set_cookies = res
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        Answer {
            status,
            location,
            set_cookies,
            headers: res.headers().clone(),
            body: res.text().await.unwrap_or_default(),
        }
    }

    /// GET a page with a session cookie (or none).
    pub async fn page(&self, cookie: Option<&str>, path: &str) -> Answer {
        self.page_with(cookie, path, &[]).await
    }

    /// GET a page with a session cookie (or none) and more headers (a proxy's).
    pub async fn page_with(
        &self,
        cookie: Option<&str>,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self.client().get(self.url(path));
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::answer(req.send().await.expect("GET a page")).await
    }

    /// POST a form with a cookie (or none).
    pub async fn post_form(
        &self,
        cookie: Option<&str>,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Answer {
        let mut req = self.client().post(self.url(path)).form(fields);
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        Self::answer(req.send().await.expect("POST a form")).await
    }

    /// Signs in over HTTP as the sign-in form does: the pre-session cookie and its token
    /// from the form, then the name and password.
    pub async fn try_sign_in(&self, name: &str, password: &str) -> Answer {
        self.try_sign_in_with(name, password, None).await
    }

    /// The same, sending `cookie` (`cw_device=…`, a browser that signed in before) too.
    pub async fn try_sign_in_with(
        &self,
        name: &str,
        password: &str,
        cookie: Option<&str>,
    ) -> Answer {
        let form = self.page(None, "/sign-in").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let pre = form.cookie("cw_pre").expect("a pre-session cookie");
        let csrf = value_after(&form.body, "name=\"_csrf\"", "value").expect("a CSRF field");
        let cookies = match cookie {
            Some(c) => format!("{pre}; {c}"),
            None => pre,
        };
        self.post_form(
            Some(&cookies),
            "/sign-in",
            &[
                ("_csrf", &csrf),
                ("name", name),
                ("password", password),
                ("next", "/"),
            ],
        )
        .await
    }

    /// Signs in (which must work) and reads the CSRF token the pages carry.
    pub async fn sign_in(&self, name: &str) -> WebSession {
        let a = self.try_sign_in(name, PASSWORD).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let cookie = a.cookie("cw_session").expect("a session cookie");
        let page = self.page(Some(&cookie), "/").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let csrf = value_after(&page.body, "name=\"csrf-token\"", "content").expect("a CSRF meta");
        WebSession { cookie, csrf }
    }
}

/// Signs in through the form in the browser.
pub async fn sign_in_browser(c: &Client, app: &TestApp, name: &str) {
    c.goto(&app.url("/sign-in")).await.unwrap();
    fill(c, "input[name=name]", name).await;
    fill(c, "input[name=password]", PASSWORD).await;
    click(c, "#sign-in button[type=submit]").await;
    let who = wait_for(c, "#who").await;
    assert!(who.text().await.unwrap().starts_with(name));
}
