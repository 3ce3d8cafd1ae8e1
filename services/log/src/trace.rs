//! The W3C trace context a record may carry beside its key and value, so that one block can
//! be followed as one trace through an ingester, processors and a checkpointer in separate
//! processes (OpenTelemetry, `traceparent` header of the W3C Trace Context spec).
//!
//! It is observability metadata and nothing else: never part of a record's key or value,
//! never read into state, events, hashes or checkpoints. Anyone who can write to a topic
//! can write any header, so a header is parsed strictly and with a bounded length; a record
//! without one (an old log, another producer) or with one that does not parse simply has no
//! trace context.

/// The header (Kafka record header) that carries a record's trace context.
pub const HEADER_TRACEPARENT: &str = "traceparent";

/// The length of a version-00 `traceparent`: `00-<32 hex>-<16 hex>-<2 hex>`. A longer value
/// is refused before it is looked at, whatever a writer put there.
pub const TRACEPARENT_LEN: usize = 55;

/// How many headers of one record are looked through for [`HEADER_TRACEPARENT`]: a record
/// with thousands of headers costs the reader no more than one with a few.
pub const MAX_HEADERS_SCANNED: usize = 16;

/// A validated W3C `traceparent` (version 00): the trace and parent span a record was
/// written under.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceContext {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    flags: u8,
}

/// The spec's own notation, which is what operators search their trace backend for.
impl std::fmt::Debug for TraceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TraceContext({})", self.traceparent())
    }
}

impl TraceContext {
    /// Parses a `traceparent` header value; `None` for anything that is not a well-formed
    /// version-00 value with a non-zero trace id and span id (the spec's "invalid"), and
    /// for anything longer than [`TRACEPARENT_LEN`] bytes.
    pub fn parse(value: &[u8]) -> Option<Self> {
        if value.len() != TRACEPARENT_LEN {
            return None;
        }
        if value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
            return None;
        }
        let version = hex_bytes::<1>(&value[0..2])?;
        // Version 00 is the only one defined; ff is forbidden by the spec.
        if version[0] != 0 {
            return None;
        }
        let trace_id = hex_bytes::<16>(&value[3..35])?;
        let span_id = hex_bytes::<8>(&value[36..52])?;
        let flags = hex_bytes::<1>(&value[53..55])?[0];
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Self {
            trace_id,
            span_id,
            flags,
        })
    }

    /// A context from its parts (as a tracing library holds them); `None` for the all-zero
    /// ids the spec calls invalid.
    pub fn new(trace_id: [u8; 16], span_id: [u8; 8], flags: u8) -> Option<Self> {
        (trace_id != [0; 16] && span_id != [0; 8]).then_some(Self {
            trace_id,
            span_id,
            flags,
        })
    }

    /// The header value (`00-<trace id>-<span id>-<flags>`, lowercase hex).
    pub fn traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            to_hex(&self.trace_id),
            to_hex(&self.span_id),
            self.flags
        )
    }

    pub fn trace_id(&self) -> [u8; 16] {
        self.trace_id
    }

    pub fn span_id(&self) -> [u8; 8] {
        self.span_id
    }

    pub fn flags(&self) -> u8 {
        self.flags
    }
}

/// Exactly `N` bytes from `2 * N` lowercase hex digits (the spec allows no uppercase).
fn hex_bytes<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    if s.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        out[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

/// Finds and parses the trace context among a record's headers, looking at no more than
/// [`MAX_HEADERS_SCANNED`] of them; a missing or unparsable header is `None` (logged at
/// debug level: a garbage header is not the node's problem).
pub fn from_headers<'a>(headers: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>) -> Option<TraceContext> {
    let (_, value) = headers
        .into_iter()
        .take(MAX_HEADERS_SCANNED)
        .find(|(key, _)| *key == HEADER_TRACEPARENT)?;
    let value = value.unwrap_or_default();
    let parsed = TraceContext::parse(value);
    if parsed.is_none() {
        tracing::debug!(len = value.len(), "ignoring a record's unparsable traceparent header");
    }
    parsed
}

