//! `sipkit parse`: check a SIP message against RFC 3261 and show its structure,
//! or say exactly where and why it is broken.

use std::fmt::Write as _;
use std::io::{self, Read, Write};

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};
use sipkit_message::{
    parse_with, wire_reply, Contact, Disposition, ErrorKind, Event, Header, Host, Limits, Message,
    Mode, NameAddr, Params, ParseError, StartKind, StreamDecoder, TypedValue, Uri,
};

/// Output format of `sipkit parse`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ParseFormat {
    /// Readable text: start line, each header with its meaning, body summary
    #[default]
    Text,
    /// One JSON object
    Json,
}

/// Arguments of `sipkit parse`.
#[derive(Args, Debug)]
#[command(
    after_help = "FILE holds one SIP message as received (CRLF line ends), or with --stream several messages \
as read from a TCP connection.\nErrors are printed as FILE:LINE:COL: error: ... with the offending line.\n\
Exit status: 0 valid, 1 invalid, 2 usage or I/O error."
)]
pub struct ParseArgs {
    /// The message file, or - for standard input
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = ParseFormat::Text)]
    pub format: ParseFormat,
    /// Frame several messages from a byte stream by Content-Length (TCP), skipping CRLF keep-alives
    #[arg(long)]
    pub stream: bool,
}

/// Runs `sipkit parse`; returns the exit status (0 valid, 1 invalid, 2 I/O error).
pub fn run(args: &ParseArgs) -> anyhow::Result<u8> {
    let (name, data) = match read_input(&args.file) {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(io::stderr(), "sipkit: error: {e:#}");
            return Ok(2);
        }
    };
    let mut out = String::new();
    let mut problems: Vec<(usize, ParseError)> = Vec::new();
    let json = args.format == ParseFormat::Json;
    if args.stream {
        let events = stream_events(&data, &mut problems);
        if json {
            let items: Vec<Value> = events
                .iter()
                .map(|(at, ev)| match ev {
                    StreamItem::Message(m) => message_json(m, *at),
                    StreamItem::Invalid(e, base) => error_json(&data, *base, e),
                    StreamItem::KeepAlive(k) => json!({ "kind": k, "offset": at }),
                    StreamItem::Fatal(e, base) => error_json(&data, *base, e),
                })
                .collect();
            out = pretty(&json!({ "kind": "stream", "events": items }))?;
        } else {
            for (i, (at, ev)) in events.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                match ev {
                    StreamItem::Message(m) => {
                        let _ = writeln!(out, "# message at byte {at}");
                        message_text(&mut out, m);
                    }
                    StreamItem::Invalid(e, base) => {
                        let _ = writeln!(
                            out,
                            "# invalid message at byte {at}: {}",
                            error_summary(&data, *base, e)
                        );
                    }
                    StreamItem::KeepAlive(k) => {
                        let _ = writeln!(out, "# keep-alive {k} at byte {at}");
                    }
                    StreamItem::Fatal(e, base) => {
                        let _ = writeln!(
                            out,
                            "# framing lost at byte {at}: {}",
                            error_summary(&data, *base, e)
                        );
                    }
                }
            }
        }
    } else {
        match parse_with(&data, &Limits::default(), Mode::Datagram) {
            Ok(m) => {
                lazy_problems(&m, 0, &mut problems);
                out = if json {
                    pretty(&message_json(&m, 0))?
                } else {
                    message_text_owned(&m)
                };
            }
            Err(e) => {
                if json {
                    out = pretty(&error_json(&data, 0, &e))?;
                }
                problems.push((0, e));
            }
        }
    }
    io::stdout()
        .write_all(out.as_bytes())
        .context("writing to stdout")?;
    if problems.is_empty() {
        return Ok(0);
    }
    let mut err = String::new();
    for (base, e) in &problems {
        report(&mut err, &name, &data, *base, e);
    }
    io::stderr()
        .write_all(err.as_bytes())
        .context("writing to stderr")?;
    Ok(1)
}

fn pretty(v: &Value) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(v)? + "\n")
}

