//! The forum's WebRTC signalling protocol (API.md §8), message for message: what clients send
//! ([`ClientMessage`], parsed by [`parse`]) and what the server sends ([`ServerMessage`]).
//!
//! Parsing is minimal on purpose: the payloads the server only relays (SDP offers and answers,
//! ICE candidates, base64 video frames) are kept as raw JSON borrowed from the incoming text and
//! written out unchanged, so a relayed frame is scanned once and copied once, whatever its size.

use std::borrow::Cow;

use actix_web::http::StatusCode;
use bytes::Bytes;
use bytestring::ByteString;
use plaza_kernel::ApiError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

/// The reply to `create_stream`, part of the contract.
pub const STREAM_CREATED: &str = "视频流创建成功";
/// The reply to `join_stream`, part of the contract.
pub const STREAM_JOINED: &str = "成功加入视频流";

/// Longest stream title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest stream description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 5000;

/// The machine code of an `error` message, as the protocol spells it (`snake_case`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The text is not JSON.
    InvalidJson,
    /// JSON, but not a message of the protocol (wrong shape, type or value).
    InvalidMessage,
    /// A required field is missing.
    MissingField,
    /// `type` names no message of the protocol.
    UnknownType,
    /// The message is over `STREAM_MAX_MESSAGE_BYTES`.
    MessageTooLarge,
    /// The action needs an authenticated caller.
    NotAuthenticated,
    /// The caller may not do this.
    PermissionDenied,
    /// No stream with this id.
    StreamNotFound,
    /// The stream has ended.
    StreamNotLive,
    /// No peer with this id in the stream.
    PeerNotFound,
    /// The action needs the connection to be in a stream.
    NotInStream,
    /// Too many attempts (creating or joining streams); retry later.
    Throttled,
    /// A dependency (database, bus) is unavailable; retry.
    Unavailable,
    /// Something broke on the server.
    InternalError,
}

impl ErrorCode {
    /// The code of a service error: the one place where the kernel's [`ApiError`] becomes a
    /// protocol error, by its status. The service looks up streams only, so its 404 is
    /// `stream_not_found` and its 409 (a stream that is no longer live) `stream_not_live`.
    pub fn of(err: &ApiError) -> Self {
        match err.status() {
            StatusCode::UNAUTHORIZED => Self::NotAuthenticated,
            StatusCode::FORBIDDEN => Self::PermissionDenied,
            StatusCode::NOT_FOUND => Self::StreamNotFound,
            StatusCode::CONFLICT => Self::StreamNotLive,
            StatusCode::TOO_MANY_REQUESTS => Self::Throttled,
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable,
            _ => Self::InternalError,
        }
    }
}

/// The `error` reply to a message the server refuses: its code and a human message. Parsing
/// refuses with one directly; a service error becomes one through [`ErrorCode::of`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The machine code.
    pub code: ErrorCode,
    /// Human readable.
    pub message: String,
}

impl Refusal {
    /// A refusal with `code`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The `error` message for it.
    pub fn to_message(&self) -> ByteString {
        ServerMessage::Error {
            code: self.code,
            message: &self.message,
        }
        .to_text()
    }
}

impl From<&ApiError> for Refusal {
    /// The service's error as the protocol's: its code mapped by [`ErrorCode::of`], its detail
    /// (always safe to show) as the message. A server-side error ends here rather than in the
    /// HTTP middleware, so its cause is logged here, once.
    fn from(err: &ApiError) -> Self {
        if err.status().is_server_error() {
            tracing::warn!(error = %err, "a signalling request failed");
        }
        Self::new(ErrorCode::of(err), err.detail().to_owned())
    }
}

impl From<ApiError> for Refusal {
    fn from(err: ApiError) -> Self {
        Self::from(&err)
    }
}

/// Where a signalling message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Every other peer in the stream.
    Everyone,
    /// One peer.
    Peer(Uuid),
}

