//! A console client: a browser's cookies and forms, by hand.

use plaza_kernel::domain::Domain;
use plaza_kernel::testing::{TestApp, TestBackend, TestUser};
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};

/// The domains the tests mount, as the server lists them.
pub const DOMAINS: &[Domain] = &[
    plaza_core::DOMAIN,
    plaza_authentication::DOMAIN,
    plaza_users::DOMAIN,
    plaza_posts::DOMAIN,
];

/// Those domains and the console over a fresh database.
pub async fn app(backend: TestBackend) -> TestApp {
    let mut builder = TestApp::builder(backend).users(plaza_users::testing::create_test_user);
    for domain in DOMAINS {
        builder = builder.domain(domain);
    }
    builder
        .configure(|cfg| plaza_admin::configure(cfg, DOMAINS))
        .build()
        .await
}

/// A browser signed in (or not) to the console.
pub struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    /// `name=value` of each cookie held.
    pub cookies: Vec<(String, String)>,
}

/// The value of `<input … name="{name}" value="…">` in `html`.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

impl<'a> Browser<'a> {
    /// A browser with no cookies that does not follow redirects.
    pub fn new(app: &'a TestApp) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            app,
            client,
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, res: &Response) {
        for header in res.headers().get_all(SET_COOKIE) {
            let text = header.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    /// GET `path`.
    pub async fn get(&mut self, path: &str) -> Response {
        let res = self
            .client
            .get(self.app.url(path))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&res);
        res
    }

    /// GET `path`, expecting 200; its HTML.
    pub async fn page(&mut self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.text().await.unwrap()
    }

    /// POST `fields` as a form to `path`.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let res = self
            .client
            .post(self.app.url(path))
            .header(COOKIE, self.cookie_header())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).unwrap())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&res);
        res
    }

    /// Runs bulk `action` on `ids` of `model` through its "Are you sure?" page, which must
    /// list each of `titles` and change nothing; the response to the confirmed form.
    pub async fn act(
        &mut self,
        model: &str,
        action: &str,
        ids: &[&str],
        titles: &[&str],
    ) -> Response {
        let path = format!("/admin/{model}/");
        let csrf = self.csrf(&path).await;
        let mut fields = vec![("csrf", csrf.as_str()), ("action", action)];
        fields.extend(ids.iter().map(|id| ("ids", *id)));
        let res = self.post(&path, &fields).await;
        assert_eq!(res.status(), StatusCode::OK, "the confirmation page");
        let html = res.text().await.unwrap();
        assert!(html.contains("Are you sure?"), "{html}");
        for title in titles {
            assert!(html.contains(title), "{title} listed: {html}");
        }
        for id in ids {
            assert!(
                html.contains(&format!("name=\"ids\" value=\"{id}\"")),
                "{html}"
            );
        }
        fields.push(("confirm", "yes"));
        self.post(&path, &fields).await
    }

    /// The CSRF token of the form on `path`.
    pub async fn csrf(&mut self, path: &str) -> String {
        let html = self.page(path).await;
        input_value(&html, "csrf").expect("a CSRF field")
    }

    /// Signs in as `user`; the response to the sign-in form.
    pub async fn sign_in(&mut self, user: &TestUser) -> Response {
        let csrf = self.csrf("/admin/login/").await;
        self.post(
            "/admin/login/",
            &[
                ("csrf", &csrf),
                ("next", "/admin/"),
                ("username", &user.username),
                ("password", &user.password),
            ],
        )
        .await
    }

    /// Signs in as `user`, who must be staff.
    pub async fn sign_in_staff(&mut self, user: &TestUser) {
        let res = self.sign_in(user).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()[LOCATION], "/admin/");
    }
}

/// Every domain the server runs, in its order.
pub const ALL_DOMAINS: &[Domain] = &[
    plaza_core::DOMAIN,
    plaza_authentication::DOMAIN,
    plaza_users::DOMAIN,
    plaza_posts::DOMAIN,
    plaza_streaming::DOMAIN,
    plaza_ai::DOMAIN,
    plaza_social::DOMAIN,
    plaza_metaverse::DOMAIN,
];

/// Every domain and the console over a fresh database.
pub async fn full_app(backend: TestBackend) -> TestApp {
    let mut builder = TestApp::builder(backend).users(plaza_users::testing::create_test_user);
    for domain in ALL_DOMAINS {
        builder = builder.domain(domain);
    }
    builder
        .configure(|cfg| plaza_admin::configure(cfg, ALL_DOMAINS))
        .build()
        .await
}
