//! Requests and responses borrowing the input buffer (RFC 3261 §7): the
//! start line, the values checked while parsing, and serialization.

use crate::head::Head;
use crate::typed::{CSeq, NameAddr, Via};
use crate::uri::Uri;
use crate::ParseError;

/// A request method (RFC 3261 §7.1 and extensions). Methods are case-sensitive:
/// `invite` and `RE%47IST%45R` are extension methods (RFC 4475 §3.1.1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Method<'a> {
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Options,
    Info,
    Prack,
    Update,
    Subscribe,
    Notify,
    Refer,
    Message,
    Publish,
    /// Any other method, as written.
    Other(&'a str),
}

impl<'a> Method<'a> {
    /// Classifies a method token.
    pub fn from_token(s: &'a str) -> Method<'a> {
        match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "PRACK" => Method::Prack,
            "UPDATE" => Method::Update,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "PUBLISH" => Method::Publish,
            other => Method::Other(other),
        }
    }

    /// The method token.
    pub fn as_str(&self) -> &'a str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Prack => "PRACK",
            Method::Update => "UPDATE",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s,
        }
    }
}

impl std::fmt::Display for Method<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What requests and responses share: the [`Head`] (headers and body, to which
/// it dereferences) and the values checked while parsing (Call-ID, CSeq,
/// From, To, Max-Forwards, top Via). [`Request`], [`Response`] and [`Message`]
/// dereference to it.
#[derive(Debug, Clone)]
pub struct Parts<'a> {
    pub(crate) head: Head<'a>,
    pub(crate) call_id: &'a str,
    pub(crate) cseq: CSeq<'a>,
    pub(crate) from: NameAddr<'a>,
    pub(crate) to: NameAddr<'a>,
    pub(crate) max_forwards: Option<u8>,
    pub(crate) top_via: Via<'a>,
}

impl<'a> std::ops::Deref for Parts<'a> {
    type Target = Head<'a>;
    fn deref(&self) -> &Head<'a> {
        &self.head
    }
}

impl<'a> Parts<'a> {
    /// The Call-ID (RFC 3261 §20.8).
    pub fn call_id(&self) -> &'a str {
        self.call_id
    }

    /// The CSeq (RFC 3261 §20.16).
    pub fn cseq(&self) -> CSeq<'a> {
        self.cseq
    }

    /// The From header (RFC 3261 §20.20).
    pub fn from(&self) -> &NameAddr<'a> {
        &self.from
    }

    /// The To header (RFC 3261 §20.39).
    pub fn to(&self) -> &NameAddr<'a> {
        &self.to
    }

    /// Max-Forwards (RFC 3261 §20.22), `None` if absent (RFC 2543 peers).
    pub fn max_forwards(&self) -> Option<u8> {
        self.max_forwards
    }

    /// The topmost Via, which a response is routed by (RFC 3261 §18.2.2);
    /// every message has one (checked when parsed).
    /// Kept as a `Result` for callers written against the lazy form; it is
    /// always `Ok` for a parsed message.
    pub fn top_via(&self) -> Result<Via<'a>, ParseError> {
        Ok(self.top_via)
    }
}

/// A SIP request (RFC 3261 §7.1).
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub(crate) method: &'a str,
    pub(crate) uri: Uri<'a>,
    pub(crate) parts: Parts<'a>,
}

impl<'a> Request<'a> {
    /// The method.
    pub fn method(&self) -> Method<'a> {
        Method::from_token(self.method)
    }
    /// The method token as written.
    pub fn method_str(&self) -> &'a str {
        self.method
    }
    /// The Request-URI.
    pub fn uri(&self) -> &Uri<'a> {
        &self.uri
    }
    /// Serializes the request; `parse` of the output yields an equal request.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.uri.as_str().as_bytes());
        out.extend_from_slice(b" SIP/2.0\r\n");
        self.parts.write_rest(out);
    }
}

impl<'a> std::ops::Deref for Request<'a> {
    type Target = Parts<'a>;
    fn deref(&self) -> &Parts<'a> {
        &self.parts
    }
}

impl PartialEq for Request<'_> {
    /// Structural equality: method, Request-URI text, headers as written, body.
    fn eq(&self, o: &Self) -> bool {
        self.method == o.method
            && self.uri.as_str() == o.uri.as_str()
            && self.parts.same_parts(&o.parts.head)
    }
}

/// A SIP response (RFC 3261 §7.2).
#[derive(Debug, Clone)]
pub struct Response<'a> {
    pub(crate) status: u16,
    pub(crate) reason: &'a str,
    pub(crate) parts: Parts<'a>,
}

impl<'a> Response<'a> {
    /// The status code, 100..=699.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The reason phrase as written (may be empty; match on the code, RFC 4475 §3.1.1.12).
    pub fn reason(&self) -> &'a str {
        self.reason
    }
    /// Serializes the response; `parse` of the output yields an equal response.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"SIP/2.0 ");
        // The status is 100..=699 (checked when parsed or built): three digits.
        let st = self.status;
        out.extend_from_slice(&[
            b'0' + (st / 100 % 10) as u8,
            b'0' + (st / 10 % 10) as u8,
            b'0' + (st % 10) as u8,
        ]);
        out.push(b' ');
        out.extend_from_slice(self.reason.as_bytes());
        out.extend_from_slice(b"\r\n");
        self.parts.write_rest(out);
    }
}

impl<'a> std::ops::Deref for Response<'a> {
    type Target = Parts<'a>;
    fn deref(&self) -> &Parts<'a> {
        &self.parts
    }
}

impl PartialEq for Response<'_> {
    /// Structural equality: status, reason, headers as written, body.
    fn eq(&self, o: &Self) -> bool {
        self.status == o.status && self.reason == o.reason && self.parts.same_parts(&o.parts.head)
    }
}

/// A parsed SIP message borrowing its buffer.
#[derive(Debug, Clone, PartialEq)]
pub enum Message<'a> {
    /// A request.
    Request(Request<'a>),
    /// A response.
    Response(Response<'a>),
}

impl<'a> Message<'a> {
    /// The request, if this is one.
    pub fn as_request(&self) -> Option<&Request<'a>> {
        match self {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        }
    }
    /// The response, if this is one.
    pub fn as_response(&self) -> Option<&Response<'a>> {
        match self {
            Message::Response(r) => Some(r),
            Message::Request(_) => None,
        }
    }
    /// True for a request.
    pub fn is_request(&self) -> bool {
        matches!(self, Message::Request(_))
    }
    /// Serializes the message (RFC 3261 §7 wire form).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Message::Request(r) => r.write_to(out),
            Message::Response(r) => r.write_to(out),
        }
    }
    /// The serialized message as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.buf.len());
        self.write_to(&mut v);
        v
    }
}

impl<'a> std::ops::Deref for Message<'a> {
    type Target = Parts<'a>;
    fn deref(&self) -> &Parts<'a> {
        match self {
            Message::Request(r) => &r.parts,
            Message::Response(r) => &r.parts,
        }
    }
}
