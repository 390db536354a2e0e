//! Usage from the upstream's own numbers (SPEC §8), read as an answer's bytes pass: a JSON
//! answer's `usage`; in a server-sent event stream, an OpenAI chat chunk's `usage` (the final
//! chunk `stream_options.include_usage` adds, which [`UsageMeter`] can hold back from the
//! caller when the gate asked for it), the Responses API's `response.completed`, and Anthropic's
//! `message_start` and `message_delta`, merged without counting twice (`message_delta` carries
//! the running output total).

use serde_json::Value;

/// The most of a JSON answer, or of one line of a stream, kept to read its usage.
const MAX_KEPT: usize = 4 * 1024 * 1024;

/// Tokens an upstream reported for one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// The usage of one `usage` object, in either provider's names; Anthropic's cache reads and
/// writes are input tokens too.
fn usage_of(u: &Value) -> Option<Usage> {
    let n = |k: &str| u.get(k).and_then(Value::as_u64);
    if !u.is_object() {
        return None;
    }
    let input = n("prompt_tokens").or(n("input_tokens"));
    let output = n("completion_tokens").or(n("output_tokens"));
    if input.is_none() && output.is_none() {
        return None;
    }
    let cached = n("cache_creation_input_tokens").unwrap_or(0) + n("cache_read_input_tokens").unwrap_or(0);
    Some(Usage {
        input_tokens: input.unwrap_or(0) + cached,
        output_tokens: output.unwrap_or(0),
    })
}

/// What the caller gets of a chunk.
#[derive(Debug, PartialEq, Eq)]
pub enum Passed {
    /// The chunk as it came.
    Whole,
    /// These bytes: the events the chunk completed, the usage-only one left out.
    Part(Vec<u8>),
}

/// Reads an answer's usage chunk by chunk and says what of each chunk the caller gets.
pub struct UsageMeter {
    stream: bool,
    /// Drop OpenAI's usage-only chunk from what the caller sees (the gate asked for it).
    strip: bool,
    /// A JSON answer so far, or the current unfinished event of a stream.
    kept: Vec<u8>,
    overflow: bool,
    usage: Option<Usage>,
}

impl UsageMeter {
    /// A meter for a server-sent event stream (`stream`) or a JSON answer.
    pub fn new(stream: bool, strip: bool) -> Self {
        Self {
            stream,
            strip: stream && strip,
            kept: Vec::new(),
            overflow: false,
            usage: None,
        }
    }

    /// Reads `chunk`; says what the caller gets of it: the chunk itself, or, when stripping,
    /// the events it completes except the usage-only one.
    pub fn feed(&mut self, chunk: &[u8]) -> Passed {
        if !self.stream {
            if self.kept.len() + chunk.len() <= MAX_KEPT {
                self.kept.extend_from_slice(chunk);
            } else {
                self.overflow = true;
            }
            return Passed::Whole;
        }
        let mut out = Vec::new();
        for &b in chunk {
            self.kept.push(b);
            if self.kept.ends_with(b"\n\n") || self.kept.ends_with(b"\r\n\r\n") {
                let event = std::mem::take(&mut self.kept);
                if !self.read_event(&event) || !self.strip {
                    out.extend_from_slice(&event);
                }
            } else if self.kept.len() > MAX_KEPT {
                // Not an event stream we can read: pass it on unread.
                out.append(&mut self.kept);
                self.strip = false;
            }
        }
        if self.strip { Passed::Part(out) } else { Passed::Whole }
    }

