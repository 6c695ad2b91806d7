//! A small SMTP server for tests: EHLO, STARTTLS or implicit TLS with a self-signed
//! certificate, AUTH PLAIN and LOGIN, MAIL/RCPT/DATA; it keeps what it receives.

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// How the sink secures connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkTls {
    /// Plain text only.
    None,
    /// Offers STARTTLS and requires it before AUTH and MAIL.
    StartTls,
    /// TLS from the first byte.
    Implicit,
}

/// What the sink accepts.
#[derive(Clone, Debug)]
pub struct SinkOptions {
    pub tls: SinkTls,
    /// Required credentials (AUTH is offered only with them).
    pub credentials: Option<(String, String)>,
    /// Mechanisms offered, e.g. `"PLAIN LOGIN"`.
    pub mechanisms: &'static str,
    /// An answer to every RCPT (e.g. `"451 4.3.0 try again later"`).
    pub rcpt_reply: Option<&'static str>,
}

impl Default for SinkOptions {
    fn default() -> Self {
        Self {
            tls: SinkTls::None,
            credentials: None,
            mechanisms: "PLAIN LOGIN",
            rcpt_reply: None,
        }
    }
}

/// One delivered message.
#[derive(Clone, Debug)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: Vec<u8>,
    /// The user that authenticated, if any.
    pub user: Option<String>,
    /// Whether the message came over TLS.
    pub tls: bool,
}

/// A running sink on 127.0.0.1.
pub struct SmtpSink {
    pub port: u16,
    /// The self-signed certificate (PEM), to trust in the client.
    pub cert_pem: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    pub async fn start(options: SinkOptions) -> Self {
        let cert = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .unwrap();
        let cert_pem = cert.cert.pem();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into()),
            )
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, options, store) = (acceptor.clone(), options.clone(), store.clone());
                tokio::spawn(async move {
                    let _ = connection(tcp, acceptor, options, store).await;
                });
            }
        });
        Self {
            port,
            cert_pem,
            received,
            task,
        }
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

enum Next<S> {
    Done,
    StartTls(S),
}

async fn connection(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    options: SinkOptions,
    store: Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<()> {
    let tls = match options.tls {
        SinkTls::Implicit => acceptor.accept(tcp).await?,
        _ => match session(tcp, false, &options, &store).await? {
            Next::Done => return Ok(()),
            Next::StartTls(tcp) => acceptor.accept(tcp).await?,
        },
    };
    let _ = session(tls, true, &options, &store).await?;
    Ok(())
}

/// One SMTP session on `stream`; returns the stream when the client asked for STARTTLS.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    tls: bool,
    options: &SinkOptions,
    store: &Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<Next<S>> {
    let mut stream = BufReader::new(stream);
    // A connection starts with a greeting; the session after STARTTLS does not.
    if !tls || options.tls == SinkTls::Implicit {
        stream.write_all(b"220 sink ESMTP ready\r\n").await?;
    }
    let needs_tls = options.tls == SinkTls::StartTls && !tls;
    let mut user: Option<String> = None;
    let mut mail_from = String::new();
    let mut rcpt_to = Vec::new();
    loop {
        let line = read_line(&mut stream).await?;
        let Some(line) = line else {
            return Ok(Next::Done);
        };
        let upper = line.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            let mut lines = vec!["250-sink greets you".to_owned()];
            if needs_tls {
                lines.push("250-STARTTLS".to_owned());
            }
            if options.credentials.is_some() && !needs_tls {
                lines.push(format!("250-AUTH {}", options.mechanisms));
            }
            lines.push("250 8BITMIME".to_owned());
            lines.join("\r\n")
        } else if upper == "STARTTLS" && needs_tls {
            stream.write_all(b"220 2.0.0 go ahead\r\n").await?;
            stream.flush().await?;
            return Ok(Next::StartTls(stream.into_inner()));
        } else if upper.starts_with("AUTH ") && options.credentials.is_some() && !needs_tls {
            let mut words = line.split_whitespace().skip(1);
            let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
            let initial = words.next().map(str::to_owned);
            let (name, password) = match mechanism.as_str() {
                "PLAIN" => {
                    let encoded = match initial {
                        Some(i) => i,
                        None => {
                            stream.write_all(b"334 \r\n").await?;
                            read_line(&mut stream).await?.unwrap_or_default()
                        }
                    };
                    let decoded = B64.decode(encoded.trim()).unwrap_or_default();
                    let parts: Vec<String> = decoded
                        .split(|b| *b == 0)
                        .map(|p| String::from_utf8_lossy(p).into_owned())
                        .collect();
                    (
                        parts.get(1).cloned().unwrap_or_default(),
                        parts.get(2).cloned().unwrap_or_default(),
                    )
                }
                "LOGIN" => {
                    stream.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
                    let name = read_line(&mut stream).await?.unwrap_or_default();
                    stream.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
                    let password = read_line(&mut stream).await?.unwrap_or_default();
                    let decode = |s: &str| {
                        String::from_utf8_lossy(&B64.decode(s.trim()).unwrap_or_default())
                            .into_owned()
                    };
                    (decode(&name), decode(&password))
                }
                _ => (String::new(), String::new()),
            };
            if options.mechanisms.split(' ').any(|m| m == mechanism)
                && options.credentials.as_ref() == Some(&(name.clone(), password))
            {
                user = Some(name);
                "235 2.7.0 Authentication successful".to_owned()
            } else {
                "535 5.7.8 Authentication credentials invalid".to_owned()
            }
        } else if upper.starts_with("MAIL FROM:") {
            if needs_tls {
                "530 5.7.0 Must issue a STARTTLS command first".to_owned()
            } else if options.credentials.is_some() && user.is_none() {
                "530 5.7.0 Authentication required".to_owned()
            } else {
                mail_from = line[10..].trim().to_owned();
                rcpt_to.clear();
                "250 2.1.0 Ok".to_owned()
            }
        } else if upper.starts_with("RCPT TO:") {
            match options.rcpt_reply {
                Some(reply) => reply.to_owned(),
                None => {
                    rcpt_to.push(line[8..].trim().to_owned());
                    "250 2.1.5 Ok".to_owned()
                }
            }
        } else if upper == "DATA" {
            stream
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = Vec::new();
            loop {
                let Some(line) = read_line(&mut stream).await? else {
                    return Ok(Next::Done);
                };
                if line == "." {
                    break;
                }
                // Dot-stuffing: a leading dot was doubled by the client.
                let line = line
                    .strip_prefix('.')
                    .filter(|_| line.starts_with(".."))
                    .unwrap_or(&line);
                data.extend_from_slice(line.as_bytes());
                data.extend_from_slice(b"\r\n");
            }
            store.lock().unwrap().push(Received {
                mail_from: mail_from.clone(),
                rcpt_to: rcpt_to.clone(),
                data,
                user: user.clone(),
                tls,
            });
            "250 2.0.0 Ok: queued".to_owned()
        } else if upper == "RSET" || upper == "NOOP" {
            "250 2.0.0 Ok".to_owned()
        } else if upper == "QUIT" {
            stream.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(Next::Done);
        } else {
            "502 5.5.2 Command not recognized".to_owned()
        };
        stream.write_all(reply.as_bytes()).await?;
        stream.write_all(b"\r\n").await?;
        stream.flush().await?;
    }
}

async fn read_line<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    if stream.read_until(b'\n', &mut buf).await? == 0 {
        return Ok(None);
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}
