//! The entry points: [`parse`] (split and validate, what a receiver runs)
//! and [`parse_raw`] (split only). The work is done in `split` (the raw
//! split and framing), `validate` (receiver checks) and `raw`.

use crate::headers::{HeaderStore, NONE};
use crate::limits::{Limits, Mode};
use crate::message::Message;
use crate::name::KNOWN;
use crate::raw::{split_raw, RawMessage};
use crate::split::split_message;
use crate::validate::check_message;
use crate::ParseError;

/// Parses one datagram with the default [`Limits`].
///
/// ```
/// let buf = b"OPTIONS sip:bob@example.com SIP/2.0\r\n\
/// Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\r\n\
/// Max-Forwards: 70\r\nTo: <sip:bob@example.com>\r\n\
/// From: Alice <sip:alice@example.com>;tag=1928301774\r\n\
/// Call-ID: a84b4c76e66710\r\nCSeq: 63104 OPTIONS\r\nContent-Length: 0\r\n\r\n";
/// let msg = sipkit_message::parse(buf).unwrap();
/// assert_eq!(msg.cseq().seq, 63104);
/// assert_eq!(msg.top_via().unwrap().branch(), Some("z9hG4bK776asdhds"));
/// ```
pub fn parse(buf: &[u8]) -> Result<Message<'_>, ParseError> {
    parse_with(buf, &Limits::default(), Mode::Datagram)
}

/// Parses one message with explicit limits and framing mode.
pub fn parse_with<'a>(
    buf: &'a [u8],
    limits: &Limits,
    mode: Mode,
) -> Result<Message<'a>, ParseError> {
    parse_inner(buf, limits, mode)
}

fn parse_inner<'a>(buf: &'a [u8], limits: &Limits, mode: Mode) -> Result<Message<'a>, ParseError> {
    let mut headers = HeaderStore::new();
    let mut first = [NONE; KNOWN];
    let (start, hend, body_start) = split_message(buf, limits, mode, &mut headers, &mut first)?;
    check_message(buf, start, headers, first, hend, body_start, limits, mode)
}

/// Splits one datagram into its start line, header lines and body, with the
/// default [`Limits`], checking only what framing needs: the start line
/// (method, Request-URI, SIP-Version, status code), the header-line syntax
/// and names, UTF-8, size limits, and one well-formed Content-Length that
/// fits the data. Header values are parsed when read, so a malformed one
/// shows up as an `Err` from its accessor; [`RawMessage::validate`] runs the
/// receiver checks of [`parse`] on the result.
///
/// This is the level of a capture indexer or a load balancer that only needs
/// a few headers, and the level at which other stacks' parsers work (they
/// check a header's value when it is first read).
///
/// ```
/// let buf = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
/// To: <sip:b@h>;tag=2\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: x\r\n\
/// CSeq: 1 INVITE\r\nContact: <sip:b@192.0.2.4>, bad<\r\nContent-Length: 0\r\n\r\n";
/// let raw = sipkit_message::parse_raw(buf).unwrap();
/// assert_eq!(raw.status(), Some(200));
/// assert_eq!(raw.call_id().unwrap(), "x");
/// // The second Contact is malformed: only reading it (or validating) says so.
/// assert!(raw.contacts().nth(1).unwrap().is_err());
/// assert!(raw.validate().is_err());
/// ```
pub fn parse_raw(buf: &[u8]) -> Result<RawMessage<'_>, ParseError> {
    parse_raw_with(buf, &Limits::default(), Mode::Datagram)
}

/// [`parse_raw`] with explicit limits and framing mode.
pub fn parse_raw_with<'a>(
    buf: &'a [u8],
    limits: &Limits,
    mode: Mode,
) -> Result<RawMessage<'a>, ParseError> {
    split_raw(buf, limits, mode)
}