/// An SDP offer or answer, or an ICE candidate, relayed as is.
#[derive(Debug)]
pub struct Signal<'a> {
    /// The JSON object to relay.
    pub payload: &'a RawValue,
    /// Its recipients.
    pub target: Target,
}

/// How a video frame may be dropped for a slow viewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// A key frame (`keyframe`): dropped only when no delta frame can make room.
    Key,
    /// A delta frame (`deltaframe`): dropped first.
    Delta,
}

impl FrameKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Key => "keyframe",
            Self::Delta => "deltaframe",
        }
    }
}

/// A `video_frame`.
#[derive(Debug)]
pub struct VideoFrame<'a> {
    /// The base64 frame, as a raw JSON string.
    pub frame_data: &'a RawValue,
    /// Key or delta.
    pub kind: FrameKind,
    /// The client's timestamp (a raw JSON number), if sent.
    pub timestamp: Option<&'a RawValue>,
}

impl VideoFrame<'_> {
    /// The frame's size: the length of its base64 text.
    pub fn size(&self) -> usize {
        self.frame_data.get().len().saturating_sub(2)
    }
}

/// `create_stream`.
#[derive(Debug, PartialEq, Eq)]
pub struct CreateStream {
    /// 1–200 characters, trimmed.
    pub title: String,
    /// Up to 5000 characters.
    pub description: String,
    /// Listed, and open to anonymous viewers when they are allowed (default true).
    pub is_public: bool,
}

/// Everything a client may send.
#[derive(Debug)]
pub enum ClientMessage<'a> {
    /// Start a stream; the sender becomes its creator.
    CreateStream(CreateStream),
    /// Join a stream.
    JoinStream {
        /// The stream (not yet checked to be a UUID).
        stream_id: Cow<'a, str>,
    },
    /// An SDP offer.
    Offer(Signal<'a>),
    /// An SDP answer.
    Answer(Signal<'a>),
    /// An ICE candidate.
    IceCandidate(Signal<'a>),
    /// A video frame for every other peer.
    VideoFrame(VideoFrame<'a>),
    /// Leave the current stream.
    LeaveStream,
    /// Leave and close the connection.
    Disconnect,
    /// Answered with `pong`.
    Ping,
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct CreateStreamIn {
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    is_public: Option<bool>,
}

#[derive(Deserialize)]
struct JoinStreamIn<'a> {
    #[serde(borrow)]
    stream_id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct OfferIn<'a> {
    #[serde(borrow)]
    offer: &'a RawValue,
    #[serde(default, borrow)]
    target_peer: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct AnswerIn<'a> {
    #[serde(borrow)]
    answer: &'a RawValue,
    #[serde(default, borrow)]
    target_peer: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct IceCandidateIn<'a> {
    #[serde(borrow)]
    candidate: &'a RawValue,
    #[serde(default, borrow)]
    target_peer: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct VideoFrameIn<'a> {
    #[serde(borrow)]
    frame_data: &'a RawValue,
    #[serde(borrow)]
    frame_type: Cow<'a, str>,
    #[serde(default, borrow)]
    timestamp: Option<&'a RawValue>,
}

/// Parses one text message.
pub fn parse(text: &str) -> Result<ClientMessage<'_>, Refusal> {
    let head: Head<'_> = serde_json::from_str(text).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            Refusal::new(ErrorCode::InvalidJson, "Malformed JSON.")
        } else {
            Refusal::new(
                ErrorCode::InvalidMessage,
                "A message must be a JSON object with a \"type\".",
            )
        }
    })?;
    let kind = head
        .kind
        .ok_or_else(|| Refusal::new(ErrorCode::MissingField, "Field \"type\" is required."))?;
    Ok(match kind.as_ref() {
        "create_stream" => {
            let body: CreateStreamIn = fields(text)?;
            ClientMessage::CreateStream(create_stream(body)?)
        }
        "join_stream" => {
            let body: JoinStreamIn<'_> = fields(text)?;
            ClientMessage::JoinStream {
                stream_id: body.stream_id,
            }
        }
        "offer" => {
            let body: OfferIn<'_> = fields(text)?;
            ClientMessage::Offer(signal(
                "offer",
                body.offer,
                body.target_peer.as_deref(),
                false,
            )?)
        }
        "answer" => {
            let body: AnswerIn<'_> = fields(text)?;
            ClientMessage::Answer(signal(
                "answer",
                body.answer,
                body.target_peer.as_deref(),
                true,
            )?)
        }
        "ice_candidate" => {
            let body: IceCandidateIn<'_> = fields(text)?;
            ClientMessage::IceCandidate(signal(
                "candidate",
                body.candidate,
                body.target_peer.as_deref(),
                true,
            )?)
        }
        "video_frame" => {
            let body: VideoFrameIn<'_> = fields(text)?;
            ClientMessage::VideoFrame(video_frame(&body)?)
        }
        "leave_stream" => ClientMessage::LeaveStream,
        "disconnect" => ClientMessage::Disconnect,
        "ping" => ClientMessage::Ping,
        other => {
            let shown: String = other.chars().take(64).collect();
            return Err(Refusal::new(
                ErrorCode::UnknownType,
                format!("Unknown message type \"{shown}\"."),
            ));
        }
    })
}

