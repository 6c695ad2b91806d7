//! Signing in and out, CSRF, and the console's headers.

use plaza_kernel::db_test;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

use crate::support::{app, Browser};

db_test!(async fn staff_sign_in_out_and_the_session_cookie(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let mut browser = Browser::new(&app);

    // Not signed in: to the sign-in page, and back after it.
    let res = browser.get("/admin/users/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/admin/login/?next=%2Fadmin%2Fusers%2F");

    let res = browser.sign_in(&staff).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("plaza_admin_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    // DEBUG is on in tests, so the cookie also works over plain HTTP.
    assert!(!cookie.contains("Secure"), "{cookie}");

    let res = browser.get("/admin/").await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(html.contains("Dashboard") && html.contains("root"));
    assert!(!html.contains("<script"), "no script in the console");
    // The per-day charts are drawn on the server.
    assert!(html.contains("<svg"), "charts drawn");
    assert!(html.contains("Sign-ups per day") && html.contains("Posts per day"));

    // Signing out needs the form's token; then the session is gone.
    let res = browser.post("/admin/logout/", &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let csrf = browser.csrf("/admin/").await;
    let res = browser.post("/admin/logout/", &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/admin/").await.status(), StatusCode::SEE_OTHER);
});

db_test!(async fn non_staff_wrong_passwords_and_forms_without_csrf_are_refused(backend) {
    let app = app(backend).await;
    let user = app.create_user("alice").await;
    let mut browser = Browser::new(&app);

    let res = browser.sign_in(&user).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("not staff"));
    assert_eq!(browser.get("/admin/").await.status(), StatusCode::SEE_OTHER);

    let csrf = browser.csrf("/admin/login/").await;
    let res = browser
        .post(
            "/admin/login/",
            &[("csrf", &csrf), ("username", "alice"), ("password", "wrong password")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // The sign-in form without its token.
    let res = browser
        .post("/admin/login/", &[("username", "alice"), ("password", &user.password)])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("CSRF"));

    // A staff member's form without the session's token.
    let staff = app.create_staff("root").await;
    browser.sign_in_staff(&staff).await;
    let res = browser
        .post(&format!("/admin/users/{}/", user.id), &[("first_name", "Mallory")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = browser
        .post(&format!("/admin/users/{}/", user.id), &[("csrf", "forged"), ("first_name", "Mallory")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
});
