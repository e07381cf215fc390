//! Framing of the satellite protocol on a byte stream: each message is a 4-byte big-endian
//! length followed by that many bytes of JSON.
//!
//! Rules:
//! - A frame is never larger than [`MAX_FRAME_BYTES`]; a bigger announced length is refused
//!   before anything is allocated, and a message that would encode bigger is not sent.
//! - Memory grows with the bytes that actually arrive, never with the announced length.
//! - End of stream exactly between two frames is a clean close (`Ok(None)`); anywhere else
//!   it is [`FrameError::Truncated`].
//! - Nothing read from the peer can panic: every malformation is a [`FrameError`].

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest frame accepted or sent (payload bytes, without the length prefix).
pub const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the peer announced a frame of {0} bytes, more than the {MAX_FRAME_BYTES} allowed")]
    TooLarge(u64),
    #[error("the message would be {0} bytes, more than the {MAX_FRAME_BYTES} allowed")]
    MessageTooLarge(usize),
    #[error("the peer announced an empty frame")]
    Empty,
    #[error("the connection closed in the middle of a frame ({got} of {want} bytes)")]
    Truncated { got: usize, want: usize },
    #[error("the message is not valid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
}

/// The bytes of one frame carrying `message`.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, FrameError> {
    let mut bytes = vec![0u8; 4];
    serde_json::to_writer(&mut bytes, message)?;
    let len = bytes.len() - 4;
    if len > MAX_FRAME_BYTES {
        return Err(FrameError::MessageTooLarge(len));
    }
    // len <= MAX_FRAME_BYTES < u32::MAX
    bytes[..4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(bytes)
}

/// Reads one frame's payload; `Ok(None)` when the stream ends cleanly before a frame.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Option<Vec<u8>>, FrameError> {
    read_frame_limited(reader, MAX_FRAME_BYTES).await
}

/// [`read_frame`] with a smaller limit (for tests and for peers that must stay small).
pub async fn read_frame_limited<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<Option<Vec<u8>>, FrameError> {
    let mut prefix = [0u8; 4];
    let mut got = 0;
    while got < prefix.len() {
        let n = reader.read(&mut prefix[got..]).await?;
        if n == 0 {
            return if got == 0 { Ok(None) } else { Err(FrameError::Truncated { got, want: 4 }) };
        }
        got += n;
    }
    let announced = u32::from_be_bytes(prefix);
    let want = usize::try_from(announced).map_err(|_| FrameError::TooLarge(u64::from(announced)))?;
    if want > max.min(MAX_FRAME_BYTES) {
        return Err(FrameError::TooLarge(u64::from(announced)));
    }
    if want == 0 {
        return Err(FrameError::Empty);
    }
    // Grows with what arrives: a peer that announces much and sends little costs little.
    let mut payload = Vec::with_capacity(want.min(64 * 1024));
    (&mut *reader).take(want as u64).read_to_end(&mut payload).await?;
    if payload.len() < want {
        return Err(FrameError::Truncated { got: payload.len(), want });
    }
    Ok(Some(payload))
}

/// Reads and decodes one message; `Ok(None)` on a clean end of stream.
pub async fn read_message<T: DeserializeOwned, R: AsyncRead + Unpin>(
    reader: &mut R,
) -> Result<Option<T>, FrameError> {
    match read_frame(reader).await? {
        Some(payload) => Ok(Some(decode(&payload)?)),
        None => Ok(None),
    }
}

/// Decodes one frame's payload.
pub fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, FrameError> {
    Ok(serde_json::from_slice(payload)?)
}

