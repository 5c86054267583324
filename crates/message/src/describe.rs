//! One description of a parsed message — its start line, every header with
//! its typed reading, its body — for tools that show a message: `sipkit
//! parse` renders it as text and as JSON, the capture analyzer shows it.
//!
//! Each typed value is described in one place, [`describe_value`], by an
//! exhaustive match over [`TypedValue`]: a new variant does not compile until
//! it is described, and every renderer then shows it. A description holds
//! each value twice, for people (a line of text) and for programs (a
//! [`Node`] tree that maps onto JSON); both views are built side by side in
//! the same match arm. Text is as written in the message: a renderer that
//! prints to a terminal escapes control characters.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::error::{wire_reply, Disposition, ParseError, Position};
use crate::message::Message;
use crate::name::HeaderName;
use crate::params::Params;
use crate::sipfrag::Fragment;
use crate::split::StartLine;
use crate::typed::{Contact, MediaType, NameAddr};
use crate::typed_value::TypedValue;
use crate::uri::{Host, Uri};
use crate::ErrorKind;

/// Data for programs: a small tree with the shapes of JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    /// No value.
    Null,
    /// A flag.
    Bool(bool),
    /// A whole number.
    Int(u64),
    /// A fraction (a Contact's `q`).
    Float(f64),
    /// Text.
    Str(Cow<'a, str>),
    /// Values in order.
    List(Vec<Node<'a>>),
    /// Named fields in order; a later field of the same name replaces an
    /// earlier one (as repeated parameters do).
    Map(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl<'a> Node<'a> {
    fn str(s: &'a str) -> Node<'a> {
        Node::Str(Cow::Borrowed(s))
    }
    fn string(s: String) -> Node<'a> {
        Node::Str(Cow::Owned(s))
    }
    fn opt_str(s: Option<&'a str>) -> Node<'a> {
        s.map_or(Node::Null, Node::str)
    }
    fn opt_int(n: Option<impl Into<u64>>) -> Node<'a> {
        n.map_or(Node::Null, |n| Node::Int(n.into()))
    }
    fn map<const N: usize>(fields: [(&'static str, Node<'a>); N]) -> Node<'a> {
        Node::Map(
            fields
                .into_iter()
                .map(|(k, v)| (Cow::Borrowed(k), v))
                .collect(),
        )
    }
    /// Adds or replaces field `key` of a map (nothing for other nodes).
    fn set(&mut self, key: &'static str, value: Node<'a>) {
        if let Node::Map(fields) = self {
            match fields.iter_mut().find(|(k, _)| k == key) {
                Some(f) => f.1 = value,
                None => fields.push((Cow::Borrowed(key), value)),
            }
        }
    }
}

/// One typed header value, for people and for programs.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueDescription<'a> {
    /// One line: `transport UDP, sent-by h:5060, branch z9hG4bK1`.
    pub text: String,
    /// Its fields: `{"transport": "UDP", "host": {…}, "port": 5060, …}`.
    pub data: Node<'a>,
}

/// Describes one typed header value (see the module docs).
pub fn describe_value<'a>(v: &TypedValue<'a>) -> ValueDescription<'a> {
    let (text, data) = match v {
        TypedValue::Via(v) => {
            let mut parts = vec![
                format!("transport {}", v.transport),
                format!("sent-by {}", host_port(&v.host, v.port)),
            ];
            if let Some(b) = v.branch() {
                let old = if v.is_rfc3261_branch() {
                    ""
                } else {
                    " (RFC 2543)"
                };
                parts.push(format!("branch {b}{old}"));
            }
            if let Some(r) = v.received() {
                parts.push(format!("received {r}"));
            }
            match v.rport() {
                Some(Some(p)) => parts.push(format!("rport {p}")),
                Some(None) => parts.push("rport (requested)".to_string()),
                None => {}
            }
            if let Some(m) = v.maddr() {
                parts.push(format!("maddr {m}"));
            }
            if let Some(t) = v.ttl() {
                parts.push(format!("ttl {t}"));
            }
            parts.extend(params_text(
                &v.params,
                &["branch", "received", "rport", "maddr", "ttl"],
            ));
            let rport = match v.rport() {
                None => Node::Null,
                Some(None) => Node::Bool(true),
                Some(Some(p)) => Node::Int(p.into()),
            };
            let data = Node::map([
                ("protocol", Node::str(v.protocol)),
                ("version", Node::str(v.version)),
                ("transport", Node::str(v.transport)),
                ("host", host_data(&v.host)),
                ("port", Node::opt_int(v.port)),
                ("branch", Node::opt_str(v.branch())),
                ("received", Node::opt_str(v.received())),
                ("rport", rport),
                ("maddr", Node::opt_str(v.maddr())),
                ("ttl", Node::opt_int(v.ttl())),
                ("params", params_data(&v.params)),
            ]);
            (parts.join(", "), data)
        }
        TypedValue::NameAddr(a) => (name_addr_text(a, &[]), name_addr_data(a)),
        TypedValue::Contact(Contact::Wildcard) => (
            "* (all bindings)".to_string(),
            Node::map([("wildcard", Node::Bool(true))]),
        ),
        TypedValue::Contact(c @ Contact::Address(a)) => {
            let mut s = name_addr_text(a, &["q", "expires"]);
            if let Some(q) = c.q_millis() {
                let _ = write!(s, ", q {}.{:03}", q / 1000, q % 1000);
            }
            if let Some(e) = c.expires() {
                let _ = write!(s, ", expires {e}s");
            }
            let mut data = name_addr_data(a);
            let q = c.q_millis().map(|q| f64::from(q) / 1000.0);
            data.set("q", q.map_or(Node::Null, Node::Float));
            data.set("expires", Node::opt_int(c.expires()));
            (s, data)
        }
        TypedValue::CSeq(c) => (
            format!("seq {}, method {}", c.seq, c.method),
            Node::map([
                ("seq", Node::Int(c.seq.into())),
                ("method", Node::str(c.method)),
            ]),
        ),
        TypedValue::CallId(c) => (format!("call-id {c}"), Node::str(c)),
        TypedValue::Number(n) => (n.to_string(), Node::Int(*n)),
        TypedValue::MediaType(m) => (media_type_text(m), media_type_data(m)),
        TypedValue::Token(t) => (t.to_string(), Node::str(t)),
        TypedValue::Auth(a) => {
            let ps: Vec<String> = a
                .params()
                .map(|p| format!("{}={}", p.name, p.unquoted().unwrap_or("")))
                .collect();
            let ps = if ps.is_empty() {
                "no params".to_string()
            } else {
                ps.join(", ")
            };
            let params = Node::Map(
                a.params()
                    .map(|p| (Cow::Borrowed(p.name), Node::opt_str(p.unquoted())))
                    .collect(),
            );
            (
                format!("scheme {}, {ps}", a.scheme),
                Node::map([("scheme", Node::str(a.scheme)), ("params", params)]),
            )
        }
        TypedValue::Event(e) => {
            let mut s = format!("package {}", e.package);
            if let Some(id) = e.id() {
                let _ = write!(s, ", id {id}");
            }
            let data = Node::map([
                ("package", Node::str(e.package)),
                ("id", Node::opt_str(e.id())),
                ("params", params_data(&e.params)),
            ]);
            (s, data)
        }
        TypedValue::SubscriptionState(s) => {
            let mut t = format!("state {}", s.state);
            if let Some(r) = s.reason() {
                let _ = write!(t, ", reason {r}");
            }
            if let Some(e) = s.expires() {
                let _ = write!(t, ", expires {e}s");
            }
            if let Some(r) = s.retry_after() {
                let _ = write!(t, ", retry-after {r}s");
            }
            let data = Node::map([
                ("state", Node::str(s.state)),
                ("reason", Node::opt_str(s.reason())),
                ("expires", Node::opt_int(s.expires())),
                ("retry_after", Node::opt_int(s.retry_after())),
                ("params", params_data(&s.params)),
            ]);
            (t, data)
        }
        TypedValue::RetryAfter(r) => {
            let mut s = format!("{}s", r.seconds);
            if let Some(c) = r.comment {
                let _ = write!(s, ", comment {c}");
            }
            if let Some(p) = params_text(&r.params, &[]) {
                let _ = write!(s, ", {p}");
            }
            let data = Node::map([
                ("seconds", Node::Int(r.seconds.into())),
                ("comment", Node::opt_str(r.comment)),
                ("params", params_data(&r.params)),
            ]);
            (s, data)
        }
        TypedValue::Warning(w) => (
            format!("code {}, agent {}, text {}", w.code, w.agent, w.text),
            Node::map([
                ("code", Node::Int(w.code.into())),
                ("agent", Node::str(w.agent)),
                ("text", Node::str(crate::params::unquote(w.text))),
            ]),
        ),
        TypedValue::Date(d) => (format!("date {d}"), Node::str(d)),
        TypedValue::Raw(r) => (r.to_string(), Node::str(r)),
    };
    ValueDescription { text, data }
}

