//! What a room publishes on the Bus: a small binary header and the client-ready payload, so a
//! relayed video frame is neither re-encoded nor escaped on its way between instances.
//!
//! ```text
//! 0      version (1)
//! 1      kind: 0 message, 1 member joined, 2 member left, 3 room closed
//! 2      flags: bit 0 binary payload; bits 1–2 delivery (droppable, important, reliable)
//! 3..19  origin instance id
//! 19..35 sender member id (nil: the server)
//! 35..51 recipient member id (nil: every member but the sender)
//! 51..55 length of the member info (big endian)
//! 55..   member info (joined only), then the payload
//! ```

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use uuid::Uuid;

use super::outbound::{Delivery, OutMessage};

const VERSION: u8 = 1;
const HEADER: usize = 55;

/// What happened in a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Message,
    Joined,
    Left,
    Closed,
}

impl Kind {
    fn code(self) -> u8 {
        match self {
            Self::Message => 0,
            Self::Joined => 1,
            Self::Left => 2,
            Self::Closed => 3,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Message,
            1 => Self::Joined,
            2 => Self::Left,
            3 => Self::Closed,
            _ => return None,
        })
    }
}

/// One event of a room, as published on the Bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub kind: Kind,
    pub origin: Uuid,
    pub from: Option<Uuid>,
    pub to: Option<Uuid>,
    pub delivery: Delivery,
    pub info: Bytes,
    /// What local members receive, if anything.
    pub payload: Option<OutMessage>,
}

impl Envelope {
    pub fn encode(&self) -> Bytes {
        let (binary, body): (bool, &[u8]) = match &self.payload {
            None => (false, &[]),
            Some(OutMessage::Text(text)) => (false, text.as_bytes()),
            Some(OutMessage::Binary(data) | OutMessage::Pong(data)) => (true, data),
        };
        let has_payload = u8::from(self.payload.is_some()) << 3;
        let mut out = BytesMut::with_capacity(HEADER + self.info.len() + body.len());
        out.put_u8(VERSION);
        out.put_u8(self.kind.code());
        out.put_u8(u8::from(binary) | (self.delivery.code() << 1) | has_payload);
        out.put_slice(self.origin.as_bytes());
        out.put_slice(self.from.unwrap_or_else(Uuid::nil).as_bytes());
        out.put_slice(self.to.unwrap_or_else(Uuid::nil).as_bytes());
        out.put_u32(u32::try_from(self.info.len()).unwrap_or(u32::MAX));
        out.put_slice(&self.info);
        out.put_slice(body);
        out.freeze()
    }

    /// `None` for anything this version cannot read.
    pub fn decode(bytes: &Bytes) -> Option<Self> {
        if bytes.len() < HEADER || bytes[0] != VERSION {
            return None;
        }
        let kind = Kind::from_code(bytes[1])?;
        let flags = bytes[2];
        let delivery = Delivery::from_code((flags >> 1) & 0b11)?;
        let id = |at: usize| -> Option<Uuid> {
            let id = Uuid::from_slice(&bytes[at..at + 16]).ok()?;
            (!id.is_nil()).then_some(id)
        };
        let origin = id(3)?;
        let info_len = usize::try_from(u32::from_be_bytes([
            bytes[51], bytes[52], bytes[53], bytes[54],
        ]))
        .ok()?;
        let body_start = HEADER.checked_add(info_len)?;
        if bytes.len() < body_start {
            return None;
        }
        let body = bytes.slice(body_start..);
        let payload = if flags & 0b1000 == 0 {
            None
        } else if flags & 1 == 1 {
            Some(OutMessage::Binary(body))
        } else {
            Some(OutMessage::Text(ByteString::try_from(body).ok()?))
        };
        Some(Self {
            kind,
            origin,
            from: id(19),
            to: id(35),
            delivery,
            info: bytes.slice(HEADER..body_start),
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let envelope = Envelope {
            kind: Kind::Joined,
            origin: Uuid::new_v4(),
            from: Some(Uuid::new_v4()),
            to: None,
            delivery: Delivery::Reliable,
            info: Bytes::from_static(br#"{"user":1}"#),
            payload: Some(OutMessage::text(r#"{"type":"peer_joined"}"#)),
        };
        assert_eq!(Envelope::decode(&envelope.encode()), Some(envelope));

        let frame = Envelope {
            kind: Kind::Message,
            origin: Uuid::new_v4(),
            from: Some(Uuid::new_v4()),
            to: Some(Uuid::new_v4()),
            delivery: Delivery::Droppable,
            info: Bytes::new(),
            payload: Some(OutMessage::Binary(Bytes::from_static(&[0, 1, 2]))),
        };
        assert_eq!(Envelope::decode(&frame.encode()), Some(frame));

        let closed = Envelope {
            kind: Kind::Closed,
            origin: Uuid::new_v4(),
            from: None,
            to: None,
            delivery: Delivery::Reliable,
            info: Bytes::new(),
            payload: None,
        };
        assert_eq!(Envelope::decode(&closed.encode()), Some(closed));
    }

    #[test]
    fn refuses_garbage() {
        assert_eq!(Envelope::decode(&Bytes::from_static(b"hello")), None);
        let mut bad = BytesMut::from(&[0u8; HEADER][..]);
        bad[0] = 9;
        assert_eq!(Envelope::decode(&bad.freeze()), None);
    }
}