fn read_input(file: &str) -> anyhow::Result<(String, Vec<u8>)> {
    if file == "-" {
        let mut v = Vec::new();
        io::stdin()
            .read_to_end(&mut v)
            .context("reading standard input")?;
        Ok(("<stdin>".to_string(), v))
    } else {
        let v = std::fs::read(file).with_context(|| format!("reading {file}"))?;
        Ok((file.to_string(), v))
    }
}

enum StreamItem<'a> {
    Message(Box<Message<'a>>),
    Invalid(ParseError, usize),
    KeepAlive(&'static str),
    Fatal(ParseError, usize),
}

/// Frames the whole input as a TCP stream. Returns events with their absolute
/// byte offsets; problems get the base offset their error positions are relative to.
fn stream_events<'a>(
    data: &'a [u8],
    problems: &mut Vec<(usize, ParseError)>,
) -> Vec<(usize, StreamItem<'a>)> {
    // Decode with a decoder only to find the frames; parse each frame again
    // from `data` so that messages borrow the input, not the decoder.
    let mut frames: Vec<(usize, usize, Option<&'static str>)> = Vec::new();
    let mut fatal = None;
    let mut d = StreamDecoder::new(Limits::default());
    let mut pos = 0usize; // bytes consumed by events
    let mut fed = 0usize;
    'outer: loop {
        loop {
            let ev = d.decode();
            match ev {
                Ok(Event::Partial) => break,
                Ok(Event::Ping) => {
                    frames.push((pos, 4, Some("ping")));
                    pos += 4;
                }
                Ok(Event::Pong) => {
                    frames.push((pos, 2, Some("pong")));
                    pos += 2;
                }
                Ok(Event::Message(m)) => {
                    let n = m.source().len();
                    frames.push((pos, n, None));
                    pos += n;
                }
                Ok(Event::Invalid { bytes, .. }) => {
                    let n = bytes.len();
                    frames.push((pos, n, None));
                    pos += n;
                }
                Err(e) => {
                    fatal = Some(e);
                    break 'outer;
                }
            }
        }
        if fed >= data.len() {
            break;
        }
        let end = (fed + 8192).min(data.len());
        if let Err(e) = d.push(&data[fed..end]) {
            fatal = Some(e);
            break;
        }
        fed = end;
    }
    let mut out = Vec::new();
    for (at, n, ka) in frames {
        if let Some(k) = ka {
            out.push((at, StreamItem::KeepAlive(k)));
            continue;
        }
        match parse_with(&data[at..at + n], &Limits::default(), Mode::Stream) {
            Ok(m) => {
                lazy_problems(&m, at, problems);
                out.push((at, StreamItem::Message(Box::new(m))));
            }
            Err(e) => {
                problems.push((at, e));
                out.push((at, StreamItem::Invalid(e, at)));
            }
        }
    }
    if let Some(e) = fatal {
        problems.push((pos, e));
        out.push((pos, StreamItem::Fatal(e, pos)));
    } else if pos < data.len() {
        // Bytes left over: the input ends inside a message.
        let e = leftover_error(&data[pos..]);
        problems.push((pos, e));
        out.push((pos, StreamItem::Fatal(e, pos)));
    }
    out
}

/// Why the last bytes of a stream do not form a message: re-parsing them
/// explains it (no empty line after the headers, or a short body).
fn leftover_error(rest: &[u8]) -> ParseError {
    match parse_with(rest, &Limits::default(), Mode::Stream) {
        Err(e) => e,
        // The decoder yields every complete message, so this is not expected;
        // report the end of input all the same.
        Ok(_) => ParseError {
            kind: ErrorKind::Truncated,
            offset: rest.len(),
            line: 1,
            column: 1,
            header: None,
            start: StartKind::Unknown,
        },
    }
}

/// Errors in headers that the parser leaves for later (Warning, Event, Retry-After …):
/// a linter reports them too.
fn lazy_problems(m: &Message<'_>, base: usize, problems: &mut Vec<(usize, ParseError)>) {
    for i in 0..m.headers().len() {
        if let Some(Err(e)) = m.typed_values(i).find(Result::is_err) {
            problems.push((base, e));
        }
    }
    if let Some(Err(e)) = m.sipfrag() {
        problems.push((base + body_offset(m), e));
    }
}