/// Describes a URI: `scheme sip, user bob, host h:5060, params transport=tcp`.
pub fn describe_uri<'a>(u: &Uri<'a>) -> ValueDescription<'a> {
    ValueDescription {
        text: uri_text(u),
        data: uri_data(u),
    }
}

fn host_port(h: &Host<'_>, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("{h}:{p}"),
        None => h.to_string(),
    }
}

/// `params a=b;c` without the parameters in `skip` (shown on their own);
/// `None` when nothing is left.
fn params_text(p: &Params<'_>, skip: &[&str]) -> Option<String> {
    let v: Vec<String> = p
        .iter()
        .filter(|q| !skip.iter().any(|s| q.name.eq_ignore_ascii_case(s)))
        .map(|q| match q.value {
            Some(v) => format!("{}={v}", q.name),
            None => q.name.to_string(),
        })
        .collect();
    (!v.is_empty()).then(|| format!("params {}", v.join(";")))
}

fn params_data<'a>(p: &Params<'a>) -> Node<'a> {
    Node::Map(
        p.iter()
            .map(|q| (Cow::Borrowed(q.name), Node::opt_str(q.value)))
            .collect(),
    )
}

fn host_data<'a>(h: &Host<'a>) -> Node<'a> {
    match h {
        Host::Domain(d) => Node::map([("type", Node::str("domain")), ("name", Node::str(d))]),
        Host::V4(a) => Node::map([
            ("type", Node::str("ipv4")),
            ("address", Node::string(a.to_string())),
        ]),
        Host::V6(a) => Node::map([
            ("type", Node::str("ipv6")),
            ("address", Node::string(a.to_string())),
        ]),
    }
}