/// The trace context of each record of an append (see [`crate::Log::append_traced`]).
#[derive(Debug, Clone, Copy, Default)]
pub enum RecordTraces<'a> {
    /// No record carries one (tracing is off, or nothing traced the append).
    #[default]
    None,
    /// Every record of the append carries this one.
    All(&'a TraceContext),
    /// Per topic of the batch, per record of that topic (missing entries carry none).
    PerRecord(&'a [Vec<Option<TraceContext>>]),
}

impl RecordTraces<'_> {
    /// The context of record `record` of topic `topic` (indices into the appended batch).
    pub fn get(&self, topic: usize, record: usize) -> Option<&TraceContext> {
        match self {
            RecordTraces::None => None,
            RecordTraces::All(t) => Some(t),
            RecordTraces::PerRecord(per) => per.get(topic)?.get(record)?.as_ref(),
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, RecordTraces::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_round_trips() {
        let t = TraceContext::parse(VALID.as_bytes()).expect("valid");
        assert_eq!(t.traceparent(), VALID);
        assert_eq!(t.flags(), 1);
        assert_eq!(t.span_id(), [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]);
    }

    /// Anyone can write headers to a topic: nothing but a well-formed value is accepted,
    /// and nothing panics.
    #[test]
    fn garbage_and_oversized_headers_are_ignored() {
        let zero_trace = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
        let zero_span = "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01";
        let upper = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
        let version_ff = "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let bad_dash = "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let non_ascii = "00-4bf92f3577b34da6a3ce929d0e0e47é-00f067aa0ba902b7-01";
        let oversized = format!("{VALID}{}", "-x".repeat(1 << 20));
        let huge = vec![b'0'; 10 << 20];
        for bad in [
            "",
            "garbage",
            zero_trace,
            zero_span,
            upper,
            version_ff,
            bad_dash,
            non_ascii,
            &VALID[..54],
            &format!("{VALID}-"),
            oversized.as_str(),
        ] {
            assert_eq!(
                TraceContext::parse(bad.as_bytes()),
                None,
                "{:?}",
                &bad[..bad.len().min(60)]
            );
        }
        assert_eq!(TraceContext::parse(&huge), None);
        assert_eq!(TraceContext::parse(&[0xff; TRACEPARENT_LEN]), None);
        // Every byte string of the right length with every byte changed is refused or valid,
        // never a panic.
        for i in 0..TRACEPARENT_LEN {
            for b in [0u8, b'-', b'g', b'F', 0x80, 0xff] {
                let mut v = VALID.as_bytes().to_vec();
                v[i] = b;
                let _ = TraceContext::parse(&v);
            }
        }
    }

    #[test]
    fn headers_are_searched_within_a_bound() {
        let valid = VALID.as_bytes();
        let found = from_headers([("content-type", Some(&b"x"[..])), (HEADER_TRACEPARENT, Some(valid))]);
        assert_eq!(found.map(|t| t.traceparent()), Some(VALID.to_string()));
        assert_eq!(from_headers([(HEADER_TRACEPARENT, None)]), None, "a null header value");
        assert_eq!(from_headers([(HEADER_TRACEPARENT, Some(&b"junk"[..]))]), None);
        assert_eq!(from_headers(std::iter::empty()), None, "no headers: an old record");
        let mut many: Vec<(&str, Option<&[u8]>)> = vec![("x", None); MAX_HEADERS_SCANNED];
        many.push((HEADER_TRACEPARENT, Some(valid)));
        assert_eq!(from_headers(many), None, "past the bound: not looked at");
    }

    #[test]
    fn record_traces_index_by_topic_and_record() {
        let t = TraceContext::parse(VALID.as_bytes()).expect("valid");
        let per = vec![vec![None, Some(t)], vec![]];
        let traces = RecordTraces::PerRecord(&per);
        assert_eq!(traces.get(0, 0), None);
        assert_eq!(traces.get(0, 1), Some(&t));
        assert_eq!(traces.get(1, 0), None);
        assert_eq!(traces.get(7, 7), None);
        assert_eq!(RecordTraces::All(&t).get(3, 9), Some(&t));
        assert!(RecordTraces::None.get(0, 0).is_none());
    }
}
