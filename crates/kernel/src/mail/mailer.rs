//! The mail backends of `EMAIL_BACKEND`: `console`, `file` and `smtp`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Email;
use crate::config::{EmailBackend, EmailConfig, SmtpTls};

/// Why a message was not sent (or a mailer not built).
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The configuration cannot work (`EMAIL_FROM`, `SMTP_CA_FILE`, …).
    #[error("mail configuration: {0}")]
    Config(String),
    /// The recipient's address is not an address.
    #[error("invalid recipient address \"{address}\": {reason}")]
    Address {
        /// What was given.
        address: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The message could not be built.
    #[error("could not build the message: {0}")]
    Build(String),
    /// Writing the `.eml` file failed.
    #[error("could not write the message to {path}: {source}")]
    File {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The SMTP server refused or could not be reached.
    #[error("SMTP: {message}")]
    Smtp {
        /// What happened.
        message: String,
        /// A 5xx answer: retrying the same message will not help.
        permanent: bool,
    },
}

impl MailError {
    /// Whether retrying the same message is pointless.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Address { .. } | Self::Build(_) => true,
            Self::Smtp { permanent, .. } => *permanent,
            Self::Config(_) | Self::File { .. } => false,
        }
    }
}

impl From<lettre::transport::smtp::Error> for MailError {
    fn from(err: lettre::transport::smtp::Error) -> Self {
        let mut message = err.to_string();
        if let Some(source) = std::error::Error::source(&err) {
            let source = source.to_string();
            if !message.contains(&source) {
                message = format!("{message}: {source}");
            }
        }
        Self::Smtp {
            permanent: err.is_permanent(),
            message,
        }
    }
}

enum Backend {
    Console,
    File(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Sends mail through the configured backend. Cheap to clone. Workers own one (in
/// [`JobContext`](crate::jobs::JobContext)); request handlers never send mail themselves —
/// they [`queue`](super::queue) it.
#[derive(Clone)]
pub struct Mailer {
    backend: Arc<Backend>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("backend", &self.backend_name())
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl Mailer {
    /// The mailer `EMAIL_*` and `SMTP_*` describe.
    pub fn from_config(config: &EmailConfig) -> Result<Self, MailError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| MailError::Config(format!("EMAIL_FROM \"{}\": {e}", config.from)))?;
        let backend = match config.backend {
            EmailBackend::Console => Backend::Console,
            EmailBackend::File => Backend::File(config.file_dir.clone()),
            EmailBackend::Smtp => Backend::Smtp(smtp_transport(config)?),
        };
        Ok(Self {
            backend: Arc::new(backend),
            from,
        })
    }

    /// `console`, `file` or `smtp`.
    pub fn backend_name(&self) -> &'static str {
        match *self.backend {
            Backend::Console => "console",
            Backend::File(_) => "file",
            Backend::Smtp(_) => "smtp",
        }
    }

    /// The sender (`EMAIL_FROM`).
    pub fn from_address(&self) -> &Mailbox {
        &self.from
    }

    /// `email` as an RFC 5322 message from `EMAIL_FROM`: UTF-8 subject (RFC 2047 encoded when
    /// needed), a `text/plain; charset=utf-8` body, and a `multipart/alternative` HTML part
    /// when there is one.
    pub fn message(&self, email: &Email) -> Result<Message, MailError> {
        let to: Mailbox = email.to.trim().parse().map_err(|e| MailError::Address {
            address: email.to.clone(),
            reason: format!("{e}"),
        })?;
        // A line break in a subject would start a header of its own.
        let subject: String = email
            .subject
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .collect();
        let domain = self.from.email.domain().to_owned();
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!(
                "<{}@{domain}>",
                uuid::Uuid::new_v4().simple()
            )));
        let built = match &email.html {
            None => builder.singlepart(SinglePart::plain(email.text.clone())),
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                html.clone(),
            )),
        };
        built.map_err(|e| MailError::Build(e.to_string()))
    }

    /// Sends `email`.
    pub async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = self.message(email)?;
        match &*self.backend {
            Backend::Console => {
                tracing::info!(
                    backend = "console",
                    to = %email.to,
                    subject = %email.subject,
                    "email\n{}",
                    email.text
                );
                Ok(())
            }
            Backend::File(dir) => {
                let dir = dir.clone();
                let bytes = message.formatted();
                let path = tokio::task::spawn_blocking(move || write_eml(&dir, &bytes))
                    .await
                    .map_err(|e| MailError::Config(format!("the file writer stopped: {e}")))??;
                tracing::info!(backend = "file", to = %email.to, path = %path.display(), "email written");
                Ok(())
            }
            Backend::Smtp(transport) => {
                transport.send(message).await?;
                tracing::info!(backend = "smtp", to = %email.to, "email sent");
                Ok(())
            }
        }
    }
}

