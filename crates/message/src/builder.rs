//! Building new messages as bytes, and responses from requests (RFC 3261 §8.2.6).

use crate::message::Request;
use crate::{parse, HeaderName, ParseError};

/// Keeps a header name or value on one line: CR and LF become spaces, so a
/// value can never inject a header.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

fn write_headers(
    out: &mut Vec<u8>,
    headers: &[(String, String)],
    body: &[u8],
    content_type: Option<&str>,
) {
    let mut has_cl = false;
    for (n, v) in headers {
        if HeaderName::from_bytes(n.as_bytes()) == HeaderName::ContentLength {
            has_cl = true;
        }
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(ct) = content_type {
        out.extend_from_slice(b"Content-Type: ");
        out.extend_from_slice(ct.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !has_cl {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// Builds a request. Headers are written in the order added; Content-Length
/// is added from the body unless set explicitly.
///
/// ```
/// use sipkit_message::{RequestBuilder, HeaderName};
/// let bytes = RequestBuilder::new("OPTIONS", "sip:bob@example.com")
///     .header(HeaderName::Via, "SIP/2.0/UDP h.example.com;branch=z9hG4bK1")
///     .header(HeaderName::MaxForwards, "70")
///     .header(HeaderName::To, "<sip:bob@example.com>")
///     .header(HeaderName::From, "<sip:alice@example.com>;tag=a1")
///     .header(HeaderName::CallId, "c1@h.example.com")
///     .header(HeaderName::CSeq, "1 OPTIONS")
///     .build_checked()
///     .unwrap();
/// assert!(bytes.ends_with(b"Content-Length: 0\r\n\r\n"));
/// ```
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl RequestBuilder {
    /// Starts a request line `METHOD uri SIP/2.0`.
    pub fn new(method: &str, uri: &str) -> Self {
        RequestBuilder {
            method: one_line(method).replace(' ', ""),
            uri: one_line(uri).replace(' ', ""),
            headers: Vec::new(),
            content_type: None,
            body: Vec::new(),
        }
    }

    /// Appends a header with its canonical name.
    pub fn header(self, name: HeaderName, value: impl AsRef<str>) -> Self {
        self.raw_header(name.as_str(), value)
    }

    /// Appends a header under any name (an extension header such as `X-Trace`).
    pub fn raw_header(mut self, name: &str, value: impl AsRef<str>) -> Self {
        self.headers
            .push((one_line(name), one_line(value.as_ref())));
        self
    }

    /// Sets the body and its Content-Type.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.content_type = Some(one_line(content_type));
        self.body = body.into();
        self
    }

    /// Writes the request.
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.uri.as_bytes());
        out.extend_from_slice(b" SIP/2.0\r\n");
        write_headers(
            &mut out,
            &self.headers,
            &self.body,
            self.content_type.as_deref(),
        );
        out
    }

    /// Writes the request and checks it parses (mandatory headers present, …).
    pub fn build_checked(&self) -> Result<Vec<u8>, ParseError> {
        let out = self.build();
        parse(&out)?;
        Ok(out)
    }
}

/// Builds a response. See [`response_from_request`] for the usual start.
///
/// Headers are written into one buffer as they are added (a server builds
/// one per request, so nothing is kept per header); the To tag and a
/// stamped top Via are spliced into it as soon as their header is there.
#[derive(Debug, Clone)]
pub struct ResponseBuilder {
    /// Status line and header lines so far.
    head: Vec<u8>,
    /// Where the first To value ends in `head` (before its CRLF).
    to_end: Option<usize>,
    to_has_tag: bool,
    /// A tag asked for before the To header was added.
    to_tag: Option<String>,
    /// The first value of the first Via line in `head`.
    via_value: Option<(usize, usize)>,
    /// A stamped Via asked for before the first Via was added.
    top_via: Option<String>,
    has_content_length: bool,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl ResponseBuilder {
    /// Starts a status line `SIP/2.0 status reason`.
    pub fn new(status: u16, reason: &str) -> Self {
        let mut head = Vec::with_capacity(512);
        head.extend_from_slice(b"SIP/2.0 ");
        push_u64(&mut head, u64::from(status));
        head.push(b' ');
        push_line(&mut head, reason);
        head.extend_from_slice(b"\r\n");
        ResponseBuilder {
            head,
            to_end: None,
            to_has_tag: false,
            to_tag: None,
            via_value: None,
            top_via: None,
            has_content_length: false,
            content_type: None,
            body: Vec::new(),
        }
    }

    /// Appends a header with its canonical name.
    pub fn header(self, name: HeaderName, value: impl AsRef<str>) -> Self {
        self.raw_header(name.as_str(), value)
    }

    /// Appends a header under any name.
    pub fn raw_header(mut self, name: &str, value: impl AsRef<str>) -> Self {
        self.push_header(name, value.as_ref());
        self
    }

    /// Appends a header under any name, in place.
    pub fn push_header(&mut self, name: &str, value: &str) {
        self.push_named(HeaderName::from_bytes(name.as_bytes()), name, value);
    }

    /// Appends a header whose name is already classified as `known`.
    fn push_named(&mut self, known: HeaderName, name: &str, value: &str) {
        push_line(&mut self.head, name);
        self.head.extend_from_slice(b": ");
        let start = self.head.len();
        push_line(&mut self.head, value);
        let end = self.head.len();
        self.head.extend_from_slice(b"\r\n");
        match known {
            HeaderName::To if self.to_end.is_none() => {
                self.to_end = Some(end);
                if let Some(tag) = self.to_tag.take() {
                    self.splice_tag(&tag);
                }
            }
            HeaderName::Via if self.via_value.is_none() => {
                let first = first_value_len(&self.head[start..end]);
                self.via_value = Some((start, start + first));
                if let Some(via) = self.top_via.take() {
                    self.splice_via(&via);
                }
            }
            HeaderName::ContentLength => self.has_content_length = true,
            _ => {}
        }
    }

    /// Puts `;tag=tag` at the end of the To value, unless it has a tag.
    fn splice_tag(&mut self, tag: &str) {
        let Some(at) = self.to_end else { return };
        if self.to_has_tag {
            return;
        }
        let n = 5 + tag.len();
        self.head.splice(
            at..at,
            b";tag=".iter().copied().chain(tag.bytes().map(clean)),
        );
        self.to_has_tag = true;
        self.to_end = Some(at + n);
        if let Some((a, b)) = self.via_value {
            if a >= at {
                self.via_value = Some((a + n, b + n));
            }
        }
    }

    /// Replaces the first value of the first Via with `via`.
    fn splice_via(&mut self, via: &str) {
        let Some((a, b)) = self.via_value else { return };
        self.head.splice(a..b, via.bytes().map(clean));
        let new_b = a + via.len();
        self.via_value = Some((a, new_b));
        if let Some(t) = self.to_end {
            if t >= b {
                self.to_end = Some(t - b + new_b);
            }
        }
    }

    /// Adds `;tag=tag` to the To header if it has no tag yet (RFC 3261 §8.2.6.2).
    pub fn to_tag(mut self, tag: &str) -> Self {
        if self.to_end.is_some() {
            self.splice_tag(tag);
        } else {
            self.to_tag = Some(one_line(tag));
        }
        self
    }

    /// Replaces the first value of the first Via with `via`: the top Via
    /// as the server stamped it with `received` and `rport` (RFC 3261
    /// §18.2.1, RFC 3581 §4), which the response must carry back.
    pub fn top_via(mut self, via: &str) -> Self {
        if self.via_value.is_some() {
            self.splice_via(via);
        } else {
            self.top_via = Some(one_line(via));
        }
        self
    }

    /// Sets the body and its Content-Type.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.content_type = Some(one_line(content_type));
        self.body = body.into();
        self
    }

    /// Writes the response.
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.head.len() + 64 + self.body.len());
        out.extend_from_slice(&self.head);
        self.write_tail(&mut out);
        out
    }

    /// Writes the response, consuming the builder: the bytes are written
    /// in its own buffer, without a copy.
    pub fn finish(mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.head);
        self.write_tail(&mut out);
        out
    }

    /// Writes the response and checks it parses.
    pub fn build_checked(&self) -> Result<Vec<u8>, ParseError> {
        let out = self.build();
        parse(&out)?;
        Ok(out)
    }

    /// Content-Type, Content-Length, the blank line and the body.
    fn write_tail(&self, out: &mut Vec<u8>) {
        if let Some(ct) = &self.content_type {
            out.extend_from_slice(b"Content-Type: ");
            out.extend_from_slice(ct.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if !self.has_content_length {
            out.extend_from_slice(b"Content-Length: ");
            push_u64(out, self.body.len() as u64);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }
}

/// Appends `s` with CR and LF turned into spaces (see [`one_line`]).
fn push_line(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| b == b'\r' || b == b'\n') {
        out.extend(s.bytes().map(clean));
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

/// A byte of a header line: CR and LF become spaces.
fn clean(b: u8) -> u8 {
    if b == b'\r' || b == b'\n' {
        b' '
    } else {
        b
    }
}

/// Appends a number in decimal.
fn push_u64(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// The length of the first value of a Via line: up to the first comma
/// outside a quoted string (Via parameters may be quoted, RFC 3261 §25.1).
fn first_value_len(line: &[u8]) -> usize {
    let mut quoted = false;
    let mut escaped = false;
    for (i, &c) in line.iter().enumerate() {
        match c {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b',' if !quoted => return i,
            _ => {}
        }
    }
    line.len()
}

/// Whether a response copies header `name` from its request (RFC 3261
/// §8.2.6.2: Via, From, To, Call-ID, CSeq; §8.2.6.1: Timestamp in a 100).
fn copied_into_response(name: HeaderName, status: u16) -> bool {
    match name {
        HeaderName::Via
        | HeaderName::From
        | HeaderName::To
        | HeaderName::CallId
        | HeaderName::CSeq => true,
        HeaderName::Timestamp => status == 100,
        _ => false,
    }
}

/// Starts a response to `req` as RFC 3261 §8.2.6 says: every Via in order,
/// From, To, Call-ID and CSeq copied (and Timestamp for a 100, §8.2.6.1).
/// Add a To tag with [`ResponseBuilder::to_tag`] (needed for all but 100)
/// and, in a server, the stamped top Via with [`ResponseBuilder::top_via`].
///
/// ```
/// use sipkit_message::{parse, response_from_request, Message};
/// let req = parse(b"BYE sip:bob@192.0.2.4 SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
/// Via: SIP/2.0/UDP b;branch=z9hG4bK2\r\nMax-Forwards: 70\r\nFrom: <sip:a@x>;tag=1\r\n\
/// To: <sip:b@y>\r\nCall-ID: c\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n").unwrap();
/// let Message::Request(req) = req else { unreachable!() };
/// let bytes = response_from_request(&req, 200, "OK").to_tag("t9").build();
/// let resp = parse(&bytes).unwrap();
/// assert_eq!(resp.vias().count(), 2);
/// assert_eq!(resp.to().tag(), Some("t9"));
/// ```
pub fn response_from_request(req: &Request<'_>, status: u16, reason: &str) -> ResponseBuilder {
    let mut b = ResponseBuilder::new(status, reason);
    for h in req.headers() {
        if copied_into_response(h.name, status) {
            b.push_named(h.name, h.name.as_str(), h.value);
        }
    }
    b.to_has_tag = req.to().tag().is_some();
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_inject_headers() {
        let bytes = RequestBuilder::new("OPTIONS", "sip:b@x")
            .raw_header("X-Evil", "a\r\nVia: SIP/2.0/UDP evil")
            .build();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.matches("Via:").count(), 1);
        assert!(text.contains("X-Evil: a  Via: SIP/2.0/UDP evil\r\n"));
    }

    /// The tag and the stamped Via land in place whatever the order of
    /// the calls and of the headers.
    #[test]
    fn tag_and_via_in_any_order() {
        let expected = "SIP/2.0 200 OK\r\nTo: <sip:b@x>;tag=t1\r\nVia: SIP/2.0/UDP new, SIP/2.0/UDP c\r\nContent-Length: 0\r\n\r\n";
        let early = ResponseBuilder::new(200, "OK")
            .to_tag("t1")
            .top_via("SIP/2.0/UDP new")
            .header(HeaderName::To, "<sip:b@x>")
            .header(
                HeaderName::Via,
                "SIP/2.0/UDP old;branch=z9hG4bK1, SIP/2.0/UDP c",
            )
            .finish();
        assert_eq!(String::from_utf8(early).unwrap(), expected);
        let late = ResponseBuilder::new(200, "OK")
            .header(HeaderName::To, "<sip:b@x>")
            .header(
                HeaderName::Via,
                "SIP/2.0/UDP old;branch=z9hG4bK1, SIP/2.0/UDP c",
            )
            .top_via("SIP/2.0/UDP newer")
            .to_tag("t1")
            .to_tag("ignored: the To has a tag now")
            .top_via("SIP/2.0/UDP new")
            .finish();
        assert_eq!(String::from_utf8(late).unwrap(), expected);
    }

    #[test]
    fn first_via_value_ends_at_an_unquoted_comma() {
        assert_eq!(first_value_len(b"SIP/2.0/UDP a;branch=z9hG4bK1"), 29);
        assert_eq!(
            first_value_len(b"SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b"),
            29
        );
        assert_eq!(
            first_value_len(b"SIP/2.0/UDP a;x=\"p,q\", SIP/2.0/UDP b"),
            21
        );
    }

    /// RFC 3261 §18.2.1: the response carries the top Via as the server
    /// stamped it; the other values of that line and other lines stay.
    #[test]
    fn stamped_top_via_and_to_tag_are_spliced_in() {
        let req = parse(
            b"OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;rport;branch=z9hG4bK1, SIP/2.0/UDP c;branch=z9hG4bK3\r\n\
Via: SIP/2.0/UDP b;branch=z9hG4bK2\r\nMax-Forwards: 70\r\nTo: <sip:b@x>\r\nFrom: <sip:a@x>;tag=1\r\n\
Call-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        let crate::Message::Request(req) = req else {
            panic!("a request")
        };
        let builder = response_from_request(&req, 200, "OK")
            .top_via("SIP/2.0/UDP a;rport=4000;branch=z9hG4bK1;received=192.0.2.1")
            .to_tag("t1")
            .raw_header("Server", "x");
        let built = builder.build();
        let bytes = builder.finish();
        assert_eq!(built, bytes, "build and finish write the same bytes");
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP a;rport=4000;branch=z9hG4bK1;received=192.0.2.1, SIP/2.0/UDP c;branch=z9hG4bK3\r\n\
Via: SIP/2.0/UDP b;branch=z9hG4bK2\r\nTo: <sip:b@x>;tag=t1\r\nFrom: <sip:a@x>;tag=1\r\n\
Call-ID: c\r\nCSeq: 1 OPTIONS\r\nServer: x\r\nContent-Length: 0\r\n\r\n"
        );
    }
}
