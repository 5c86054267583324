//! `sipkit analyze`: read a capture (pcap, pcapng, gzip of either, or
//! standard input), rebuild its transactions and calls with
//! `sipkit-capture`, and show the summary, the calls and their findings as
//! text, one call's ladder, JSON lines, or an HTML report.

mod html;
mod spill;

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};
use sipkit_capture::render::{call_text, ladder_text, summary_json, summary_text, JsonWriter};
use sipkit_capture::{findings::ui, Call, CaptureReader, Config, Kind, Pipeline, ReadError};
use sipkit_codes::Lang;

/// Output format of `sipkit analyze`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AnalyzeFormat {
    /// The summary, then every call with its outcome and findings
    #[default]
    Text,
    /// JSON lines: one object per call as it completes, then the summary
    Json,
}

/// Arguments of `sipkit analyze`.
#[derive(Args, Debug)]
#[command(
    after_help = "FILTER is KEY=VALUE with KEY one of call-id, user, method, code; several --filter must all match.\nExit status: 0 analysed, 1 the capture is truncated or corrupt (analysed up to there) or --call found nothing, 2 not a capture.\nExamples:\n  sipkit analyze call.pcap\n  sipkit analyze call.pcapng --call a84b4c76e66710 --lang ru\n  sipkit analyze big.pcap.gz --format json --filter method=REFER\n  tcpdump -w - -i lo port 5060 | sipkit analyze -"
)]
pub struct AnalyzeArgs {
    /// The capture: pcap or pcapng, optionally gzip-compressed; - for standard input
    pub file: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = AnalyzeFormat::Text)]
    pub format: AnalyzeFormat,
    /// Language of the texts: en or ru [default: from LC_ALL, LC_MESSAGES or LANG when it names Russian, else en]
    #[arg(long, value_name = "LANG", value_parser = Lang::parse)]
    pub lang: Option<Lang>,
    /// Show the ladder of the call with this Call-ID
    #[arg(long, value_name = "CALL-ID")]
    pub call: Option<String>,
    /// Also write a self-contained HTML report (summary, plots, every call with its ladder) to FILE
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Only show calls matching KEY=VALUE (call-id, user, method, code)
    #[arg(long, value_name = "FILTER", value_parser = parse_filter)]
    pub filter: Vec<Filter>,
    /// Progress bar on standard error: auto shows it when stderr is a terminal
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,
    /// Check every UDP message fully, as `sipkit parse` does (RFC 3261 receiver checks), so a malformed header the analysis does not read is also a malformed_message finding [default: only the start line, framing, Via, From, To, Call-ID, CSeq and Max-Forwards]
    #[arg(long)]
    pub validate: bool,
}

/// When to draw the progress bar.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// When standard error is a terminal
    Auto,
    /// Never
    Never,
    /// Always
    Always,
}

/// One `--filter KEY=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// The Call-ID equals.
    CallId(String),
    /// The user part of From, To or a Request-URI equals.
    User(String),
    /// A request with this method is in the call.
    Method(String),
    /// A response with this code is in the call.
    Code(u16),
}

fn parse_filter(s: &str) -> Result<Filter, String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected KEY=VALUE, e.g. method=INVITE"))?;
    match k.trim().to_ascii_lowercase().as_str() {
        "call-id" | "callid" => Ok(Filter::CallId(v.to_owned())),
        "user" => Ok(Filter::User(v.to_owned())),
        "method" => Ok(Filter::Method(v.to_ascii_uppercase())),
        "code" | "status" => v
            .parse()
            .map(Filter::Code)
            .map_err(|_| format!("{v:?} is not a response code")),
        other => Err(format!(
            "unknown filter key {other:?}: expected call-id, user, method or code"
        )),
    }
}

/// The user part of a SIP URI (`sip:alice@host` → `alice`).
fn user_of(uri: &str) -> Option<&str> {
    let rest = uri.split_once(':')?.1;
    rest.split_once('@').map(|(u, _)| u)
}

