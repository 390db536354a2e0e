//! The payload of a message: `[header length: u64 big-endian][JSON object][binary]`. The SDK adds
//! a `__meshagent__` member (version, tracing) to every header it sends; it is dropped on reading.
//! Requests and answers carry a [`Content`]: its kind and fields in the header, its bytes after.

use serde_json::{Map, Value, json};

/// The SDK's error codes (`meshagent.api.error_codes.ErrorCode`) that Gatehouse answers with.
pub mod code {
    pub const PERMISSION_DENIED: i64 = 1001;
    pub const INVALID_REQUEST: i64 = 1002;
    pub const NOT_FOUND: i64 = 1003;
    pub const CONFLICT: i64 = 1005;
    pub const INVALID_STATE: i64 = 1006;
    pub const OPERATION_FAILED: i64 = 1008;
    pub const TIMEOUT: i64 = 1009;
}

const SDK_MEMBER: &str = "__meshagent__";

/// Why a payload cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError(pub &'static str);

/// `header` and `data` as one payload.
pub fn pack(header: &Value, data: &[u8]) -> Vec<u8> {
    let json = header.to_string();
    let mut out = Vec::with_capacity(8 + json.len() + data.len());
    out.extend_from_slice(&(json.len() as u64).to_be_bytes());
    out.extend_from_slice(json.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A payload's header (without the SDK's own member) and binary part.
pub fn unpack(payload: &[u8]) -> Result<(Map<String, Value>, &[u8]), PayloadError> {
    const SHAPE: PayloadError = PayloadError("a payload is [header length: u64][JSON object][binary]");
    let (len, rest) = payload.split_first_chunk::<8>().ok_or(SHAPE)?;
    let len = usize::try_from(u64::from_be_bytes(*len)).map_err(|_| SHAPE)?;
    if len > rest.len() {
        return Err(SHAPE);
    }
    let (header, data) = rest.split_at(len);
    match serde_json::from_slice(header) {
        Ok(Value::Object(mut m)) => {
            m.remove(SDK_MEMBER);
            Ok((m, data))
        }
        _ => Err(PayloadError("a payload's header is a JSON object")),
    }
}

/// What a request carries or an answer returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Json(Value),
    Text(String),
    Empty,
    Error { text: String, code: i64 },
    Binary { headers: Map<String, Value>, data: Vec<u8> },
}

impl Content {
    /// Reads content from its header (`{"type": …, …}`) and binary part.
    pub fn from_parts(header: &Map<String, Value>, data: &[u8]) -> Result<Self, PayloadError> {
        let field = |k: &str| header.get(k);
        let kind = field("type").and_then(Value::as_str);
        Ok(match kind {
            Some("json") => Self::Json(field("json").cloned().unwrap_or(Value::Null)),
            Some("text") => Self::Text(
                field("text")
                    .and_then(Value::as_str)
                    .ok_or(PayloadError("text content has a string `text`"))?
                    .to_owned(),
            ),
            Some("empty") => Self::Empty,
            Some("error") => Self::Error {
                text: field("text").and_then(Value::as_str).unwrap_or_default().to_owned(),
                code: field("code").and_then(Value::as_i64).unwrap_or(code::OPERATION_FAILED),
            },
            Some("binary") => Self::Binary {
                headers: field("headers").and_then(Value::as_object).cloned().unwrap_or_default(),
                data: data.to_vec(),
            },
            Some(_) => return Err(PayloadError("content is json, text, empty, error or binary")),
            None => return Err(PayloadError("content has a string `type`")),
        })
    }

    /// The content's header and binary part.
    pub fn to_parts(&self) -> (Value, &[u8]) {
        match self {
            Self::Json(v) => (json!({ "type": "json", "json": v }), &[]),
            Self::Text(t) => (json!({ "type": "text", "text": t }), &[]),
            Self::Empty => (json!({ "type": "empty" }), &[]),
            Self::Error { text, code } => (json!({ "type": "error", "text": text, "code": code }), &[]),
            Self::Binary { headers, data } => (json!({ "type": "binary", "headers": headers }), data),
        }
    }

    /// The content as a whole payload (the body of an answer).
    pub fn pack(&self) -> Vec<u8> {
        let (header, data) = self.to_parts();
        pack(&header, data)
    }

    /// An error answer.
    pub fn error(code: i64, text: impl Into<String>) -> Self {
        Self::Error {
            text: text.into(),
            code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(c: &Content) -> Content {
        let packed = c.pack();
        let (header, data) = unpack(&packed).unwrap();
        Content::from_parts(&header, data).unwrap()
    }

    #[test]
    fn every_content_kind_reads_back_as_packed() {
        let mut headers = Map::new();
        headers.insert("request_id".into(), json!("r1"));
        for c in [
            Content::Json(json!({ "secrets": [] })),
            Content::Text("hello".into()),
            Content::Empty,
            Content::error(code::NOT_FOUND, "no such secret"),
            Content::Binary {
                headers,
                data: vec![0, 1, 2, 255],
            },
        ] {
            assert_eq!(round_trip(&c), c);
        }
    }

    #[test]
    fn a_payload_is_its_header_length_then_header_then_bytes() {
        let p = pack(&json!({ "a": 1 }), b"xyz");
        assert_eq!(&p[..8], &7u64.to_be_bytes());
        assert_eq!(&p[8..15], br#"{"a":1}"#);
        assert_eq!(&p[15..], b"xyz");
    }

    #[test]
    fn the_sdk_member_is_dropped_from_headers() {
        let p = pack(
            &json!({ "toolkit": "secrets", "__meshagent__": { "v": 1, "otel": {} } }),
            &[],
        );
        let (header, data) = unpack(&p).unwrap();
        assert_eq!(Value::Object(header), json!({ "toolkit": "secrets" }));
        assert!(data.is_empty());
    }

    #[test]
    fn malformed_payloads_are_refused() {
        assert!(unpack(&[0; 7]).is_err(), "shorter than the length");
        assert!(
            unpack(&[0, 0, 0, 0, 0, 0, 0, 9, b'{', b'}']).is_err(),
            "length past the end"
        );
        assert!(unpack(&pack(&json!([1]), &[])).is_err(), "not an object");
        let mut huge = u64::MAX.to_be_bytes().to_vec();
        huge.push(b'{');
        assert!(unpack(&huge).is_err());
        let header = |v: Value| v.as_object().unwrap().clone();
        assert!(Content::from_parts(&header(json!({ "type": "file" })), &[]).is_err());
        assert!(Content::from_parts(&header(json!({})), &[]).is_err());
        assert!(Content::from_parts(&header(json!({ "type": "text" })), &[]).is_err());
    }
}