    /// Reads one event; true when it is OpenAI's usage-only chunk.
    fn read_event(&mut self, event: &[u8]) -> bool {
        let text = String::from_utf8_lossy(event);
        let data: String = text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim_start)
            .collect::<Vec<_>>()
            .join("\n");
        let Ok(v) = serde_json::from_str::<Value>(&data) else {
            return false;
        };
        match v.get("type").and_then(Value::as_str) {
            Some("message_start") => {
                if let Some(u) = v.get("message").and_then(|m| m.get("usage")).and_then(usage_of) {
                    self.usage = Some(u);
                }
                false
            }
            Some("message_delta") => {
                if let Some(u) = v.get("usage").and_then(usage_of) {
                    let mut merged = self.usage.unwrap_or_default();
                    merged.output_tokens = u.output_tokens;
                    if v["usage"].get("input_tokens").is_some() {
                        merged.input_tokens = u.input_tokens;
                    }
                    self.usage = Some(merged);
                }
                false
            }
            Some("response.completed" | "response.incomplete" | "response.failed") => {
                if let Some(u) = v.get("response").and_then(|r| r.get("usage")).and_then(usage_of) {
                    self.usage = Some(u);
                }
                false
            }
            _ => match v.get("usage").and_then(usage_of) {
                Some(u) => {
                    self.usage = Some(u);
                    v.get("choices").and_then(Value::as_array).is_some_and(Vec::is_empty)
                }
                None => false,
            },
        }
    }

    /// The usage the answer reported, if it reported one.
    pub fn finish(self) -> Option<Usage> {
        if self.stream {
            return self.usage;
        }
        if self.overflow {
            return None;
        }
        // Only `usage` is kept of the answer: the rest is checked and skipped.
        #[derive(serde::Deserialize)]
        struct Answer {
            usage: Option<Value>,
        }
        let answer: Answer = serde_json::from_slice(&self.kept).ok()?;
        answer.usage.as_ref().and_then(usage_of)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sse(events: &[Value]) -> Vec<u8> {
        events
            .iter()
            .map(|e| format!("data: {e}\n\n"))
            .collect::<String>()
            .into_bytes()
    }

    /// Feeds `bytes` one byte at a time, as the worst-split stream would arrive.
    fn meter(stream: bool, strip: bool, bytes: &[u8]) -> (Vec<u8>, Option<Usage>) {
        let mut m = UsageMeter::new(stream, strip);
        let out: Vec<u8> = bytes
            .chunks(1)
            .flat_map(|c| match m.feed(c) {
                Passed::Whole => c.to_vec(),
                Passed::Part(part) => part,
            })
            .collect();
        (out, m.finish())
    }

    #[test]
    fn a_json_answer_gives_its_usage_in_either_providers_names() {
        let body = json!({ "usage": { "prompt_tokens": 3, "completion_tokens": 4 } }).to_string();
        let (out, u) = meter(false, false, body.as_bytes());
        assert_eq!(
            (out, u),
            (
                body.clone().into_bytes(),
                Some(Usage {
                    input_tokens: 3,
                    output_tokens: 4
                })
            )
        );
        let body =
            json!({ "usage": { "input_tokens": 5, "output_tokens": 6, "cache_read_input_tokens": 2 } }).to_string();
        assert_eq!(
            meter(false, false, body.as_bytes()).1,
            Some(Usage {
                input_tokens: 7,
                output_tokens: 6
            })
        );
        assert_eq!(meter(false, false, b"not json").1, None);
    }

    #[test]
    fn the_usage_chunk_the_gate_asked_for_is_counted_and_held_back() {
        let text = json!({ "choices": [{ "delta": { "content": "hi" } }] });
        let usage = json!({ "choices": [], "usage": { "prompt_tokens": 9, "completion_tokens": 2 } });
        let stream = [sse(&[text.clone(), usage.clone()]), b"data: [DONE]\n\n".to_vec()].concat();
        let (out, u) = meter(true, true, &stream);
        assert_eq!(
            u,
            Some(Usage {
                input_tokens: 9,
                output_tokens: 2
            })
        );
        assert_eq!(out, [sse(&[text]), b"data: [DONE]\n\n".to_vec()].concat());
        let (out, _) = meter(true, false, &stream);
        assert_eq!(out, stream, "a caller that asked for usage sees it");
    }

    #[test]
    fn anthropic_start_and_delta_merge_without_counting_twice() {
        let stream = sse(&[
            json!({ "type": "message_start", "message": { "usage": { "input_tokens": 11, "output_tokens": 1 } } }),
            json!({ "type": "content_block_delta", "delta": { "text": "x" } }),
            json!({ "type": "message_delta", "usage": { "output_tokens": 7 } }),
        ]);
        assert_eq!(
            meter(true, false, &stream).1,
            Some(Usage {
                input_tokens: 11,
                output_tokens: 7
            })
        );
    }

    #[test]
    fn the_responses_api_reports_usage_when_completed() {
        let stream = sse(&[
            json!({ "type": "response.output_text.delta", "delta": "x" }),
            json!({ "type": "response.completed", "response": { "usage": { "input_tokens": 4, "output_tokens": 8 } } }),
        ]);
        assert_eq!(
            meter(true, false, &stream).1,
            Some(Usage {
                input_tokens: 4,
                output_tokens: 8
            })
        );
    }
}
