//! A small HTTP/1.1 keep-alive client over `TcpStream` and `httparse`, made for load: one
//! connection per task, request bytes built once per request shape, responses framed by
//! `Content-Length` or chunked encoding, a fresh connection after `Connection: close` or EOF
//! (counted), and bytes counted both ways.

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one request may take, connecting included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Response headers larger than this are refused as malformed.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Where the server is.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://host:port`, without a trailing slash.
    pub base: String,
    /// `Host` header value.
    pub host: String,
    /// The resolved address.
    pub addr: SocketAddr,
}

impl Target {
    /// Parses `http://host:port` and resolves the host.
    pub async fn parse(url: &str) -> anyhow::Result<Self> {
        let parsed = url::Url::parse(url).with_context(|| format!("invalid URL {url:?}"))?;
        if parsed.scheme() != "http" {
            bail!("only http:// URLs are supported, not {url:?}");
        }
        let host = parsed
            .host_str()
            .with_context(|| format!("no host in {url:?}"))?
            .to_owned();
        let port = parsed.port_or_known_default().unwrap_or(80);
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .with_context(|| format!("resolve {host}"))?
            .next()
            .with_context(|| format!("{host} has no address"))?;
        Ok(Self {
            base: format!("http://{host}:{port}"),
            host: format!("{host}:{port}"),
            addr,
        })
    }

    /// `ws://host:port` + `path`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.host)
    }

    /// A GET request's bytes.
    pub fn get(&self, path: &str, token: Option<&str>) -> Request {
        self.request("GET", path, token, None)
    }

    /// A POST request's bytes with a JSON body.
    pub fn post_json(&self, path: &str, token: Option<&str>, body: &str) -> Request {
        self.request("POST", path, token, Some(body))
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Request {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: plaza-bench\r\nAccept: application/json\r\n",
            self.host
        );
        if let Some(token) = token {
            head.push_str("Authorization: Bearer ");
            head.push_str(token);
            head.push_str("\r\n");
        }
        if let Some(body) = body {
            head.push_str("Content-Type: application/json\r\nContent-Length: ");
            head.push_str(&body.len().to_string());
            head.push_str("\r\n\r\n");
            head.push_str(body);
        } else {
            head.push_str("\r\n");
        }
        Request(Arc::from(head.into_bytes()))
    }
}

/// A request's bytes, built once and sent many times.
#[derive(Debug, Clone)]
pub struct Request(Arc<[u8]>);

/// Why a request failed.
#[derive(Debug)]
pub enum HttpError {
    /// The TCP connection could not be opened.
    Connect(std::io::Error),
    /// Reading or writing failed, or the server closed mid-response.
    Io(std::io::Error),
    /// No complete response within [`REQUEST_TIMEOUT`].
    Timeout,
    /// The response was not HTTP/1.1 as expected.
    Parse(String),
}

impl HttpError {
    /// The error's kind as reports count it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Connect(_) => "connect",
            Self::Io(_) => "io",
            Self::Timeout => "timeout",
            Self::Parse(_) => "parse",
        }
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "connect: {e}"),
            Self::Io(e) => write!(f, "io: {e}"),
            Self::Timeout => write!(f, "timeout after {REQUEST_TIMEOUT:?}"),
            Self::Parse(e) => write!(f, "parse: {e}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// Where the last response's body is.
#[derive(Debug)]
enum Body {
    /// A range of the read buffer (`Content-Length` or read to EOF).
    InBuffer(Range<usize>),
    /// Decoded from chunks.
    Decoded,
}

/// How a response's body is framed.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// Outcome of one exchange, before a retry decision.
enum Attempt {
    Done(u16),
    /// A reused connection was closed before any byte of the response: retry on a new one.
    Stale,
}

/// One keep-alive connection.
#[derive(Debug)]
pub struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    consumed: usize,
    decoded: Vec<u8>,
    body: Body,
    /// Bytes written.
    pub bytes_out: u64,
    /// Bytes read.
    pub bytes_in: u64,
    /// Connections opened again after the server closed one (`Connection: close` or EOF).
    pub reconnects: u64,
}

impl Conn {
    /// A connection to `target`, opened on the first request.
    pub fn new(target: &Target) -> Self {
        Self {
            addr: target.addr,
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
            consumed: 0,
            decoded: Vec::new(),
            body: Body::InBuffer(0..0),
            bytes_out: 0,
            bytes_in: 0,
            reconnects: 0,
        }
    }

