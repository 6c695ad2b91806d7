//! Helpers shared by the core tests.

use plaza_kernel::testing::{TestApp, TestBackend};

/// The core scope over a fresh database, with `vars` as configuration.
pub async fn app_with(backend: TestBackend, vars: &[(&str, &str)]) -> TestApp {
    let mut builder = TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .configure(plaza_core::configure)
        .configure(plaza_core::configure_ops);
    for (key, value) in vars {
        builder = builder.env(key, value);
    }
    builder.build().await
}

/// The core scope over a fresh database.
pub async fn app(backend: TestBackend) -> TestApp {
    app_with(backend, &[]).await
}

/// One part of a multipart form.
pub enum Part<'a> {
    /// A file field.
    File {
        name: &'a str,
        filename: &'a str,
        content_type: &'a str,
        bytes: &'a [u8],
    },
    /// A text field.
    Text { name: &'a str, value: &'a str },
}

/// A `multipart/form-data` body and its content type, written by hand as browsers send it.
pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "----plazaBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match part {
            Part::File {
                name,
                filename,
                content_type,
                bytes,
            } => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
            }
            Part::Text { name, value } => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}")
                        .as_bytes(),
                );
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Every regular file under `dir` (recursively); empty when it does not exist.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}