/// A URI other than sip, sips and tel is kept opaque.
fn is_opaque(u: &Uri<'_>) -> bool {
    !u.is_sip() && u.scheme.as_str() != "tel"
}

fn uri_text(u: &Uri<'_>) -> String {
    let mut parts = vec![format!("scheme {}", u.scheme.as_str())];
    if is_opaque(u) {
        parts.push(format!("opaque {}", u.opaque()));
        return parts.join(", ");
    }
    if let Some(user) = u.user {
        let what = if u.is_sip() { "user" } else { "number" };
        parts.push(format!("{what} {user}"));
    }
    if u.password.is_some() {
        parts.push("password (set)".to_string());
    }
    if let Some(h) = &u.host {
        parts.push(format!("host {}", host_port(h, u.port)));
    }
    parts.extend(params_text(&u.params, &[]));
    if !u.headers.is_empty() {
        parts.push(format!("headers {}", u.headers));
    }
    parts.join(", ")
}

fn uri_data<'a>(u: &Uri<'a>) -> Node<'a> {
    let mut o = Node::map([
        ("uri", Node::str(u.as_str())),
        ("scheme", Node::string(u.scheme.as_str().to_string())),
    ]);
    if is_opaque(u) {
        o.set("opaque", Node::str(u.opaque()));
        return o;
    }
    o.set("user", Node::opt_str(u.user));
    if let Some(h) = &u.host {
        o.set("host", host_data(h));
    }
    o.set("port", Node::opt_int(u.port));
    o.set("params", params_data(&u.params));
    if !u.headers.is_empty() {
        let fields = u
            .header_fields()
            .map(|(n, v)| Node::List(vec![Node::str(n), Node::str(v)]))
            .collect();
        o.set("headers", Node::List(fields));
    }
    o
}