fn body_offset(m: &Message<'_>) -> usize {
    let src = m.source();
    (m.body().as_ptr() as usize).saturating_sub(src.as_ptr() as usize)
}

// ---------------------------------------------------------------- errors

fn line_col(data: &[u8], offset: usize) -> (usize, usize, usize) {
    let offset = offset.min(data.len());
    let line = data[..offset].iter().filter(|&&c| c == b'\n').count() + 1;
    let start = data[..offset]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |p| p + 1);
    (line, offset - start + 1, start)
}

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

fn error_summary(data: &[u8], base: usize, e: &ParseError) -> String {
    let (line, col, _) = line_col(data, base + e.offset);
    format!("{line}:{col}: {}", error_what(e))
}

fn reply_text(e: &ParseError) -> String {
    match wire_reply(e) {
        Disposition::Reply(r) => format!("a server answers {} {}", r.status, r.reason),
        Disposition::Drop => "a receiver drops it without answering".to_string(),
    }
}

/// `FILE:LINE:COL: error: what`, the offending line and a caret under the column.
fn report(out: &mut String, name: &str, data: &[u8], base: usize, e: &ParseError) {
    let (line, col, start) = line_col(data, base + e.offset);
    let _ = writeln!(out, "{name}:{line}:{col}: error: {}", error_what(e));
    let end = data[start..]
        .iter()
        .position(|&c| c == b'\r' || c == b'\n')
        .map_or(data.len(), |p| start + p);
    let text = &data[start..end];
    let prefix = &text[..(col - 1).min(text.len())];
    let shown = printable(&String::from_utf8_lossy(text));
    let pad = printable(&String::from_utf8_lossy(prefix)).chars().count();
    let _ = writeln!(out, "  {shown}");
    let _ = writeln!(out, "  {}^", " ".repeat(pad));
    let _ = writeln!(out, "  note: {}", reply_text(e));
}

fn error_json(data: &[u8], base: usize, e: &ParseError) -> Value {
    let (line, column, _) = line_col(data, base + e.offset);
    let reply = match wire_reply(e) {
        Disposition::Reply(r) => {
            json!({ "status": r.status, "reason": r.reason, "warning": r.warn_text })
        }
        Disposition::Drop => Value::Null,
    };
    json!({
        "kind": "error",
        "message": error_what(e),
        "offset": base + e.offset,
        "line": line,
        "column": column,
        "header": e.header.map(|h| h.to_string()),
        "reply": reply,
    })
}

// ---------------------------------------------------------------- text

/// Escapes control characters so a hostile message cannot drive the terminal.
fn printable(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != '\t' {
            let _ = write!(o, "\\x{:02x}", u32::from(c));
        } else {
            o.push(c);
        }
    }
    o
}

fn message_text_owned(m: &Message<'_>) -> String {
    let mut out = String::new();
    message_text(&mut out, m);
    out
}

fn message_text(out: &mut String, m: &Message<'_>) {
    match m {
        Message::Request(r) => {
            let _ = writeln!(
                out,
                "request {} {} SIP/2.0",
                printable(r.method_str()),
                printable(r.uri().as_str())
            );
            let _ = writeln!(out, "  Request-URI: {}", uri_text(r.uri()));
        }
        Message::Response(r) => {
            let _ = writeln!(
                out,
                "response SIP/2.0 {} {}",
                r.status(),
                printable(r.reason())
            );
        }
    }
    let _ = writeln!(out, "headers ({}):", m.headers().len());
    for (i, h) in m.headers().enumerate() {
        let _ = writeln!(
            out,
            "  {}: {}",
            printable(h.raw_name),
            printable(&h.value_unfolded())
        );
        if h.raw_name != h.name.as_str() && h.name.as_str() != "" {
            let _ = writeln!(out, "    (= {})", h.name.as_str());
        }
        let parts: Vec<String> = m
            .typed_values(i)
            .filter_map(|v| match v {
                Ok(TypedValue::Raw(_)) => None,
                Ok(v) => Some(typed_text(&v)),
                Err(e) => Some(format!("invalid: {}", error_what(&e))),
            })
            .collect();
        let unfolded = printable(&h.value_unfolded());
        if !parts.is_empty() && parts.join(", ") != unfolded {
            let _ = writeln!(out, "    = {}", parts.join(" | "));
        }
    }
    let body = m.body();
    let ct = m.content_type().ok().flatten();
    match (body.len(), ct) {
        (0, _) => {
            let _ = writeln!(out, "body: none");
        }
        (n, Some(ct)) => {
            let _ = writeln!(out, "body: {n} bytes, {ct}");
        }
        (n, None) => {
            let _ = writeln!(out, "body: {n} bytes, no Content-Type");
        }
    }
    if let Some(f) = m.sipfrag() {
        match f {
            Ok(f) => {
                let _ = writeln!(out, "  sipfrag: {}", fragment_start(&f));
            }
            Err(e) => {
                let _ = writeln!(out, "  sipfrag: invalid: {}", error_what(&e));
            }
        }
    }
}