/// Writes one message as `<UTC time>-<random>.eml` in `dir` (created if missing). The file
/// appears whole: it is written under a hidden name, then renamed.
fn write_eml(dir: &Path, bytes: &[u8]) -> Result<PathBuf, MailError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| MailError::File { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let name = format!(
        "{}-{}.eml",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let path = dir.join(&name);
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::write(&partial, bytes).map_err(io(&partial))?;
    std::fs::rename(&partial, &path).map_err(io(&path))?;
    Ok(path)
}

fn smtp_transport(config: &EmailConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let host = config
        .smtp_host
        .clone()
        .ok_or_else(|| MailError::Config("SMTP_HOST is required for the smtp backend".into()))?;
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
        .port(config.smtp_port)
        .timeout(Some(config.smtp_timeout));
    if config.smtp_tls != SmtpTls::None {
        let mut tls = TlsParameters::builder(host);
        if let Some(path) = &config.smtp_ca_file {
            for cert in read_certificates(path)? {
                tls = tls.add_root_certificate(cert);
            }
        }
        let tls = tls
            .build()
            .map_err(|e| MailError::Config(format!("SMTP TLS: {e}")))?;
        builder = builder.tls(match config.smtp_tls {
            SmtpTls::Tls => Tls::Wrapper(tls),
            _ => Tls::Required(tls),
        });
    }
    if let Some(user) = &config.smtp_user {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            config.smtp_password.clone().unwrap_or_default(),
        ));
    }
    Ok(builder.build())
}

/// Every certificate in a PEM file.
fn read_certificates(path: &Path) -> Result<Vec<Certificate>, MailError> {
    let pem = std::fs::read_to_string(path)
        .map_err(|e| MailError::Config(format!("SMTP_CA_FILE {}: {e}", path.display())))?;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut certificates = Vec::new();
    let mut rest = pem.as_str();
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else {
            break;
        };
        let block = &rest[start..start + len + END.len()];
        let cert = Certificate::from_pem(block.as_bytes())
            .map_err(|e| MailError::Config(format!("SMTP_CA_FILE {}: {e}", path.display())))?;
        certificates.push(cert);
        rest = &rest[start + len + END.len()..];
    }
    if certificates.is_empty() {
        return Err(MailError::Config(format!(
            "SMTP_CA_FILE {}: no PEM certificate in it",
            path.display()
        )));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailer() -> Mailer {
        let config = crate::config::Config::from_vars(&std::collections::HashMap::from([(
            "EMAIL_FROM".to_owned(),
            "Plaza <noreply@plaza.test>".to_owned(),
        )]))
        .unwrap();
        Mailer::from_config(&config.email).unwrap()
    }

    #[test]
    fn bad_recipients_are_permanent_failures() {
        let err = mailer()
            .message(&Email {
                to: "not an address".into(),
                subject: "s".into(),
                text: "t".into(),
                html: None,
            })
            .unwrap_err();
        assert!(err.is_permanent(), "{err}");
        assert!(err.to_string().contains("not an address"));
    }

    #[test]
    fn line_breaks_cannot_inject_headers() {
        let message = mailer()
            .message(&Email {
                to: "a@example.com".into(),
                subject: "Hi\r\nBcc: victim@example.com".into(),
                text: "t".into(),
                html: None,
            })
            .unwrap();
        let text = String::from_utf8(message.formatted()).unwrap();
        assert!(!text.contains("\r\nBcc:"), "{text}");
        assert!(text.contains("Message-ID: <"), "{text}");
        assert!(text.contains("@plaza.test>"), "{text}");
    }
}
