//! The receiver checks of RFC 3261 over a split message: the syntax of
//! every header the stack relies on, mandatory and single headers, the CSeq
//! method (§8.1.1, §8.2, §16.3) and body framing (§18.3); builds the
//! [`Message`].

use crate::head::Head;
use crate::headers::{offset_in, Header, HeaderStore};
use crate::limits::{Limits, Mode};
use crate::message::{Message, Parts, Request, Response};
use crate::name::{HeaderName, KNOWN};
use crate::scan;
use crate::split::{duplicate, frame_body, Start};
use crate::typed::{self, CSeq, VErr};
use crate::{ErrorKind, ParseError};

/// The receiver checks of RFC 3261 (§8.1.1 mandatory headers, single
/// headers once, CSeq method, the syntax of every header the stack reads)
/// and body framing (§18.3) over a split message.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn check_message<'a>(
    buf: &'a [u8],
    start: Start<'a>,
    headers: HeaderStore<'a>,
    first: [u16; KNOWN],
    hend: usize,
    body_start: usize,
    limits: &Limits,
    mode: Mode,
) -> Result<Message<'a>, ParseError> {
    let sk = start.kind();
    let err = |h: &Header<'a>, e: VErr| -> ParseError {
        ParseError::at(buf, offset_in(buf, h.value) + e.at, e.kind)
            .with_header(h.name)
            .with_start(sk)
    };

    // Receiver validation, in header order so the first problem is reported.
    let hs = &headers;
    let mut from = None;
    let mut to = None;
    let mut call_id = None;
    let mut cseq: Option<CSeq<'a>> = None;
    let mut max_forwards = None;
    let mut content_length = None;
    let mut top_via = None;
    for (idx, h) in hs.iter().enumerate() {
        let h = &h;
        if h.name == HeaderName::Other {
            continue;
        }
        if h.name.is_single() && usize::from(first[h.name as usize]) != idx {
            return Err(duplicate(buf, h, sk));
        }
        let v = h.value;
        match h.name {
            HeaderName::Via => {
                let via = check_list(v, typed::via_at).map_err(|e| err(h, e))?;
                top_via.get_or_insert(via);
            }
            HeaderName::Contact => {
                check_all(v, typed::contact_at).map_err(|e| err(h, e))?;
            }
            HeaderName::Route | HeaderName::RecordRoute => {
                check_all(v, typed::route_at).map_err(|e| err(h, e))?;
            }
            HeaderName::From => from = Some(typed::from_to(v).map_err(|e| err(h, e))?),
            HeaderName::To => to = Some(typed::from_to(v).map_err(|e| err(h, e))?),
            HeaderName::CallId => call_id = Some(typed::call_id(v).map_err(|e| err(h, e))?),
            HeaderName::CSeq => cseq = Some(typed::cseq(v).map_err(|e| err(h, e))?),
            HeaderName::MaxForwards => {
                max_forwards = Some(typed::number(v, 255).map_err(|e| err(h, e))? as u8)
            }
            HeaderName::ContentLength => {
                content_length = Some(typed::content_length(v).map_err(|e| err(h, e))?)
            }
            HeaderName::Expires | HeaderName::MinExpires => {
                typed::number(v, u64::from(u32::MAX)).map_err(|e| err(h, e))?;
            }
            HeaderName::ContentType => {
                typed::single(v, typed::media_type_at).map_err(|e| err(h, e))?;
            }
            HeaderName::Date => {
                typed::date(v).map_err(|e| err(h, e))?;
            }
            _ => {}
        }
    }

    // Mandatory headers (RFC 3261 §8.1.1). Max-Forwards may be absent only in
    // a request from an RFC 2543 element, recognised by a top Via without the
    // magic cookie (RFC 3261 §8.1.1.7, RFC 4475 §3.4.1).
    let missing =
        |n: HeaderName| ParseError::at(buf, hend, ErrorKind::MissingHeader(n)).with_start(sk);
    let to = to.ok_or_else(|| missing(HeaderName::To))?;
    let from = from.ok_or_else(|| missing(HeaderName::From))?;
    let call_id = call_id.ok_or_else(|| missing(HeaderName::CallId))?;
    let cseq = cseq.ok_or_else(|| missing(HeaderName::CSeq))?;
    let Some(top_via) = top_via else {
        return Err(missing(HeaderName::Via));
    };
    if let Start::Request { method, .. } = &start {
        if max_forwards.is_none() {
            let rfc3261 = top_via.is_rfc3261_branch();
            if rfc3261 {
                return Err(missing(HeaderName::MaxForwards));
            }
        }
        if cseq.method != *method {
            let at = offset_in(buf, cseq.method);
            return Err(ParseError::at(buf, at, ErrorKind::CSeqMethodMismatch)
                .with_header(HeaderName::CSeq)
                .with_start(sk));
        }
    }

    let body = frame_body(
        buf,
        hs,
        &first,
        content_length,
        hend,
        body_start,
        limits,
        mode,
        sk,
    )?;

    // Written out in each arm so the parts are built in the message's place
    // rather than moved into it.
    macro_rules! parts {
        () => {
            Parts {
                head: Head {
                    buf,
                    headers,
                    first,
                    body,
                    content_length,
                    start: sk,
                    max_nesting: limits.max_nesting,
                    head_end: hend,
                },
                call_id,
                cseq,
                from,
                to,
                max_forwards,
                top_via,
            }
        };
    }
    match start {
        Start::Request { method, uri } => Ok(Message::Request(Request {
            method,
            uri,
            parts: parts!(),
        })),
        Start::Response { status, reason } => Ok(Message::Response(Response {
            status,
            reason,
            parts: parts!(),
        })),
    }
}

/// Checks every value of a list header, keeping none (a value is a few
/// hundred bytes: not moving it matters on this path).
#[inline(always)]
fn check_all<'a, T>(
    v: &'a str,
    f: fn(&'a str, usize) -> typed::VResult<(T, usize)>,
) -> Result<(), VErr> {
    let e = f(v, first_value(v)?)?.1;
    check_rest(v, e, f)
}

/// Checks every value of a list header; returns the first one.
fn check_list<'a, T>(
    v: &'a str,
    f: fn(&'a str, usize) -> typed::VResult<(T, usize)>,
) -> Result<T, VErr> {
    let (first, e) = f(v, first_value(v)?)?;
    check_rest(v, e, f)?;
    Ok(first)
}

/// Where the first value of a list header starts; an empty list is an error.
#[inline(always)]
fn first_value(v: &str) -> Result<usize, VErr> {
    let b = v.as_bytes();
    let i = scan::skip_lws(b, 0);
    if i >= b.len() {
        return Err((i, "a value").into());
    }
    Ok(i)
}

/// Checks the values after the one that ended at `e`.
#[inline(always)]
fn check_rest<'a, T>(
    v: &'a str,
    mut e: usize,
    f: fn(&'a str, usize) -> typed::VResult<(T, usize)>,
) -> Result<(), VErr> {
    while let Some(n) = typed::list_next(v.as_bytes(), e)? {
        e = f(v, n)?.1;
    }
    Ok(())
}