    /// Sends `req` and reads the response; answers its status. The body stays readable with
    /// [`Conn::body`] until the next request.
    pub async fn send(&mut self, req: &Request) -> Result<u16, HttpError> {
        match tokio::time::timeout(REQUEST_TIMEOUT, self.send_retrying(req)).await {
            Ok(result) => {
                if result.is_err() {
                    self.stream = None;
                }
                result
            }
            Err(_) => {
                self.stream = None;
                Err(HttpError::Timeout)
            }
        }
    }

    /// The last response's body.
    pub fn body(&self) -> &[u8] {
        match &self.body {
            Body::InBuffer(range) => self.buf.get(range.clone()).unwrap_or_default(),
            Body::Decoded => &self.decoded,
        }
    }

    /// The last response's body as UTF-8 (lossy), for error messages.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(self.body()).into_owned()
    }

    async fn send_retrying(&mut self, req: &Request) -> Result<u16, HttpError> {
        let reused = self.stream.is_some();
        match self.exchange(req).await? {
            Attempt::Done(status) => Ok(status),
            Attempt::Stale if reused => {
                self.reconnects += 1;
                match self.exchange(req).await? {
                    Attempt::Done(status) => Ok(status),
                    Attempt::Stale => Err(HttpError::Io(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "connection closed before the response",
                    ))),
                }
            }
            Attempt::Stale => Err(HttpError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed before the response",
            ))),
        }
    }

    async fn exchange(&mut self, req: &Request) -> Result<Attempt, HttpError> {
        // Forget what the previous response left in the buffer.
        if self.consumed >= self.buf.len() {
            self.buf.clear();
        } else {
            self.buf.drain(..self.consumed);
        }
        self.consumed = 0;
        self.body = Body::InBuffer(0..0);

        let mut stream = match self.stream.take() {
            Some(stream) => stream,
            None => {
                let stream = TcpStream::connect(self.addr)
                    .await
                    .map_err(HttpError::Connect)?;
                stream.set_nodelay(true).map_err(HttpError::Connect)?;
                self.buf.clear();
                stream
            }
        };
        if let Err(err) = stream.write_all(&req.0).await {
            return if is_stale(&err) {
                Ok(Attempt::Stale)
            } else {
                Err(HttpError::Io(err))
            };
        }
        self.bytes_out += req.0.len() as u64;

        let (status, head_len, framing, close) = loop {
            match parse_head(&self.buf)? {
                Some(head) => break head,
                None => {
                    if self.buf.len() > MAX_HEADER_BYTES {
                        return Err(HttpError::Parse("response headers too large".into()));
                    }
                    let n = self.read_more(&mut stream).await?;
                    if n == 0 {
                        return if self.buf.is_empty() {
                            Ok(Attempt::Stale)
                        } else {
                            Err(HttpError::Io(std::io::Error::new(
                                std::io::ErrorKind::UnexpectedEof,
                                "connection closed inside the response headers",
                            )))
                        };
                    }
                }
            }
        };

        let mut close = close;
        match framing {
            Framing::Length(len) => {
                let end = head_len + len;
                while self.buf.len() < end {
                    if self.read_more(&mut stream).await? == 0 {
                        return Err(eof_in_body());
                    }
                }
                self.body = Body::InBuffer(head_len..end);
                self.consumed = end;
            }
            Framing::Chunked => {
                self.consumed = self.read_chunked(&mut stream, head_len).await?;
                self.body = Body::Decoded;
            }
            Framing::UntilClose => {
                while self.read_more(&mut stream).await? > 0 {}
                self.body = Body::InBuffer(head_len..self.buf.len());
                self.consumed = self.buf.len();
                close = true;
            }
        }
        if close {
            self.reconnects += 1;
        } else {
            self.stream = Some(stream);
        }
        Ok(Attempt::Done(status))
    }

    async fn read_more(&mut self, stream: &mut TcpStream) -> Result<usize, HttpError> {
        self.buf.reserve(16 * 1024);
        let n = stream
            .read_buf(&mut self.buf)
            .await
            .map_err(HttpError::Io)?;
        self.bytes_in += n as u64;
        Ok(n)
    }

    /// Decodes a chunked body starting at `pos`; answers where the response ends.
    async fn read_chunked(
        &mut self,
        stream: &mut TcpStream,
        mut pos: usize,
    ) -> Result<usize, HttpError> {
        self.decoded.clear();
        loop {
            let parsed = httparse::parse_chunk_size(&self.buf[pos..])
                .map_err(|_| HttpError::Parse("invalid chunk size".into()))?;
            let httparse::Status::Complete((size_len, size)) = parsed else {
                if self.read_more(stream).await? == 0 {
                    return Err(eof_in_body());
                }
                continue;
            };
            let size =
                usize::try_from(size).map_err(|_| HttpError::Parse("chunk too large".into()))?;
            if size == 0 {
                // Trailers (ignored) end with an empty line.
                let start = pos + size_len;
                loop {
                    if let Some(end) = find_empty_line(&self.buf[start..]) {
                        return Ok(start + end);
                    }
                    if self.read_more(stream).await? == 0 {
                        return Err(eof_in_body());
                    }
                }
            }
            let data = pos + size_len;
            let end = data + size + 2;
            while self.buf.len() < end {
                if self.read_more(stream).await? == 0 {
                    return Err(eof_in_body());
                }
            }
            self.decoded.extend_from_slice(&self.buf[data..data + size]);
            pos = end;
        }
    }
}