fn name_addr_text(a: &NameAddr<'_>, skip: &[&str]) -> String {
    let mut parts = Vec::new();
    if let Some(d) = a.display {
        parts.push(format!("display {d}"));
    }
    parts.push(format!("uri {} ({})", a.uri.as_str(), uri_text(&a.uri)));
    if let Some(t) = a.tag() {
        parts.push(format!("tag {t}"));
    }
    let mut skip = skip.to_vec();
    skip.push("tag");
    parts.extend(params_text(&a.params, &skip));
    parts.join(", ")
}

fn name_addr_data<'a>(a: &NameAddr<'a>) -> Node<'a> {
    Node::map([
        ("display", Node::opt_str(a.display_name())),
        ("uri", uri_data(&a.uri)),
        ("bracketed", Node::Bool(a.bracketed)),
        ("tag", Node::opt_str(a.tag())),
        ("params", params_data(&a.params)),
    ])
}

fn media_type_text(m: &MediaType<'_>) -> String {
    let mut s = m.to_string();
    if let Some(p) = params_text(&m.params, &[]) {
        let _ = write!(s, ", {p}");
    }
    s
}

fn media_type_data<'a>(m: &MediaType<'a>) -> Node<'a> {
    Node::map([
        ("type", Node::str(m.mtype)),
        ("subtype", Node::str(m.subtype)),
        ("params", params_data(&m.params)),
    ])
}

/// A parsed message described for people and for programs.
#[derive(Debug, Clone, PartialEq)]
pub struct Description<'a> {
    /// Where the message starts in what it was read from
    /// ([`Position::START`] for a datagram, [`Frame::at`](crate::Frame::at)
    /// for a frame of a stream); every error here is positioned there.
    pub at: Position,
    /// The start line.
    pub start: StartDescription<'a>,
    /// Every header line, in order.
    pub headers: Vec<HeaderDescription<'a>>,
    /// The body.
    pub body: BodyDescription,
}

/// The start line of a described message.
#[derive(Debug, Clone, PartialEq)]
pub enum StartDescription<'a> {
    /// A Request-Line.
    Request {
        /// The method as written.
        method: &'a str,
        /// The Request-URI as written.
        uri: &'a str,
        /// The Request-URI's parts.
        parts: ValueDescription<'a>,
    },
    /// A Status-Line.
    Response {
        /// The status code.
        status: u16,
        /// The reason phrase as written.
        reason: &'a str,
    },
}

/// One header line of a described message.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderDescription<'a> {
    /// The name (compact forms resolved; `Other` for one sipkit does not know).
    pub name: HeaderName,
    /// The name as written.
    pub raw_name: &'a str,
    /// The value with folds and runs of whitespace made one space.
    pub value: String,
    /// Its typed values, for a header sipkit interprets; empty otherwise.
    pub values: Vec<ValueDescription<'a>>,
    /// The value that failed its grammar, if one did (values after it are
    /// not read).
    pub error: Option<ErrorDescription>,
}

impl HeaderDescription<'_> {
    /// The name to show: the full name of a known header, else as written.
    pub fn display_name(&self) -> &str {
        match self.name {
            HeaderName::Other => self.raw_name,
            n => n.as_str(),
        }
    }
}