impl Filter {
    fn matches(&self, c: &Call) -> bool {
        match self {
            Filter::CallId(id) => c.call_id == *id,
            Filter::User(u) => [c.from.as_str(), c.to.as_str()]
                .into_iter()
                .chain(c.messages.iter().filter_map(|m| match &m.kind {
                    Kind::Request { uri, .. } => Some(&**uri),
                    _ => None,
                }))
                .any(|uri| user_of(uri) == Some(u.as_str())),
            Filter::Method(m) => c
                .messages
                .iter()
                .any(|x| matches!(&x.kind, Kind::Request { method, .. } if method == m)),
            Filter::Code(code) => c
                .messages
                .iter()
                .any(|x| matches!(&x.kind, Kind::Response { status, .. } if status == code)),
        }
    }
}

fn lang_of(args: &AnalyzeArgs) -> Lang {
    Lang::choose(args.lang, |k| std::env::var(k).ok())
}

/// Bytes read per push.
const CHUNK: usize = 1 << 20;

/// Bytes of JSON lines written at once (at least `out`'s buffer, so they
/// skip it).
const JSON_BLOCK: usize = 1 << 16;

/// Opens the input, unwrapping gzip (magic 1f 8b) transparently; returns
/// the reader and the size on disk, if known.
fn open(path: &PathBuf) -> anyhow::Result<(Box<dyn Read>, Option<u64>)> {
    let (raw, size): (Box<dyn Read>, Option<u64>) = if path.as_os_str() == "-" {
        (Box::new(io::stdin().lock()), None)
    } else {
        let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let size = f.metadata().ok().map(|m| m.len());
        (Box::new(f), size)
    };
    let mut buffered = BufReader::with_capacity(CHUNK, raw);
    let head = buffered.fill_buf().context("reading the capture")?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok((Box::new(flate2::read::MultiGzDecoder::new(buffered)), size))
    } else {
        Ok((Box::new(buffered), size))
    }
}

/// A progress bar on standard error, redrawn at most four times a second.
struct Bar {
    on: bool,
    total: Option<u64>,
    last: Instant,
}

impl Bar {
    fn tick(&mut self, done: u64, packets: u64) {
        if !self.on || self.last.elapsed() < Duration::from_millis(250) {
            return;
        }
        self.last = Instant::now();
        let mut e = io::stderr().lock();
        let _ = match self.total {
            Some(t) if t > 0 => {
                let pct = (done.min(t) * 100 / t) as usize;
                let bar = "#".repeat(pct / 4) + &".".repeat(25 - pct / 4);
                write!(e, "\r[{bar}] {pct:>3}%  {packets} packets")
            }
            _ => write!(e, "\r{} MB  {packets} packets", done >> 20),
        };
    }

    fn clear(&self) {
        if self.on {
            let _ = write!(io::stderr().lock(), "\r{:60}\r", "");
        }
    }
}

