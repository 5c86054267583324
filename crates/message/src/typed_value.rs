//! [`TypedValue`]: the typed reading of any header value, chosen by the
//! header's name, for tools that show every header.

use crate::limits::Limits;
use crate::name::HeaderName;
use crate::typed::{
    self, content_length, Auth, CSeq, Contact, Event, MediaType, NameAddr, RetryAfter,
    SubscriptionState, VResult, Via, Warning,
};

/// The typed interpretation of one header value, for tools that show every
/// header (see [`Head::typed_values`](crate::Head::typed_values)).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum TypedValue<'a> {
    /// Via.
    Via(Via<'a>),
    /// From, To, Route, Record-Route, Refer-To, Referred-By, Reply-To, Path, P-Asserted-Identity.
    NameAddr(NameAddr<'a>),
    /// Contact.
    Contact(Contact<'a>),
    /// CSeq.
    CSeq(CSeq<'a>),
    /// Call-ID.
    CallId(&'a str),
    /// Max-Forwards, Content-Length, Expires, Min-Expires, RSeq.
    Number(u64),
    /// Content-Type, Accept.
    MediaType(MediaType<'a>),
    /// Allow, Supported, Require, Proxy-Require, Unsupported, Allow-Events, Content-Encoding, Accept-Encoding.
    Token(&'a str),
    /// WWW-Authenticate, Proxy-Authenticate, Authorization, Proxy-Authorization.
    Auth(Auth<'a>),
    /// Event.
    Event(Event<'a>),
    /// Subscription-State.
    SubscriptionState(SubscriptionState<'a>),
    /// Retry-After.
    RetryAfter(RetryAfter<'a>),
    /// Warning.
    Warning(Warning<'a>),
    /// Date (checked to be an RFC 1123 date in GMT).
    Date(&'a str),
    /// A header sipkit does not interpret.
    Raw(&'a str),
}

pub(crate) fn whole<'a, T>(
    s: &'a str,
    i: usize,
    f: impl Fn(&'a str) -> VResult<T>,
) -> VResult<(T, usize)> {
    let _ = i;
    Ok((f(s)?, s.len()))
}

fn tv_via(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    typed::via_at(s, i).map(|(v, e)| (TypedValue::Via(v), e))
}
fn tv_route(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    typed::route_at(s, i).map(|(v, e)| (TypedValue::NameAddr(v), e))
}
fn tv_name_addr(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, |s| {
        typed::single(s, |s, i| typed::name_addr_at(s, i, false))
    })
    .map(|(v, e)| (TypedValue::NameAddr(v), e))
}
fn tv_name_addr_list(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    typed::name_addr_at(s, i, false).map(|(v, e)| (TypedValue::NameAddr(v), e))
}
fn tv_contact(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    typed::contact_at(s, i).map(|(v, e)| (TypedValue::Contact(v), e))
}
fn tv_cseq(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, typed::cseq).map(|(v, e)| (TypedValue::CSeq(v), e))
}
fn tv_call_id(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, typed::call_id).map(|(v, e)| (TypedValue::CallId(v), e))
}
fn tv_u8(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, |s| typed::number(s, 255)).map(|(v, e)| (TypedValue::Number(v), e))
}
fn tv_u32(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, |s| typed::number(s, u64::from(u32::MAX))).map(|(v, e)| (TypedValue::Number(v), e))
}
fn tv_content_length(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, content_length).map(|(v, e)| (TypedValue::Number(v as u64), e))
}
fn tv_media(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    typed::media_type_at(s, i).map(|(v, e)| (TypedValue::MediaType(v), e))
}
fn tv_token(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    typed::token_at(s, i).map(|(v, e)| (TypedValue::Token(v), e))
}
fn tv_auth(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, typed::auth).map(|(v, e)| (TypedValue::Auth(v), e))
}
fn tv_event(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, typed::event).map(|(v, e)| (TypedValue::Event(v), e))
}
fn tv_substate(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, typed::subscription_state).map(|(v, e)| (TypedValue::SubscriptionState(v), e))
}
fn tv_retry_after(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, |s| typed::retry_after(s, Limits::DEFAULT_NESTING))
        .map(|(v, e)| (TypedValue::RetryAfter(v), e))
}
fn tv_warning(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    typed::warning_at(s, i).map(|(v, e)| (TypedValue::Warning(v), e))
}
fn tv_date(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, typed::date).map(|(v, e)| (TypedValue::Date(v), e))
}
pub(crate) fn tv_raw(s: &str, _i: usize) -> VResult<(TypedValue<'_>, usize)> {
    Ok((TypedValue::Raw(s), s.len()))
}

/// The per-name parser behind [`Head::typed_values`]; `None` for uninterpreted names.
pub(crate) type F<'a> = fn(&'a str, usize) -> VResult<(TypedValue<'a>, usize)>;

pub(crate) fn typed_fn<'a>(name: HeaderName) -> Option<F<'a>> {
    use HeaderName as H;
    let f: F<'a> = match name {
        H::Via => tv_via as F<'a>,
        H::Route | H::RecordRoute | H::Path => tv_route as F<'a>,
        H::From | H::To | H::ReferTo | H::ReferredBy | H::ReplyTo => tv_name_addr as F<'a>,
        H::PAssertedIdentity => tv_name_addr_list as F<'a>,
        H::Contact => tv_contact as F<'a>,
        H::CSeq => tv_cseq as F<'a>,
        H::CallId => tv_call_id as F<'a>,
        H::MaxForwards => tv_u8 as F<'a>,
        H::Expires | H::MinExpires | H::RSeq => tv_u32 as F<'a>,
        H::ContentLength => tv_content_length as F<'a>,
        H::ContentType | H::Accept => tv_media as F<'a>,
        H::Allow
        | H::Supported
        | H::Require
        | H::ProxyRequire
        | H::Unsupported
        | H::AllowEvents
        | H::ContentEncoding
        | H::AcceptEncoding => tv_token as F<'a>,
        H::WwwAuthenticate | H::ProxyAuthenticate | H::Authorization | H::ProxyAuthorization => {
            tv_auth as F<'a>
        }
        H::Event => tv_event as F<'a>,
        H::SubscriptionState => tv_substate as F<'a>,
        H::RetryAfter => tv_retry_after as F<'a>,
        H::Warning => tv_warning as F<'a>,
        H::Date => tv_date as F<'a>,
        _ => return None,
    };
    Some(f)
}