/// Encodes and writes one message, and flushes.
pub async fn write_message<T: Serialize, W: AsyncWrite + Unpin>(
    writer: &mut W,
    message: &T,
) -> Result<(), FrameError> {
    let bytes = encode(message)?;
    writer.write_all(&bytes).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::{
        ControllerMessage, DesiredState, Observed, SatelliteMessage, ToController, ToSatellite,
        PROTOCOL_VERSION,
    };

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(payload);
        bytes
    }

    async fn read_all(mut bytes: &[u8]) -> Vec<Result<Option<Vec<u8>>, String>> {
        let mut out = Vec::new();
        loop {
            let r = read_frame(&mut bytes).await.map_err(|e| e.to_string());
            let stop = !matches!(r, Ok(Some(_)));
            out.push(r);
            if stop {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn messages_round_trip() {
        let messages = vec![
            ToSatellite {
                id: 0,
                msg: ControllerMessage::Hello {
                    controller_id: "c1".into(),
                    protocol_version: PROTOCOL_VERSION,
                    node_name: "n1".into(),
                },
            },
            ToSatellite {
                id: 7,
                msg: ControllerMessage::Apply(DesiredState {
                    node_name: "n1".into(),
                    generation: 3,
                    ..Default::default()
                }),
            },
            ToSatellite { id: 8, msg: ControllerMessage::Ping },
        ];
        let mut stream = Vec::new();
        for m in &messages {
            stream.extend(encode(m).unwrap());
        }
        let mut reader = stream.as_slice();
        for m in &messages {
            let got: ToSatellite = read_message(&mut reader).await.unwrap().unwrap();
            assert_eq!(&got, m);
        }
        assert!(read_message::<ToSatellite, _>(&mut reader).await.unwrap().is_none());

        let answers = vec![
            SatelliteMessage::Welcome { node_name: "n1".into(), protocol_version: PROTOCOL_VERSION },
            SatelliteMessage::Busy { controller_id: "c0".into() },
            SatelliteMessage::WrongNode { node_name: "n2".into() },
            SatelliteMessage::VersionMismatch { protocol_version: 9 },
            SatelliteMessage::Observed(Observed { node_name: "n1".into(), ..Default::default() }),
            SatelliteMessage::Pong,
            SatelliteMessage::Error("no".into()),
        ];
        for (id, msg) in answers.into_iter().enumerate() {
            let m = ToController { id: id as u64, msg };
            let bytes = encode(&m).unwrap();
            let back: ToController = read_message(&mut bytes.as_slice()).await.unwrap().unwrap();
            assert_eq!(back, m);
        }
    }

    #[tokio::test]
    async fn wire_shape_is_length_then_json() {
        let bytes = encode(&ToSatellite { id: 5, msg: ControllerMessage::Ping }).unwrap();
        let len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        assert_eq!(len, bytes.len() - 4);
        assert_eq!(&bytes[4..], br#"{"id":5,"msg":{"type":"Ping"}}"#);
    }

    #[tokio::test]
    async fn clean_end_between_frames() {
        assert!(read_all(&[]).await == vec![Ok(None)]);
        let two = [frame(b"{}"), frame(b"[]")].concat();
        let got = read_all(&two).await;
        assert_eq!(got, vec![Ok(Some(b"{}".to_vec())), Ok(Some(b"[]".to_vec())), Ok(None)]);
    }

    #[tokio::test]
    async fn truncated_frames_are_errors() {
        // In the length prefix.
        for cut in 1..4 {
            let bytes = frame(b"{\"a\":1}");
            let got = read_all(&bytes[..cut]).await;
            assert!(matches!(&got[..], [Err(e)] if e.contains("middle of a frame")), "cut {cut}: {got:?}");
        }
        // In the payload.
        let bytes = frame(b"{\"a\":1}");
        for cut in 4..bytes.len() {
            let got = read_all(&bytes[..cut]).await;
            assert!(
                matches!(&got[..], [Err(e)] if e.contains(&format!("({} of 7 bytes)", cut - 4))),
                "cut {cut}: {got:?}"
            );
        }
    }

    #[tokio::test]
    async fn oversized_lengths_are_refused_without_allocating() {
        // u32::MAX announced, nothing following: refused from the prefix alone.
        let bytes = u32::MAX.to_be_bytes();
        let got = read_frame(&mut bytes.as_slice()).await;
        assert!(matches!(got, Err(FrameError::TooLarge(n)) if n == u64::from(u32::MAX)), "{got:?}");
        let just_over = (MAX_FRAME_BYTES as u32 + 1).to_be_bytes();
        assert!(matches!(read_frame(&mut just_over.as_slice()).await, Err(FrameError::TooLarge(_))));
        // A custom limit.
        let bytes = frame(&[b'x'; 100]);
        assert!(matches!(
            read_frame_limited(&mut bytes.as_slice(), 99).await,
            Err(FrameError::TooLarge(100))
        ));
        assert!(read_frame_limited(&mut bytes.as_slice(), 100).await.unwrap().is_some());
        // The largest allowed length announced, few bytes sent: a truncation, not a 64 MiB buffer.
        let mut lying = (MAX_FRAME_BYTES as u32).to_be_bytes().to_vec();
        lying.extend_from_slice(b"{}");
        let got = read_frame(&mut lying.as_slice()).await;
        assert!(matches!(got, Err(FrameError::Truncated { got: 2, want }) if want == MAX_FRAME_BYTES));
    }

    #[tokio::test]
    async fn empty_frames_and_garbage_are_errors() {
        let empty = 0u32.to_be_bytes();
        assert!(matches!(read_frame(&mut empty.as_slice()).await, Err(FrameError::Empty)));
        for garbage in
            [&b"not json"[..], b"{\"id\":1}", b"{\"id\":1,\"msg\":{\"type\":\"Launch\"}}", b"\xff\xfe"]
        {
            let bytes = frame(garbage);
            let got = read_message::<ToSatellite, _>(&mut bytes.as_slice()).await;
            assert!(matches!(got, Err(FrameError::Json(_))), "{garbage:?}: {got:?}");
        }
        // Random bytes never panic the reader.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let len = (seed % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed % 7) as u8 // small values: plausible short lengths
                })
                .collect();
            let mut reader = bytes.as_slice();
            while let Ok(Some(_)) = read_message::<ToController, _>(&mut reader).await {}
        }
    }

    #[test]
    fn too_large_messages_are_not_sent() {
        let huge = ToController { id: 1, msg: SatelliteMessage::Error("x".repeat(MAX_FRAME_BYTES)) };
        assert!(matches!(encode(&huge), Err(FrameError::MessageTooLarge(n)) if n > MAX_FRAME_BYTES));
    }
}
