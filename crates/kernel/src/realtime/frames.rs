//! Reads client WebSocket frames (RFC 6455) from the raw request payload, aggregating
//! fragmented messages, with a size limit that never buffers more than the limit.
//!
//! actix-ws buffers a whole frame before checking its size, so a client announcing a huge frame
//! makes the server hold all of it. This reader checks the announced length first: a message
//! over the limit is reported as [`Frame::Oversize`] at once and its remaining bytes are skipped
//! as they arrive, so the connection stays usable and memory stays bounded.

use actix_ws::{CloseCode, CloseReason};
use bytes::{Buf, Bytes, BytesMut};
use bytestring::ByteString;

/// A complete message or control frame from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A text message (valid UTF-8).
    Text(ByteString),
    /// A binary message.
    Binary(Bytes),
    /// A text message that is not valid UTF-8.
    InvalidText,
    /// A message over the limit; its bytes are being discarded. `size` is what was announced
    /// so far (at least the limit plus one).
    Oversize {
        /// Announced size.
        size: u64,
    },
    /// A ping, to be answered with this payload.
    Ping(Bytes),
    /// A pong.
    Pong,
    /// The client closes.
    Close(Option<CloseReason>),
}

/// A violation of the WebSocket protocol; the connection must be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProtocolViolation(pub &'static str);

impl ProtocolViolation {
    /// The close reason to send.
    pub fn close_reason(&self) -> CloseReason {
        CloseReason {
            code: CloseCode::Protocol,
            description: Some(self.0.to_owned()),
        }
    }
}

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// A data frame's payload being read.
#[derive(Debug)]
struct Payload {
    remaining: u64,
    mask: [u8; 4],
    /// Offset into the mask for the next byte (payloads may arrive in pieces).
    mask_offset: usize,
    /// Discard the bytes instead of keeping them.
    skip: bool,
    opcode: u8,
    fin: bool,
}

/// The message being assembled from data frames.
#[derive(Debug)]
struct Message {
    binary: bool,
    data: BytesMut,
    size: u64,
    /// Over the limit: everything until the final frame is discarded.
    discarding: bool,
}

/// Incremental frame reader for one connection.
#[derive(Debug)]
pub struct FrameReader {
    buf: BytesMut,
    max_message: usize,
    payload: Option<Payload>,
    message: Option<Message>,
}