fn fragment_start(f: &sipkit_message::Fragment<'_>) -> String {
    match f.start {
        Some(sipkit_message::StartLine::Response { status, reason }) => {
            format!("SIP/2.0 {status} {}", printable(reason))
        }
        Some(sipkit_message::StartLine::Request { method, uri }) => {
            format!("{} {} SIP/2.0", printable(method), printable(uri.as_str()))
        }
        None => format!("no start line, {} headers", f.headers().len()),
    }
}

fn host_port(h: &Host<'_>, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("{h}:{p}"),
        None => h.to_string(),
    }
}

fn params_text(p: &Params<'_>, skip: &[&str]) -> Option<String> {
    let v: Vec<String> = p
        .iter()
        .filter(|q| !skip.iter().any(|s| q.name.eq_ignore_ascii_case(s)))
        .map(|q| match q.value {
            Some(v) => format!("{}={}", printable(q.name), printable(v)),
            None => printable(q.name),
        })
        .collect();
    (!v.is_empty()).then(|| format!("params {}", v.join(";")))
}

fn uri_text(u: &Uri<'_>) -> String {
    let mut parts = vec![format!("scheme {}", u.scheme.as_str())];
    if !u.is_sip() && u.scheme.as_str() != "tel" {
        parts.push(format!("opaque {}", printable(u.opaque())));
        return parts.join(", ");
    }
    if let Some(user) = u.user {
        parts.push(format!(
            "{} {}",
            if u.is_sip() { "user" } else { "number" },
            printable(user)
        ));
    }
    if u.password.is_some() {
        parts.push("password (set)".to_string());
    }
    if let Some(h) = &u.host {
        parts.push(format!("host {}", host_port(h, u.port)));
    }
    parts.extend(params_text(&u.params, &[]));
    if !u.headers.is_empty() {
        parts.push(format!("headers {}", printable(u.headers)));
    }
    parts.join(", ")
}

fn name_addr_text(a: &NameAddr<'_>, skip: &[&str]) -> String {
    let mut parts = Vec::new();
    if let Some(d) = a.display {
        parts.push(format!("display {}", printable(d)));
    }
    parts.push(format!(
        "uri {} ({})",
        printable(a.uri.as_str()),
        uri_text(&a.uri)
    ));
    if let Some(t) = a.tag() {
        parts.push(format!("tag {}", printable(t)));
    }
    let mut skip = skip.to_vec();
    skip.push("tag");
    parts.extend(params_text(&a.params, &skip));
    parts.join(", ")
}

