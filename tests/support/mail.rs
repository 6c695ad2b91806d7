//! Reading the mail a `plaza` process wrote with `EMAIL_BACKEND=file`: one `.eml` file per
//! message in `EMAIL_FILE_DIR` (default `$DATA_DIR/mail`), decoded here so tests can look for
//! a verification or reset link.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mailparse::{parse_mail, MailHeaderMap, ParsedMail};

/// One delivered message, decoded.
#[derive(Clone, Debug)]
pub struct Mail {
    /// The `.eml` file.
    pub path: PathBuf,
    /// `From`.
    pub from: String,
    /// `To`.
    pub to: String,
    /// `Subject`, decoded.
    pub subject: String,
    /// The plain-text body, decoded (line breaks as `\n`).
    pub text: String,
    /// The HTML alternative, if any.
    pub html: Option<String>,
}

impl Mail {
    /// Parses one `.eml` file.
    pub fn read(path: &Path) -> Mail {
        let raw = std::fs::read(path).unwrap();
        let parsed = parse_mail(&raw).unwrap();
        let headers = parsed.get_headers();
        let header = |name: &str| headers.get_first_value(name).unwrap_or_default();
        let body = |mimetype: &str| -> Option<String> {
            find_part(&parsed, mimetype).map(|p| p.get_body().unwrap().replace("\r\n", "\n"))
        };
        Mail {
            path: path.to_owned(),
            from: header("From"),
            to: header("To"),
            subject: header("Subject"),
            text: body("text/plain").unwrap_or_default(),
            html: body("text/html"),
        }
    }

    /// The first `http(s)://` link in the text body that contains `needle`.
    pub fn link_containing(&self, needle: &str) -> Option<String> {
        self.text
            .split(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
            .find(|w| (w.starts_with("http://") || w.starts_with("https://")) && w.contains(needle))
            .map(str::to_owned)
    }
}

fn find_part<'a>(mail: &'a ParsedMail<'a>, mimetype: &str) -> Option<&'a ParsedMail<'a>> {
    if mail.subparts.is_empty() {
        return (mail.ctype.mimetype == mimetype).then_some(mail);
    }
    mail.subparts.iter().find_map(|p| find_part(p, mimetype))
}

/// Every message in `dir`, oldest first (file names start with the time of writing).
pub fn read_mails(dir: &Path) -> Vec<Mail> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths.iter().map(|p| Mail::read(p)).collect()
}

/// Waits (up to `timeout`) for a message in `dir` that `matches`, and returns it.
pub async fn wait_for_mail(dir: &Path, timeout: Duration, matches: impl Fn(&Mail) -> bool) -> Mail {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(mail) = read_mails(dir).into_iter().find(|m| matches(m)) {
            return mail;
        }
        assert!(
            Instant::now() < deadline,
            "no matching mail in {} after {timeout:?}; found: {:?}",
            dir.display(),
            read_mails(dir)
                .iter()
                .map(|m| (&m.to, &m.subject))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