impl FrameReader {
    /// A reader refusing messages over `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            max_message,
            payload: None,
            message: None,
        }
    }

    /// Adds bytes received from the client.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ProtocolViolation> {
        loop {
            if let Some(payload) = self.payload.as_mut() {
                if payload.opcode >= OP_CLOSE {
                    // Control frames are small (≤ 125 bytes) and read whole.
                    let len = usize::try_from(payload.remaining).unwrap_or(usize::MAX);
                    if self.buf.len() < len {
                        return Ok(None);
                    }
                    let mut data = self.buf.split_to(len);
                    unmask(&mut data, payload.mask, 0);
                    let opcode = payload.opcode;
                    self.payload = None;
                    return control_frame(opcode, data.freeze()).map(Some);
                }
                if !self.read_payload() {
                    return Ok(None);
                }
                let done = self.payload.take();
                if let Some(frame) = self.finish_data_frame(done)? {
                    return Ok(Some(frame));
                }
                continue;
            }
            match self.read_header()? {
                Some(Some(frame)) => return Ok(Some(frame)),
                Some(None) => {}
                None => return Ok(None),
            }
        }
    }

    /// Parses a frame header. `None`: more bytes needed; `Some(Some(frame))`: a frame to report
    /// at once (an oversize message); `Some(None)`: a payload to read follows.
    fn read_header(&mut self) -> Result<Option<Option<Frame>>, ProtocolViolation> {
        if self.buf.len() < 2 {
            return Ok(None);
        }
        let first = self.buf[0];
        let second = self.buf[1];
        let fin = first & 0x80 != 0;
        if first & 0x70 != 0 {
            return Err(ProtocolViolation("reserved bits set without an extension"));
        }
        let opcode = first & 0x0F;
        if second & 0x80 == 0 {
            return Err(ProtocolViolation("client frames must be masked"));
        }
        let (length, header_len) = match second & 0x7F {
            126 => {
                if self.buf.len() < 4 {
                    return Ok(None);
                }
                (u64::from(u16::from_be_bytes([self.buf[2], self.buf[3]])), 4)
            }
            127 => {
                if self.buf.len() < 10 {
                    return Ok(None);
                }
                let mut raw = [0u8; 8];
                raw.copy_from_slice(&self.buf[2..10]);
                let length = u64::from_be_bytes(raw);
                if length >> 63 != 0 {
                    return Err(ProtocolViolation("frame length has its top bit set"));
                }
                (length, 10)
            }
            n => (u64::from(n), 2),
        };
        if self.buf.len() < header_len + 4 {
            return Ok(None);
        }
        let mut mask = [0u8; 4];
        mask.copy_from_slice(&self.buf[header_len..header_len + 4]);
        self.buf.advance(header_len + 4);

        match opcode {
            OP_CLOSE | OP_PING | OP_PONG => {
                if !fin || length > 125 {
                    return Err(ProtocolViolation("invalid control frame"));
                }
                self.payload = Some(Payload {
                    remaining: length,
                    mask,
                    mask_offset: 0,
                    skip: false,
                    opcode,
                    fin,
                });
                Ok(Some(None))
            }
            OP_TEXT | OP_BINARY | OP_CONTINUATION => {
                if opcode == OP_CONTINUATION && self.message.is_none() {
                    return Err(ProtocolViolation("continuation frame without a message"));
                }
                if opcode != OP_CONTINUATION && self.message.is_some() {
                    return Err(ProtocolViolation("new message inside a fragmented one"));
                }
                let message = self.message.get_or_insert_with(|| Message {
                    binary: opcode == OP_BINARY,
                    data: BytesMut::new(),
                    size: 0,
                    discarding: false,
                });
                message.size = message.size.saturating_add(length);
                let mut report = None;
                if !message.discarding && message.size > self.max_message as u64 {
                    message.discarding = true;
                    message.data = BytesMut::new();
                    report = Some(Frame::Oversize { size: message.size });
                }
                let skip = message.discarding;
                if !skip {
                    let length = usize::try_from(length).unwrap_or(usize::MAX);
                    message.data.reserve(length);
                }
                self.payload = Some(Payload {
                    remaining: length,
                    mask,
                    mask_offset: 0,
                    skip,
                    opcode,
                    fin,
                });
                Ok(Some(report))
            }
            _ => Err(ProtocolViolation("unknown opcode")),
        }
    }

    /// Moves payload bytes from the buffer into the message (or discards them). True when the
    /// frame's payload is complete.
    fn read_payload(&mut self) -> bool {
        let Some(payload) = self.payload.as_mut() else {
            return true;
        };
        let available = self.buf.len() as u64;
        let take = usize::try_from(payload.remaining.min(available)).unwrap_or(usize::MAX);
        if take > 0 {
            let mut chunk = self.buf.split_to(take);
            payload.remaining -= take as u64;
            if !payload.skip {
                unmask(&mut chunk, payload.mask, payload.mask_offset);
                if let Some(message) = self.message.as_mut() {
                    message.data.extend_from_slice(&chunk);
                }
            }
            payload.mask_offset = (payload.mask_offset + take) % 4;
        }
        payload.remaining == 0
    }

    fn finish_data_frame(
        &mut self,
        payload: Option<Payload>,
    ) -> Result<Option<Frame>, ProtocolViolation> {
        let Some(payload) = payload else {
            return Ok(None);
        };
        if !payload.fin {
            return Ok(None);
        }
        let Some(message) = self.message.take() else {
            return Err(ProtocolViolation("frame without a message"));
        };
        if message.discarding {
            return Ok(None);
        }
        let data = message.data.freeze();
        if message.binary {
            return Ok(Some(Frame::Binary(data)));
        }
        Ok(Some(match ByteString::try_from(data) {
            Ok(text) => Frame::Text(text),
            Err(_) => Frame::InvalidText,
        }))
    }
}

