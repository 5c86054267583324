//! `sipkit parse`: check a SIP message against RFC 3261 and show its structure,
//! or say exactly where and why it is broken. The message layer frames the
//! input (`Frames`), parses and describes each message (`describe`); this
//! module only renders that description, as text or as JSON.

use std::fmt::Write as _;
use std::io::{self, Read, Write};

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};
use sipkit_message::{
    describe, parse_with, Description, Disposition, ErrorDescription, FrameKind, Frames, Limits,
    Mode, Node, Position, StartDescription,
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
    let json = args.format == ParseFormat::Json;
    let items = if args.stream {
        stream_items(&data)
    } else {
        vec![datagram_item(&data)]
    };
    let out = match (args.stream, json) {
        (true, true) => {
            let events: Vec<Value> = items.iter().map(item_json).collect();
            pretty(&json!({ "kind": "stream", "events": events }))?
        }
        (true, false) => {
            let mut out = String::new();
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                item_text(&mut out, item);
            }
            out
        }
        (false, true) => pretty(&items.iter().map(item_json).next().unwrap_or(Value::Null))?,
        (false, false) => {
            let mut out = String::new();
            if let Some(Item::Message(d)) = items.first() {
                message_text(&mut out, d);
            }
            out
        }
    };
    io::stdout()
        .write_all(out.as_bytes())
        .context("writing to stdout")?;
    let mut err = String::new();
    for e in items.iter().flat_map(Item::problems) {
        report(&mut err, &name, &data, e);
    }
    if err.is_empty() {
        return Ok(0);
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

/// What the input holds, as the message layer describes it.
enum Item<'a> {
    /// A valid message.
    Message(Description<'a>),
    /// A message that failed to parse, at this byte of the input.
    Invalid(usize, ErrorDescription),
    /// A CRLF keep-alive.
    KeepAlive(usize, &'static str),
    /// What could not be framed, from this byte to the end of the stream.
    Lost(usize, ErrorDescription),
}

impl Item<'_> {
    /// The errors to report, in order.
    fn problems(&self) -> Vec<&ErrorDescription> {
        match self {
            Item::Message(d) => d.problems().collect(),
            Item::Invalid(_, e) | Item::Lost(_, e) => vec![e],
            Item::KeepAlive(..) => Vec::new(),
        }
    }
}

fn datagram_item(data: &[u8]) -> Item<'_> {
    match parse_with(data, &Limits::default(), Mode::Datagram) {
        Ok(m) => Item::Message(describe(&m, Position::START)),
        Err(e) => Item::Invalid(0, ErrorDescription::new(e, Position::START)),
    }
}

/// The input framed as a TCP stream.
fn stream_items(data: &[u8]) -> Vec<Item<'_>> {
    Frames::new(data, Limits::default())
        .map(|f| {
            let at = f.at.offset;
            match f.kind {
                FrameKind::Message => match f.parse() {
                    Ok(m) => Item::Message(describe(&m, f.at)),
                    Err(e) => Item::Invalid(at, ErrorDescription::new(e, f.at)),
                },
                FrameKind::Ping => Item::KeepAlive(at, "ping"),
                FrameKind::Pong => Item::KeepAlive(at, "pong"),
                FrameKind::Truncated(e) | FrameKind::Lost(e) => {
                    Item::Lost(at, ErrorDescription::new(e, f.at))
                }
            }
        })
        .collect()
}

// ---------------------------------------------------------------- errors

fn error_summary(e: &ErrorDescription) -> String {
    format!("{}:{}: {}", e.error.line, e.error.column, e.what)
}

fn reply_text(e: &ErrorDescription) -> String {
    match &e.reply {
        Disposition::Reply(r) => format!("a server answers {} {}", r.status, r.reason),
        Disposition::Drop => "a receiver drops it without answering".to_string(),
    }
}