fn typed_text(v: &TypedValue<'_>) -> String {
    match v {
        TypedValue::Via(v) => {
            let mut parts = vec![
                format!("transport {}", v.transport),
                format!("sent-by {}", host_port(&v.host, v.port)),
            ];
            if let Some(b) = v.branch() {
                parts.push(format!(
                    "branch {}{}",
                    printable(b),
                    if v.is_rfc3261_branch() {
                        ""
                    } else {
                        " (RFC 2543)"
                    }
                ));
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
            parts.join(", ")
        }
        TypedValue::NameAddr(a) => name_addr_text(a, &[]),
        TypedValue::Contact(Contact::Wildcard) => "* (all bindings)".to_string(),
        TypedValue::Contact(c @ Contact::Address(a)) => {
            let mut s = name_addr_text(a, &["q", "expires"]);
            if let Some(q) = c.q_millis() {
                let _ = write!(s, ", q {}.{:03}", q / 1000, q % 1000);
            }
            if let Some(e) = c.expires() {
                let _ = write!(s, ", expires {e}s");
            }
            s
        }
        TypedValue::CSeq(c) => format!("seq {}, method {}", c.seq, printable(c.method)),
        TypedValue::CallId(c) => format!("call-id {}", printable(c)),
        TypedValue::Number(n) => n.to_string(),
        TypedValue::MediaType(m) => {
            let mut s = format!("{m}");
            if let Some(p) = params_text(&m.params, &[]) {
                let _ = write!(s, ", {p}");
            }
            s
        }
        TypedValue::Token(t) => printable(t),
        TypedValue::Auth(a) => {
            let ps: Vec<String> = a
                .params()
                .map(|p| {
                    format!(
                        "{}={}",
                        printable(p.name),
                        printable(p.unquoted().unwrap_or(""))
                    )
                })
                .collect();
            format!(
                "scheme {}, {}",
                printable(a.scheme),
                if ps.is_empty() {
                    "no params".into()
                } else {
                    ps.join(", ")
                }
            )
        }
        TypedValue::Event(e) => {
            let mut s = format!("package {}", printable(e.package));
            if let Some(id) = e.id() {
                let _ = write!(s, ", id {}", printable(id));
            }
            s
        }
        TypedValue::SubscriptionState(s) => {
            let mut t = format!("state {}", printable(s.state));
            if let Some(r) = s.reason() {
                let _ = write!(t, ", reason {}", printable(r));
            }
            if let Some(e) = s.expires() {
                let _ = write!(t, ", expires {e}s");
            }
            if let Some(r) = s.retry_after() {
                let _ = write!(t, ", retry-after {r}s");
            }
            t
        }
        TypedValue::RetryAfter(r) => {
            let mut s = format!("{}s", r.seconds);
            if let Some(c) = r.comment {
                let _ = write!(s, ", comment {}", printable(c));
            }
            if let Some(p) = params_text(&r.params, &[]) {
                let _ = write!(s, ", {p}");
            }
            s
        }
        TypedValue::Warning(w) => format!(
            "code {}, agent {}, text {}",
            w.code,
            printable(w.agent),
            printable(w.text)
        ),
        TypedValue::Date(d) => format!("date {d}"),
        TypedValue::Raw(r) => printable(r),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------- JSON

fn params_json(p: &Params<'_>) -> Value {
    let mut m = Map::new();
    for q in p.iter() {
        m.insert(
            q.name.to_string(),
            q.value
                .map_or(Value::Null, |v| Value::String(v.to_string())),
        );
    }
    Value::Object(m)
}

fn host_json(h: &Host<'_>) -> Value {
    match h {
        Host::Domain(d) => json!({ "type": "domain", "name": d }),
        Host::V4(a) => json!({ "type": "ipv4", "address": a.to_string() }),
        Host::V6(a) => json!({ "type": "ipv6", "address": a.to_string() }),
    }
}

fn uri_json(u: &Uri<'_>) -> Value {
    let mut o = json!({ "uri": u.as_str(), "scheme": u.scheme.as_str() });
    if !u.is_sip() && u.scheme.as_str() != "tel" {
        o["opaque"] = json!(u.opaque());
        return o;
    }
    o["user"] = json!(u.user);
    if let Some(h) = &u.host {
        o["host"] = host_json(h);
    }
    o["port"] = json!(u.port);
    o["params"] = params_json(&u.params);
    if !u.headers.is_empty() {
        o["headers"] = json!(u
            .header_fields()
            .map(|(n, v)| json!([n, v]))
            .collect::<Vec<_>>());
    }
    o
}

fn name_addr_json(a: &NameAddr<'_>) -> Value {
    json!({
        "display": a.display_name(),
        "uri": uri_json(&a.uri),
        "bracketed": a.bracketed,
        "tag": a.tag(),
        "params": params_json(&a.params),
    })
}

fn typed_json(v: &TypedValue<'_>) -> Value {
    match v {
        TypedValue::Via(v) => json!({
            "protocol": v.protocol, "version": v.version, "transport": v.transport,
            "host": host_json(&v.host), "port": v.port, "branch": v.branch(), "received": v.received(),
            "rport": v.rport().map(|p| p.map_or(Value::Bool(true), |p| json!(p))),
            "maddr": v.maddr(), "ttl": v.ttl(), "params": params_json(&v.params),
        }),
        TypedValue::NameAddr(a) => name_addr_json(a),
        TypedValue::Contact(Contact::Wildcard) => json!({ "wildcard": true }),
        TypedValue::Contact(c @ Contact::Address(a)) => {
            let mut o = name_addr_json(a);
            o["q"] = json!(c.q_millis().map(|q| f64::from(q) / 1000.0));
            o["expires"] = json!(c.expires());
            o
        }
        TypedValue::CSeq(c) => json!({ "seq": c.seq, "method": c.method }),
        TypedValue::CallId(c) => json!(c),
        TypedValue::Number(n) => json!(n),
        TypedValue::MediaType(m) => {
            json!({ "type": m.mtype, "subtype": m.subtype, "params": params_json(&m.params) })
        }
        TypedValue::Token(t) => json!(t),
        TypedValue::Auth(a) => {
            let mut ps = Map::new();
            for p in a.params() {
                ps.insert(p.name.to_string(), json!(p.unquoted()));
            }
            json!({ "scheme": a.scheme, "params": ps })
        }
        TypedValue::Event(e) => {
            json!({ "package": e.package, "id": e.id(), "params": params_json(&e.params) })
        }
        TypedValue::SubscriptionState(s) => json!({
            "state": s.state, "reason": s.reason(), "expires": s.expires(), "retry_after": s.retry_after(),
            "params": params_json(&s.params),
        }),
        TypedValue::RetryAfter(r) => {
            json!({ "seconds": r.seconds, "comment": r.comment, "params": params_json(&r.params) })
        }
        TypedValue::Warning(w) => {
            json!({ "code": w.code, "agent": w.agent, "text": sipkit_message::unquote(w.text) })
        }
        TypedValue::Date(d) => json!(d),
        TypedValue::Raw(r) => json!(r),
        _ => Value::Null,
    }
}

fn header_json(m: &Message<'_>, i: usize, h: &Header<'_>) -> Value {
    let mut o =
        json!({ "name": h.name.as_str(), "raw_name": h.raw_name, "value": h.value_unfolded() });
    if h.name.as_str().is_empty() {
        o["name"] = json!(h.raw_name);
    }
    let mut parsed = Vec::new();
    let mut error = None;
    for v in m.typed_values(i) {
        match v {
            Ok(TypedValue::Raw(_)) => {}
            Ok(v) => parsed.push(typed_json(&v)),
            Err(e) => error = Some(error_what(&e)),
        }
    }
    if !parsed.is_empty() {
        o["parsed"] = Value::Array(parsed);
    }
    if let Some(e) = error {
        o["error"] = json!(e);
    }
    o
}

fn message_json(m: &Message<'_>, offset: usize) -> Value {
    let mut o = match m {
        Message::Request(r) => json!({
            "kind": "request", "method": r.method_str(), "uri": uri_json(r.uri()), "version": "SIP/2.0",
        }),
        Message::Response(r) => json!({
            "kind": "response", "version": "SIP/2.0", "status": r.status(), "reason": r.reason(),
        }),
    };
    if offset > 0 {
        o["offset"] = json!(offset);
    }
    o["headers"] = Value::Array(
        m.headers()
            .enumerate()
            .map(|(i, h)| header_json(m, i, &h))
            .collect(),
    );
    let ct = m.content_type().ok().flatten().map(|c| c.to_string());
    let mut body = json!({ "length": m.body().len(), "type": ct });
    if let Some(f) = m.sipfrag() {
        body["sipfrag"] = match f {
            Ok(f) => {
                json!({ "start": fragment_start(&f), "status": f.status(), "headers": f.headers().len() })
            }
            Err(e) => json!({ "error": error_what(&e) }),
        };
    }
    o["body"] = body;
    o
}