fn control_frame(opcode: u8, data: Bytes) -> Result<Frame, ProtocolViolation> {
    match opcode {
        OP_PING => Ok(Frame::Ping(data)),
        OP_PONG => Ok(Frame::Pong),
        _ => {
            if data.is_empty() {
                return Ok(Frame::Close(None));
            }
            if data.len() < 2 {
                return Err(ProtocolViolation("invalid close frame"));
            }
            let code = CloseCode::from(u16::from_be_bytes([data[0], data[1]]));
            let description = std::str::from_utf8(&data[2..])
                .map_err(|_| ProtocolViolation("close reason is not UTF-8"))?;
            Ok(Frame::Close(Some(CloseReason {
                code,
                description: (!description.is_empty()).then(|| description.to_owned()),
            })))
        }
    }
}

/// XORs `data` with the mask, starting `offset` bytes into it.
fn unmask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    let rotated = [
        mask[offset % 4],
        mask[(offset + 1) % 4],
        mask[(offset + 2) % 4],
        mask[(offset + 3) % 4],
    ];
    let word = u64::from_ne_bytes([
        rotated[0], rotated[1], rotated[2], rotated[3], rotated[0], rotated[1], rotated[2],
        rotated[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(raw) ^ word).to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= rotated[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame.
    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        let len = payload.len();
        if len < 126 {
            out.push(0x80 | len as u8);
        } else if len <= 0xFFFF {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    fn read_all(reader: &mut FrameReader) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some(frame) = reader.next_frame().unwrap() {
            out.push(frame);
        }
        out
    }

    #[test]
    fn reads_text_binary_and_control_frames() {
        let mut reader = FrameReader::new(1024);
        reader.feed(&frame(true, OP_TEXT, "héllo".as_bytes()));
        reader.feed(&frame(true, OP_BINARY, &[1, 2, 3]));
        reader.feed(&frame(true, OP_PING, b"p"));
        reader.feed(&frame(true, OP_PONG, b""));
        reader.feed(&frame(true, OP_CLOSE, &[0x03, 0xE8, b'o', b'k']));
        assert_eq!(
            read_all(&mut reader),
            vec![
                Frame::Text("héllo".into()),
                Frame::Binary(Bytes::from_static(&[1, 2, 3])),
                Frame::Ping(Bytes::from_static(b"p")),
                Frame::Pong,
                Frame::Close(Some(CloseReason {
                    code: CloseCode::Normal,
                    description: Some("ok".into())
                })),
            ]
        );
    }

    #[test]
    fn reads_byte_by_byte_and_long_lengths() {
        let payload: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        let bytes = frame(true, OP_BINARY, &payload);
        let mut reader = FrameReader::new(100_000);
        let mut got = Vec::new();
        for chunk in bytes.chunks(7) {
            reader.feed(chunk);
            got.extend(read_all(&mut reader));
        }
        assert_eq!(got, vec![Frame::Binary(Bytes::from(payload))]);
    }

    #[test]
    fn aggregates_fragments_with_interleaved_control_frames() {
        let mut reader = FrameReader::new(1024);
        reader.feed(&frame(false, OP_TEXT, b"hel"));
        reader.feed(&frame(true, OP_PING, b""));
        reader.feed(&frame(false, OP_CONTINUATION, b"lo "));
        reader.feed(&frame(true, OP_CONTINUATION, b"world"));
        assert_eq!(
            read_all(&mut reader),
            vec![Frame::Ping(Bytes::new()), Frame::Text("hello world".into())]
        );
    }

    #[test]
    fn oversize_messages_are_reported_and_skipped_without_buffering() {
        let mut reader = FrameReader::new(10);
        let big = vec![b'x'; 5000];
        let bytes = frame(true, OP_TEXT, &big);
        reader.feed(&bytes[..100]);
        assert_eq!(read_all(&mut reader), vec![Frame::Oversize { size: 5000 }]);
        for chunk in bytes[100..].chunks(512) {
            reader.feed(chunk);
            assert_eq!(read_all(&mut reader), vec![]);
            assert!(reader.buf.len() < 600, "skipped bytes are not kept");
        }
        // The connection goes on.
        reader.feed(&frame(true, OP_TEXT, b"small"));
        assert_eq!(read_all(&mut reader), vec![Frame::Text("small".into())]);
    }

    #[test]
    fn fragmented_messages_count_towards_the_limit() {
        let mut reader = FrameReader::new(8);
        reader.feed(&frame(false, OP_BINARY, b"12345"));
        reader.feed(&frame(false, OP_CONTINUATION, b"67890"));
        reader.feed(&frame(true, OP_CONTINUATION, b"abc"));
        reader.feed(&frame(true, OP_TEXT, b"next"));
        assert_eq!(
            read_all(&mut reader),
            vec![Frame::Oversize { size: 10 }, Frame::Text("next".into())]
        );
    }

    #[test]
    fn invalid_utf8_is_reported_not_fatal() {
        let mut reader = FrameReader::new(64);
        reader.feed(&frame(true, OP_TEXT, &[0xff, 0xfe]));
        reader.feed(&frame(true, OP_TEXT, b"ok"));
        assert_eq!(
            read_all(&mut reader),
            vec![Frame::InvalidText, Frame::Text("ok".into())]
        );
    }

    #[test]
    fn protocol_violations_are_errors() {
        let mut unmasked = FrameReader::new(64);
        unmasked.feed(&[0x81, 0x01, b'a']);
        assert!(unmasked.next_frame().is_err());

        let mut stray = FrameReader::new(64);
        stray.feed(&frame(true, OP_CONTINUATION, b"a"));
        assert!(stray.next_frame().is_err());

        let mut reserved = FrameReader::new(64);
        reserved.feed(&[0xC1, 0x80, 0, 0, 0, 0]);
        assert!(reserved.next_frame().is_err());

        let mut fragmented_ping = FrameReader::new(64);
        fragmented_ping.feed(&frame(false, OP_PING, b""));
        assert!(fragmented_ping.next_frame().is_err());
    }

    #[test]
    fn unmask_handles_every_offset() {
        let mask = [1, 2, 3, 4];
        let original: Vec<u8> = (0..37).collect();
        let mut whole = original.clone();
        unmask(&mut whole, mask, 0);
        let mut pieces = original.clone();
        let (a, rest) = pieces.split_at_mut(5);
        unmask(a, mask, 0);
        let (b, c) = rest.split_at_mut(11);
        unmask(b, mask, 5);
        unmask(c, mask, 16);
        assert_eq!(whole, pieces);
        unmask(&mut whole, mask, 0);
        assert_eq!(whole, original);
    }
}

/// Whatever bytes a client sends, in whatever pieces, the reader answers frames, "more
/// bytes", or a protocol violation — never a panic.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn arbitrary_bytes_in_arbitrary_pieces_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..2048),
            cuts in proptest::collection::vec(0usize..2048, 0..8),
            max in 1usize..4096,
        ) {
            let mut reader = FrameReader::new(max);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.push(bytes.len());
            cuts.sort_unstable();
            let mut start = 0;
            'pieces: for end in cuts {
                reader.feed(&bytes[start..end]);
                start = end;
                // Each frame consumes at least two bytes, so this loop ends.
                for _ in 0..=bytes.len() {
                    match reader.next_frame() {
                        Ok(Some(_)) => {}
                        Ok(None) => continue 'pieces,
                        Err(_) => break 'pieces,
                    }
                }
            }
        }
    }
}