/// `FILE:LINE:COL: error: what`, the offending line and a caret under the column.
fn report(out: &mut String, name: &str, data: &[u8], e: &ErrorDescription) {
    let (line, col) = (e.error.line, e.error.column as usize);
    let _ = writeln!(out, "{name}:{line}:{col}: error: {}", printable(&e.what));
    let before = col.saturating_sub(1);
    let start = e.error.offset.min(data.len()).saturating_sub(before);
    let end = data[start..]
        .iter()
        .position(|&c| c == b'\r' || c == b'\n')
        .map_or(data.len(), |p| start + p);
    let text = &data[start..end];
    let prefix = &text[..before.min(text.len())];
    let shown = printable(&String::from_utf8_lossy(text));
    let pad = printable(&String::from_utf8_lossy(prefix)).chars().count();
    let _ = writeln!(out, "  {shown}");
    let _ = writeln!(out, "  {}^", " ".repeat(pad));
    let _ = writeln!(out, "  note: {}", reply_text(e));
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

fn item_text(out: &mut String, item: &Item<'_>) {
    match item {
        Item::Message(d) => {
            let _ = writeln!(out, "# message at byte {}", d.at.offset);
            message_text(out, d);
        }
        Item::Invalid(at, e) => {
            let _ = writeln!(out, "# invalid message at byte {at}: {}", error_summary(e));
        }
        Item::KeepAlive(at, k) => {
            let _ = writeln!(out, "# keep-alive {k} at byte {at}");
        }
        Item::Lost(at, e) => {
            let _ = writeln!(out, "# framing lost at byte {at}: {}", error_summary(e));
        }
    }
}

fn message_text(out: &mut String, d: &Description<'_>) {
    match &d.start {
        StartDescription::Request { method, uri, parts } => {
            let _ = writeln!(
                out,
                "request {} {} SIP/2.0",
                printable(method),
                printable(uri)
            );
            let _ = writeln!(out, "  Request-URI: {}", printable(&parts.text));
        }
        StartDescription::Response { status, reason } => {
            let _ = writeln!(out, "response SIP/2.0 {status} {}", printable(reason));
        }
    }
    let _ = writeln!(out, "headers ({}):", d.headers.len());
    for h in &d.headers {
        let unfolded = printable(&h.value);
        let _ = writeln!(out, "  {}: {unfolded}", printable(h.raw_name));
        if h.raw_name != h.name.as_str() && !h.name.as_str().is_empty() {
            let _ = writeln!(out, "    (= {})", h.name.as_str());
        }
        let parts: Vec<String> = h
            .values
            .iter()
            .map(|v| printable(&v.text))
            .chain(h.error.iter().map(|e| format!("invalid: {}", e.what)))
            .collect();
        if !parts.is_empty() && parts.join(", ") != unfolded {
            let _ = writeln!(out, "    = {}", parts.join(" | "));
        }
    }
    let b = &d.body;
    match (b.length, &b.content_type) {
        (0, _) => {
            let _ = writeln!(out, "body: none");
        }
        (n, Some(ct)) => {
            let _ = writeln!(out, "body: {n} bytes, {}", printable(ct));
        }
        (n, None) => {
            let _ = writeln!(out, "body: {n} bytes, no Content-Type");
        }
    }
    match &b.sipfrag {
        Some(Ok(f)) => {
            let _ = writeln!(out, "  sipfrag: {}", printable(&f.start));
        }
        Some(Err(e)) => {
            let _ = writeln!(out, "  sipfrag: invalid: {}", e.what);
        }
        None => {}
    }
}

// ---------------------------------------------------------------- JSON

fn item_json(item: &Item<'_>) -> Value {
    match item {
        Item::Message(d) => node_json(&d.data()),
        Item::Invalid(_, e) | Item::Lost(_, e) => node_json(&e.data()),
        Item::KeepAlive(at, k) => json!({ "kind": k, "offset": at }),
    }
}

fn node_json(n: &Node<'_>) -> Value {
    match n {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(*b),
        Node::Int(i) => Value::from(*i),
        Node::Float(f) => Value::from(*f),
        Node::Str(s) => Value::String(s.to_string()),
        Node::List(v) => Value::Array(v.iter().map(node_json).collect()),
        Node::Map(fields) => {
            let mut m = Map::new();
            for (k, v) in fields {
                m.insert(k.to_string(), node_json(v));
            }
            Value::Object(m)
        }
    }
}