/// Where the trailer section after the last chunk ends (`\r\n` alone, or after trailers).
fn find_empty_line(bytes: &[u8]) -> Option<usize> {
    if bytes.starts_with(b"\r\n") {
        return Some(2);
    }
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

fn eof_in_body() -> HttpError {
    HttpError::Io(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "connection closed inside the response body",
    ))
}

fn is_stale(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
    )
}

/// Parses a response head: status, its length, the body's framing, and whether the server
/// closes the connection after it. `None` when more bytes are needed.
fn parse_head(buf: &[u8]) -> Result<Option<(u16, usize, Framing, bool)>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; 48];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(err) => return Err(HttpError::Parse(err.to_string())),
    };
    let status = response
        .code
        .ok_or_else(|| HttpError::Parse("no status".into()))?;
    let mut length = None;
    let mut chunked = false;
    let mut close = response.version == Some(0);
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| HttpError::Parse("invalid Content-Length".into()))?;
            length = Some(value);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = contains_token(header.value, b"chunked");
        } else if header.name.eq_ignore_ascii_case("connection") {
            if contains_token(header.value, b"close") {
                close = true;
            } else if contains_token(header.value, b"keep-alive") {
                close = false;
            }
        }
    }
    let framing = if (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::Length(0)
    } else if chunked {
        Framing::Chunked
    } else if let Some(len) = length {
        Framing::Length(len)
    } else {
        Framing::UntilClose
    };
    Ok(Some((status, head_len, framing, close)))
}

fn contains_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|b| *b == b',')
        .any(|part| part.trim_ascii().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn serve_once(responses: Vec<&'static [u8]>) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            for response in responses {
                let _ = sock.read(&mut buf).await.unwrap();
                sock.write_all(response).await.unwrap();
            }
        });
        Target::parse(&format!("http://{addr}")).await.unwrap()
    }

    #[tokio::test]
    async fn reads_length_and_chunked_bodies_on_one_connection() {
        let target = serve_once(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
        ])
        .await;
        let mut conn = Conn::new(&target);
        let req = target.get("/x", None);
        assert_eq!(conn.send(&req).await.unwrap(), 200);
        assert_eq!(conn.body(), b"hello");
        assert_eq!(conn.send(&req).await.unwrap(), 201);
        assert_eq!(conn.body(), b"abcde");
        assert_eq!(conn.send(&req).await.unwrap(), 204);
        assert_eq!(conn.body(), b"");
        assert_eq!(conn.reconnects, 0);
        assert!(conn.bytes_in > 0 && conn.bytes_out > 0);
    }

    #[tokio::test]
    async fn connection_close_reconnects() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for _ in 0..2 {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 4096];
                let _ = sock.read(&mut buf).await.unwrap();
                sock.write_all(
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
                )
                .await
                .unwrap();
            }
        });
        let target = Target::parse(&format!("http://{addr}")).await.unwrap();
        let mut conn = Conn::new(&target);
        let req = target.post_json("/y", Some("t"), "{}");
        assert_eq!(conn.send(&req).await.unwrap(), 200);
        assert_eq!(conn.send(&req).await.unwrap(), 200);
        assert_eq!(conn.body(), b"ok");
        assert_eq!(conn.reconnects, 2);
    }

    #[tokio::test]
    async fn refused_connection_is_a_connect_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let target = Target::parse(&format!("http://{addr}")).await.unwrap();
        let err = Conn::new(&target)
            .send(&target.get("/", None))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "connect");
    }
}