/// Deserialises a message's fields, naming the field at fault.
fn fields<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, Refusal> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = inner.to_string();
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            return Refusal::new(
                ErrorCode::MissingField,
                format!("Field \"{field}\" is required."),
            );
        }
        let reason = message.split(" at line ").next().unwrap_or(&message);
        if path.is_empty() || path == "." {
            Refusal::new(
                ErrorCode::InvalidMessage,
                format!("Invalid message: {reason}."),
            )
        } else {
            Refusal::new(
                ErrorCode::InvalidMessage,
                format!("Invalid field \"{path}\": {reason}."),
            )
        }
    })
}

fn create_stream(body: CreateStreamIn) -> Result<CreateStream, Refusal> {
    let title = body.title.trim().to_owned();
    if title.is_empty() {
        return Err(Refusal::new(
            ErrorCode::InvalidMessage,
            "Field \"title\" may not be blank.",
        ));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(Refusal::new(
            ErrorCode::InvalidMessage,
            format!("Field \"title\" may not exceed {MAX_TITLE_CHARS} characters."),
        ));
    }
    let description = body.description.unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Refusal::new(
            ErrorCode::InvalidMessage,
            format!("Field \"description\" may not exceed {MAX_DESCRIPTION_CHARS} characters."),
        ));
    }
    Ok(CreateStream {
        title,
        description,
        is_public: body.is_public.unwrap_or(true),
    })
}

fn signal<'a>(
    field: &str,
    payload: &'a RawValue,
    target: Option<&str>,
    target_required: bool,
) -> Result<Signal<'a>, Refusal> {
    if !payload.get().starts_with('{') {
        return Err(Refusal::new(
            ErrorCode::InvalidMessage,
            format!("Field \"{field}\" must be an object."),
        ));
    }
    let target =
        match target {
            None if target_required => {
                return Err(Refusal::new(
                    ErrorCode::MissingField,
                    "Field \"target_peer\" is required (a peer id or \"broadcast\").",
                ))
            }
            None | Some("broadcast") => Target::Everyone,
            Some(peer) => Target::Peer(Uuid::parse_str(peer).map_err(|_| {
                Refusal::new(ErrorCode::PeerNotFound, "No such peer in this stream.")
            })?),
        };
    Ok(Signal { payload, target })
}

fn video_frame<'a>(body: &VideoFrameIn<'a>) -> Result<VideoFrame<'a>, Refusal> {
    if !body.frame_data.get().starts_with('"') {
        return Err(Refusal::new(
            ErrorCode::InvalidMessage,
            "Field \"frame_data\" must be a base64 string.",
        ));
    }
    let kind = match body.frame_type.as_ref() {
        "keyframe" => FrameKind::Key,
        "deltaframe" => FrameKind::Delta,
        _ => {
            return Err(Refusal::new(
                ErrorCode::InvalidMessage,
                "Field \"frame_type\" must be \"keyframe\" or \"deltaframe\".",
            ))
        }
    };
    let timestamp = body.timestamp.filter(|t| t.get() != "null");
    if let Some(t) = timestamp {
        if serde_json::from_str::<f64>(t.get()).is_err() {
            return Err(Refusal::new(
                ErrorCode::InvalidMessage,
                "Field \"timestamp\" must be a number.",
            ));
        }
    }
    Ok(VideoFrame {
        frame_data: body.frame_data,
        kind,
        timestamp,
    })
}