/// Runs `sipkit analyze`; returns the exit status.
pub fn run(args: &AnalyzeArgs) -> anyhow::Result<u8> {
    let lang = lang_of(args);
    let (mut input, size) = open(&args.file)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(JSON_BLOCK, stdout.lock());
    let mut reader = CaptureReader::new();
    let mut pipeline = Pipeline::new(Config {
        validate: args.validate,
        ..Config::default()
    });
    let mut bar = Bar {
        on: match args.progress {
            Progress::Auto => io::stderr().is_terminal(),
            Progress::Always => true,
            Progress::Never => false,
        },
        total: size,
        last: Instant::now(),
    };
    // The text calls come after the summary, the HTML report's calls after
    // its summary and plots: both wait in bounded memory (see `spill`).
    let mut text_calls = spill::Spill::new("the calls of the text output");
    let mut ladder: Option<Call> = None;
    let mut report = args.html.as_ref().map(|_| html::Report::new(lang));
    let mut read_bytes = 0u64;
    let mut error: Option<ReadError> = None;
    // The JSON lines gather here and go out in blocks of at least
    // `JSON_BLOCK` bytes, straight past `out`'s buffer.
    let mut json = JsonWriter::default();
    let mut json_buf: Vec<u8> = Vec::with_capacity(2 * JSON_BLOCK);
    let mut emit = |c: Call, out: &mut dyn Write| -> anyhow::Result<()> {
        if !args.filter.iter().all(|f| f.matches(&c)) {
            return Ok(());
        }
        if let Some(id) = &args.call {
            if c.call_id == *id && ladder.is_none() {
                ladder = Some(c.clone());
            }
        } else {
            match args.format {
                AnalyzeFormat::Json => {
                    json.write_call(&mut json_buf, &c, lang);
                    json_buf.push(b'\n');
                    if json_buf.len() >= JSON_BLOCK {
                        out.write_all(&json_buf)?;
                        json_buf.clear();
                    }
                }
                AnalyzeFormat::Text => text_calls.write(call_text(&c, lang).as_bytes())?,
            }
        }
        if let Some(r) = &mut report {
            r.add(&c)?;
        }
        Ok(())
    };
    'read: loop {
        // Straight into the reader's buffer.
        let n = match input.read(reader.space(CHUNK)) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // A broken gzip stream ends the input like a cut file.
                bar.clear();
                let _ = writeln!(io::stderr(), "sipkit: reading stopped: {e}");
                break;
            }
        };
        read_bytes += n as u64;
        reader.commit(n);
        loop {
            match reader.next_record() {
                Ok(Some(rec)) => pipeline.frame(&rec),
                Ok(None) => break,
                Err(e) => {
                    error = Some(e);
                    break 'read;
                }
            }
            while let Some(c) = pipeline.poll_call() {
                emit(c, &mut out)?;
            }
        }
        bar.tick(read_bytes, pipeline.summary().packets);
    }
    bar.clear();
    if error.is_none() {
        error = reader.finish().err();
    }
    if let Some(ReadError::NotACapture(what)) = &error {
        let _ = writeln!(
            io::stderr(),
            "sipkit: error: {} is not a capture file: expected pcap or pcapng (optionally gzip-compressed), found {what}",
            args.file.display()
        );
        return Ok(2);
    }
    pipeline.finish();
    while let Some(c) = pipeline.poll_call() {
        emit(c, &mut out)?;
    }
    out.write_all(&json_buf)?;
    let summary = pipeline.summary().clone();
    let mut status = 0;
    if let Some(id) = &args.call {
        match &ladder {
            Some(c) => out.write_all(ladder_text(c, lang).as_bytes())?,
            None => {
                let _ = writeln!(
                    io::stderr(),
                    "sipkit: {}",
                    ui(lang, "no_call").replace("{call_id}", id)
                );
                status = 1;
            }
        }
    } else {
        match args.format {
            AnalyzeFormat::Json => {
                serde_json::to_writer(&mut out, &summary_json(&summary))?;
                out.write_all(b"\n")?;
            }
            AnalyzeFormat::Text => {
                out.write_all(summary_text(&summary, lang).as_bytes())?;
                writeln!(out, "\n== {} ==", ui(lang, "calls"))?;
                text_calls.copy_to(&mut out)?;
            }
        }
    }
    if let (Some(path), Some(report)) = (&args.html, report) {
        let write = || -> anyhow::Result<()> {
            let f = File::create(path)?;
            let mut f = io::BufWriter::with_capacity(1 << 16, f);
            report.finish(&summary, &mut f)?;
            f.flush()?;
            Ok(())
        };
        write().with_context(|| format!("writing {}", path.display()))?;
    }
    out.flush()?;
    if let Some(e) = error {
        let msg = match e {
            ReadError::Truncated { offset } => {
                ui(lang, "truncated").replace("{offset}", &offset.to_string())
            }
            other => other.to_string(),
        };
        let _ = writeln!(io::stderr(), "sipkit: {msg}");
        status = 1;
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        assert_eq!(
            parse_filter("method=invite"),
            Ok(Filter::Method("INVITE".into()))
        );
        assert_eq!(parse_filter("code=302"), Ok(Filter::Code(302)));
        assert!(parse_filter("code=abc").is_err());
        assert!(parse_filter("colour=red").is_err());
        assert!(parse_filter("nokey").is_err());
        assert_eq!(user_of("sip:alice@example.com"), Some("alice"));
        assert_eq!(user_of("sip:example.com"), None);
    }
}