/// The body of a described message.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyDescription {
    /// Its length in bytes.
    pub length: usize,
    /// Content-Type, if present and well-formed (`application/sdp`).
    pub content_type: Option<String>,
    /// The `message/sipfrag` body (RFC 3420), when Content-Type says so.
    pub sipfrag: Option<Result<FragmentDescription, ErrorDescription>>,
}

/// A `message/sipfrag` body (RFC 3420), as NOTIFY carries after REFER.
#[derive(Debug, Clone, PartialEq)]
pub struct FragmentDescription {
    /// Its start line (`SIP/2.0 200 OK`), or `no start line, N headers`.
    pub start: String,
    /// The status code of a Status-Line.
    pub status: Option<u16>,
    /// The number of its header lines.
    pub headers: usize,
}

/// An error described: where, what, and what a server does about it.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorDescription {
    /// The error, positioned in the whole input.
    pub error: ParseError,
    /// What is wrong, naming the header: `invalid Max-Forwards header: …`.
    pub what: String,
    /// The reply a receiver of the message sends ([`wire_reply`]).
    pub reply: Disposition,
}

impl ErrorDescription {
    /// Describes `e`, found in a message (or frame, or body) that starts at
    /// `origin` of the input; the reply is the one its receiver sends.
    pub fn new(e: ParseError, origin: Position) -> Self {
        ErrorDescription {
            what: error_what(&e),
            reply: wire_reply(&e),
            error: e.located_at(origin),
        }
    }

    /// The error for programs: kind, message, offset, line, column, header,
    /// reply (`null` when the message is dropped).
    pub fn data(&self) -> Node<'static> {
        let e = &self.error;
        let reply = match &self.reply {
            Disposition::Reply(r) => Node::map([
                ("status", Node::Int(r.status.into())),
                ("reason", Node::str(r.reason)),
                ("warning", Node::string(r.warn_text.clone())),
            ]),
            Disposition::Drop => Node::Null,
        };
        Node::map([
            ("kind", Node::str("error")),
            ("message", Node::string(self.what.clone())),
            ("offset", Node::Int(e.offset as u64)),
            ("line", Node::Int(e.line.into())),
            ("column", Node::Int(e.column.into())),
            (
                "header",
                e.header.map_or(Node::Null, |h| Node::string(h.to_string())),
            ),
            ("reply", reply),
        ])
    }
}

/// What is wrong, naming the header whose value is wrong.
fn error_what(e: &ParseError) -> String {
    match e.header {
        Some(h)
            if !matches!(
                e.kind,
                ErrorKind::MissingHeader(_) | ErrorKind::DuplicateHeader(_)
            ) =>
        {
            format!("invalid {h} header: {}", e.kind)
        }
        _ => e.kind.to_string(),
    }
}

/// Describes a parsed message that starts at `at` of its input: each
/// header with its typed values ([`describe_value`]) or the error its value
/// has, the body and a sipfrag body. Reads every header value: the
/// description of a message [`parse`](crate::parse) accepted still shows
/// values that only fail when read (Warning, Event, Retry-After, …).
pub fn describe<'a>(m: &Message<'a>, at: Position) -> Description<'a> {
    let start = match m {
        Message::Request(r) => StartDescription::Request {
            method: r.method_str(),
            uri: r.uri().as_str(),
            parts: describe_uri(r.uri()),
        },
        Message::Response(r) => StartDescription::Response {
            status: r.status(),
            reason: r.reason(),
        },
    };
    let headers = m
        .headers()
        .enumerate()
        .map(|(i, h)| {
            let mut values = Vec::new();
            let mut error = None;
            for v in m.typed_values(i) {
                match v {
                    Ok(TypedValue::Raw(_)) => {}
                    Ok(v) => values.push(describe_value(&v)),
                    Err(e) => error = Some(ErrorDescription::new(e, at)),
                }
            }
            HeaderDescription {
                name: h.name,
                raw_name: h.raw_name,
                value: h.value_unfolded(),
                values,
                error,
            }
        })
        .collect();
    let src = m.source();
    let body_at = (m.body().as_ptr() as usize).saturating_sub(src.as_ptr() as usize);
    let sipfrag = m.sipfrag().map(|f| match f {
        Ok(f) => Ok(describe_fragment(&f)),
        Err(e) => Err(ErrorDescription::new(
            e,
            at.advanced(&src[..body_at.min(src.len())]),
        )),
    });
    Description {
        at,
        start,
        headers,
        body: BodyDescription {
            length: m.body().len(),
            content_type: m.content_type().ok().flatten().map(|c| c.to_string()),
            sipfrag,
        },
    }
}