/// A user as peers see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PeerUser {
    /// Id.
    pub id: i64,
    /// Username.
    pub username: String,
}

/// A peer in `stream_joined.peers`, and a room member's description.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// The peer.
    pub peer_id: Uuid,
    /// Its user; null for an anonymous viewer.
    pub user: Option<PeerUser>,
}

/// Everything the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage<'a> {
    /// First message of every connection.
    ConnectionEstablished {
        /// This connection.
        session_id: Uuid,
        /// This connection's peer id in any stream.
        peer_id: Uuid,
    },
    /// Reply to `create_stream`.
    StreamCreated {
        /// The new stream.
        stream_id: &'a str,
        /// Its title.
        title: &'a str,
        /// [`STREAM_CREATED`].
        message: &'static str,
    },
    /// Reply to `join_stream`.
    StreamJoined {
        /// The stream.
        stream_id: &'a str,
        /// Its title.
        title: &'a str,
        /// [`STREAM_JOINED`].
        message: &'static str,
        /// The other peers in the stream.
        peers: &'a [PeerInfo],
    },
    /// Someone joined the stream.
    PeerJoined {
        /// The newcomer.
        peer_id: Uuid,
        /// Its user; null for an anonymous viewer.
        user: Option<&'a PeerUser>,
    },
    /// Someone left the stream.
    PeerLeft {
        /// Who.
        peer_id: Uuid,
    },
    /// A relayed offer.
    Offer {
        /// As the sender wrote it.
        offer: &'a RawValue,
        /// The sender.
        peer_id: Uuid,
    },
    /// A relayed answer.
    Answer {
        /// As the sender wrote it.
        answer: &'a RawValue,
        /// The sender.
        peer_id: Uuid,
    },
    /// A relayed ICE candidate.
    IceCandidate {
        /// As the sender wrote it.
        candidate: &'a RawValue,
        /// The sender.
        peer_id: Uuid,
    },
    /// A relayed video frame.
    VideoFrame {
        /// Base64, as the sender wrote it.
        frame_data: &'a RawValue,
        /// `keyframe` or `deltaframe`.
        frame_type: &'static str,
        /// The sender's timestamp, if it sent one.
        #[serde(skip_serializing_if = "Option::is_none")]
        timestamp: Option<&'a RawValue>,
        /// The sender.
        peer_id: Uuid,
    },
    /// The stream is over (its creator left, or it was ended through the API).
    StreamEnded {
        /// The stream.
        stream_id: &'a str,
    },
    /// Reply to `ping`.
    Pong,
    /// A refused message; the connection stays usable.
    Error {
        /// What went wrong, for machines.
        code: ErrorCode,
        /// Human readable.
        message: &'a str,
    },
}

impl ServerMessage<'_> {
    /// The message as a text frame, serialised once whatever the number of recipients.
    pub fn to_text(&self) -> ByteString {
        let hint = match self {
            Self::VideoFrame { frame_data, .. } => frame_data.get().len() + 160,
            Self::Offer { offer: raw, .. }
            | Self::Answer { answer: raw, .. }
            | Self::IceCandidate { candidate: raw, .. } => raw.get().len() + 96,
            _ => 160,
        };
        to_text(self, hint)
    }
}

/// A relayed `video_frame` for `sender`.
pub fn video_frame_message(frame: &VideoFrame<'_>, sender: Uuid) -> ByteString {
    ServerMessage::VideoFrame {
        frame_data: frame.frame_data,
        frame_type: frame.kind.as_str(),
        timestamp: frame.timestamp,
        peer_id: sender,
    }
    .to_text()
}

