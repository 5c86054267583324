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
#[derive(Debug, Clone)]
pub struct ResponseBuilder {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    to_index: Option<usize>,
    to_has_tag: bool,
    to_tag: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl ResponseBuilder {
    /// Starts a status line `SIP/2.0 status reason`.
    pub fn new(status: u16, reason: &str) -> Self {
        ResponseBuilder {
            status,
            reason: one_line(reason),
            headers: Vec::new(),
            to_index: None,
            to_has_tag: false,
            to_tag: None,
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
        if HeaderName::from_bytes(name.as_bytes()) == HeaderName::To && self.to_index.is_none() {
            self.to_index = Some(self.headers.len());
        }
        self.headers
            .push((one_line(name), one_line(value.as_ref())));
        self
    }

    /// Adds `;tag=tag` to the To header if it has no tag yet (RFC 3261 §8.2.6.2).
    pub fn to_tag(mut self, tag: &str) -> Self {
        self.to_tag = Some(one_line(tag));
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
        let mut out = Vec::with_capacity(256 + self.body.len());
        out.extend_from_slice(format!("SIP/2.0 {} {}\r\n", self.status, self.reason).as_bytes());
        let mut headers = self.headers.clone();
        if let (Some(i), Some(tag), false) = (self.to_index, &self.to_tag, self.to_has_tag) {
            if let Some((_, v)) = headers.get_mut(i) {
                v.push_str(";tag=");
                v.push_str(tag);
            }
        }
        write_headers(&mut out, &headers, &self.body, self.content_type.as_deref());
        out
    }

    /// Writes the response and checks it parses.
    pub fn build_checked(&self) -> Result<Vec<u8>, ParseError> {
        let out = self.build();
        parse(&out)?;
        Ok(out)
    }
}

/// Starts a response to `req` as RFC 3261 §8.2.6 says: every Via in order,
/// From, To, Call-ID and CSeq copied (and Timestamp for a 100, §8.2.6.1).
/// Add a To tag with [`ResponseBuilder::to_tag`] (needed for all but 100).
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
        let copy = match h.name {
            HeaderName::Via
            | HeaderName::From
            | HeaderName::To
            | HeaderName::CallId
            | HeaderName::CSeq => true,
            HeaderName::Timestamp => status == 100,
            _ => false,
        };
        if copy {
            b = b.header(h.name, h.value);
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
}