fn describe_fragment(f: &Fragment<'_>) -> FragmentDescription {
    let start = match f.start {
        Some(StartLine::Response { status, reason }) => format!("SIP/2.0 {status} {reason}"),
        Some(StartLine::Request { method, uri }) => format!("{method} {} SIP/2.0", uri.as_str()),
        None => format!("no start line, {} headers", f.headers().len()),
    };
    FragmentDescription {
        start,
        status: f.status(),
        headers: f.headers().len(),
    }
}

impl<'a> Description<'a> {
    /// What a linter reports beyond the parse, in order: each header value
    /// that fails its grammar, then a sipfrag body that does not parse.
    pub fn problems(&self) -> impl Iterator<Item = &ErrorDescription> {
        let body = match &self.body.sipfrag {
            Some(Err(e)) => Some(e),
            _ => None,
        };
        self.headers
            .iter()
            .filter_map(|h| h.error.as_ref())
            .chain(body)
    }

    /// The message for programs: `kind` (request or response), the start
    /// line's parts, `offset` (when not 0), `headers` (each with `name`,
    /// `raw_name`, `value`, and `parsed` values or an `error`), `body`.
    pub fn data(&self) -> Node<'a> {
        let mut o = match &self.start {
            StartDescription::Request { method, parts, .. } => Node::map([
                ("kind", Node::str("request")),
                ("method", Node::str(method)),
                ("uri", parts.data.clone()),
                ("version", Node::str("SIP/2.0")),
            ]),
            StartDescription::Response { status, reason } => Node::map([
                ("kind", Node::str("response")),
                ("version", Node::str("SIP/2.0")),
                ("status", Node::Int((*status).into())),
                ("reason", Node::str(reason)),
            ]),
        };
        if self.at.offset > 0 {
            o.set("offset", Node::Int(self.at.offset as u64));
        }
        let headers = self
            .headers
            .iter()
            .map(|h| {
                let mut o = Node::map([
                    ("name", Node::string(h.display_name().to_string())),
                    ("raw_name", Node::str(h.raw_name)),
                    ("value", Node::string(h.value.clone())),
                ]);
                if !h.values.is_empty() {
                    o.set(
                        "parsed",
                        Node::List(h.values.iter().map(|v| v.data.clone()).collect()),
                    );
                }
                if let Some(e) = &h.error {
                    o.set("error", Node::string(e.what.clone()));
                }
                o
            })
            .collect();
        o.set("headers", Node::List(headers));
        let mut body = Node::map([
            ("length", Node::Int(self.body.length as u64)),
            (
                "type",
                self.body
                    .content_type
                    .clone()
                    .map_or(Node::Null, Node::string),
            ),
        ]);
        match &self.body.sipfrag {
            Some(Ok(f)) => body.set(
                "sipfrag",
                Node::map([
                    ("start", Node::string(f.start.clone())),
                    ("status", Node::opt_int(f.status)),
                    ("headers", Node::Int(f.headers as u64)),
                ]),
            ),
            Some(Err(e)) => body.set(
                "sipfrag",
                Node::map([("error", Node::string(e.what.clone()))]),
            ),
            None => {}
        }
        o.set("body", body);
        o
    }
}