fn to_text<T: Serialize>(value: &T, hint: usize) -> ByteString {
    let mut buf = Vec::with_capacity(hint);
    match serde_json::to_writer(&mut buf, value) {
        // serde_json writes UTF-8; the check costs one pass over the bytes.
        Ok(()) => ByteString::try_from(Bytes::from(buf)).unwrap_or_else(|_| internal_error()),
        Err(err) => {
            tracing::error!(error = %err, "serialising a server message failed");
            internal_error()
        }
    }
}

fn internal_error() -> ByteString {
    ByteString::from_static(
        r#"{"type":"error","code":"internal_error","message":"Internal server error."}"#,
    )
}

/// Parses a peer description carried by the room (see [`PeerInfo`]).
pub fn decode_info<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    serde_json::from_slice(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> Refusal {
        match parse(text) {
            Ok(message) => panic!("{text} parsed as {message:?}"),
            Err(refusal) => refusal,
        }
    }

    #[test]
    fn parses_every_client_message() {
        assert!(matches!(
            parse(r#"{"type":"create_stream","title":" Hi ","description":"d"}"#).unwrap(),
            ClientMessage::CreateStream(CreateStream { ref title, is_public: true, .. }) if title == "Hi"
        ));
        assert!(matches!(
            parse(r#"{"type":"join_stream","stream_id":"abc"}"#).unwrap(),
            ClientMessage::JoinStream { stream_id } if stream_id == "abc"
        ));
        match parse(r#"{"type":"offer","offer":{"type":"offer","sdp":"v=0"}}"#).unwrap() {
            ClientMessage::Offer(signal) => {
                assert_eq!(signal.target, Target::Everyone);
                assert_eq!(signal.payload.get(), r#"{"type":"offer","sdp":"v=0"}"#);
            }
            other => panic!("{other:?}"),
        }
        let peer = Uuid::new_v4();
        match parse(&format!(
            r#"{{"type":"answer","answer":{{"sdp":"x"}},"target_peer":"{peer}"}}"#
        ))
        .unwrap()
        {
            ClientMessage::Answer(signal) => assert_eq!(signal.target, Target::Peer(peer)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(r#"{"type":"ice_candidate","candidate":{"candidate":"c"},"target_peer":"broadcast"}"#).unwrap(),
            ClientMessage::IceCandidate(Signal { target: Target::Everyone, .. })
        ));
        match parse(r#"{"type":"video_frame","frame_data":"QUJD","frame_type":"keyframe","timestamp":1700000000000}"#).unwrap() {
            ClientMessage::VideoFrame(frame) => {
                assert_eq!(frame.kind, FrameKind::Key);
                assert_eq!(frame.size(), 4);
            }
            other => panic!("{other:?}"),
        }
        for (text, expected) in [
            (r#"{"type":"leave_stream"}"#, "LeaveStream"),
            (r#"{"type":"disconnect"}"#, "Disconnect"),
            (r#"{"type":"ping"}"#, "Ping"),
        ] {
            assert_eq!(format!("{:?}", parse(text).unwrap()), expected);
        }
    }

    #[test]
    fn refuses_with_the_right_code() {
        assert_eq!(refusal("{not json").code, ErrorCode::InvalidJson);
        assert_eq!(refusal("").code, ErrorCode::InvalidJson);
        assert_eq!(refusal("[1,2]").code, ErrorCode::InvalidMessage);
        assert_eq!(refusal(r#"{"title":"x"}"#).code, ErrorCode::MissingField);
        assert_eq!(refusal(r#"{"type":7}"#).code, ErrorCode::InvalidMessage);
        assert_eq!(refusal(r#"{"type":"dance"}"#).code, ErrorCode::UnknownType);
        let missing = refusal(r#"{"type":"join_stream"}"#);
        assert_eq!(missing.code, ErrorCode::MissingField);
        assert!(missing.message.contains("stream_id"), "{missing:?}");
        let wrong = refusal(r#"{"type":"join_stream","stream_id":5}"#);
        assert_eq!(wrong.code, ErrorCode::InvalidMessage);
        assert!(wrong.message.contains("stream_id"), "{wrong:?}");
        assert_eq!(
            refusal(r#"{"type":"create_stream","title":"  "}"#).code,
            ErrorCode::InvalidMessage
        );
        assert_eq!(
            refusal(&format!(
                r#"{{"type":"create_stream","title":"{}"}}"#,
                "x".repeat(201)
            ))
            .code,
            ErrorCode::InvalidMessage
        );
        assert_eq!(
            refusal(r#"{"type":"answer","answer":{"sdp":"x"}}"#).code,
            ErrorCode::MissingField
        );
        assert_eq!(
            refusal(r#"{"type":"offer","offer":"sdp"}"#).code,
            ErrorCode::InvalidMessage
        );
        assert_eq!(
            refusal(r#"{"type":"offer","offer":{},"target_peer":"nobody"}"#).code,
            ErrorCode::PeerNotFound
        );
        assert_eq!(
            refusal(r#"{"type":"video_frame","frame_data":"QQ==","frame_type":"bframe"}"#).code,
            ErrorCode::InvalidMessage
        );
        assert_eq!(
            refusal(r#"{"type":"video_frame","frame_data":12,"frame_type":"keyframe"}"#).code,
            ErrorCode::InvalidMessage
        );
        assert_eq!(
            refusal(r#"{"type":"video_frame","frame_type":"keyframe"}"#).code,
            ErrorCode::MissingField
        );
        assert_eq!(
            refusal(r#"{"type":"video_frame","frame_data":"QQ==","frame_type":"keyframe","timestamp":"soon"}"#).code,
            ErrorCode::InvalidMessage
        );
    }

    #[test]
    fn relayed_messages_carry_the_sender_and_the_payload_verbatim() {
        let sender = Uuid::new_v4();
        let text = r#"{"type":"video_frame","frame_data":"QUJD\/","frame_type":"deltaframe","timestamp":17,"peer_id":"forged"}"#;
        let ClientMessage::VideoFrame(frame) = parse(text).unwrap() else {
            panic!("not a frame")
        };
        let out: serde_json::Value =
            serde_json::from_str(&video_frame_message(&frame, sender)).unwrap();
        assert_eq!(
            out,
            serde_json::json!({
                "type": "video_frame",
                "frame_data": "QUJD/",
                "frame_type": "deltaframe",
                "timestamp": 17,
                "peer_id": sender.to_string(),
            })
        );

        let ClientMessage::IceCandidate(signal) =
            parse(r#"{"type":"ice_candidate","candidate":{"candidate":"a","sdpMLineIndex":0},"target_peer":"broadcast"}"#).unwrap()
        else {
            panic!("not a candidate")
        };
        let out = ServerMessage::IceCandidate {
            candidate: signal.payload,
            peer_id: sender,
        }
        .to_text();
        assert_eq!(
            &*out,
            format!(
                r#"{{"type":"ice_candidate","candidate":{{"candidate":"a","sdpMLineIndex":0}},"peer_id":"{sender}"}}"#
            )
        );
    }

    #[test]
    fn codes_are_spelled_as_the_contract_says() {
        let spelled = |code: ErrorCode| serde_json::to_value(code).unwrap();
        for (code, text) in [
            (ErrorCode::InvalidJson, "invalid_json"),
            (ErrorCode::InvalidMessage, "invalid_message"),
            (ErrorCode::MissingField, "missing_field"),
            (ErrorCode::UnknownType, "unknown_type"),
            (ErrorCode::MessageTooLarge, "message_too_large"),
            (ErrorCode::NotAuthenticated, "not_authenticated"),
            (ErrorCode::PermissionDenied, "permission_denied"),
            (ErrorCode::StreamNotFound, "stream_not_found"),
            (ErrorCode::StreamNotLive, "stream_not_live"),
            (ErrorCode::PeerNotFound, "peer_not_found"),
            (ErrorCode::NotInStream, "not_in_stream"),
            (ErrorCode::Throttled, "throttled"),
            (ErrorCode::Unavailable, "unavailable"),
            (ErrorCode::InternalError, "internal_error"),
        ] {
            assert_eq!(spelled(code), text);
        }
    }

    #[test]
    fn service_errors_map_to_protocol_codes_with_their_detail() {
        let cases = [
            (
                ApiError::not_found("No such stream."),
                ErrorCode::StreamNotFound,
            ),
            (
                ApiError::conflict("This stream has ended."),
                ErrorCode::StreamNotLive,
            ),
            (ApiError::not_authenticated(), ErrorCode::NotAuthenticated),
            (ApiError::forbidden(), ErrorCode::PermissionDenied),
            (
                ApiError::unavailable("Retry.", "bus down"),
                ErrorCode::Unavailable,
            ),
            (ApiError::throttled(30), ErrorCode::Throttled),
            (ApiError::internal("boom"), ErrorCode::InternalError),
            (ApiError::bad_request("odd"), ErrorCode::InternalError),
        ];
        for (err, code) in cases {
            let refusal = Refusal::from(&err);
            assert_eq!(refusal.code, code, "{err:?}");
            assert_eq!(refusal.message, err.detail());
        }
    }

    #[test]
    fn replies_match_the_contract() {
        let text = ServerMessage::StreamCreated {
            stream_id: "s",
            title: "t",
            message: STREAM_CREATED,
        }
        .to_text();
        assert_eq!(
            &*text,
            r#"{"type":"stream_created","stream_id":"s","title":"t","message":"视频流创建成功"}"#
        );
        assert_eq!(&*ServerMessage::Pong.to_text(), r#"{"type":"pong"}"#);
        assert_eq!(
            &*Refusal::new(ErrorCode::NotInStream, "Join a stream first.").to_message(),
            r#"{"type":"error","code":"not_in_stream","message":"Join a stream first."}"#
        );
    }
}

/// Messages come from the client: any text is a message or a refusal with a protocol code,
/// never a panic — arbitrary text, and JSON objects of every type with arbitrary fields.
#[cfg(test)]
mod props {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use super::*;

    const TYPES: [&str; 11] = [
        "create_stream",
        "join_stream",
        "offer",
        "answer",
        "ice_candidate",
        "video_frame",
        "leave_stream",
        "disconnect",
        "ping",
        "unknown",
        "",
    ];
    const FIELDS: [&str; 10] = [
        "title",
        "description",
        "is_public",
        "stream_id",
        "target_peer_id",
        "sdp",
        "candidate",
        "frame_type",
        "frame_data",
        "timestamp",
    ];

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,24}".prop_map(Value::from),
            "[0-9a-f-]{36}".prop_map(Value::from),
            proptest::collection::vec(any::<u8>().prop_map(Value::from), 0..4)
                .prop_map(Value::Array),
        ]
    }

    fn message() -> impl Strategy<Value = String> {
        (
            proptest::sample::select(TYPES.as_slice()),
            proptest::collection::vec((proptest::sample::select(FIELDS.as_slice()), value()), 0..6),
        )
            .prop_map(|(kind, fields)| {
                let mut object = Map::new();
                object.insert("type".to_owned(), Value::from(kind));
                for (field, value) in fields {
                    object.insert(field.to_owned(), value);
                }
                Value::Object(object).to_string()
            })
    }

    proptest! {
        #[test]
        fn arbitrary_text_is_a_message_or_a_refusal(text in ".{0,200}") {
            if let Err(refusal) = parse(&text) {
                prop_assert!(!refusal.message.is_empty());
            }
        }

        #[test]
        fn every_type_with_arbitrary_fields_is_a_message_or_a_refusal(text in message()) {
            if let Err(refusal) = parse(&text) {
                prop_assert!(refusal.code != ErrorCode::InternalError, "{:?}", refusal);
            }
        }
    }
}
