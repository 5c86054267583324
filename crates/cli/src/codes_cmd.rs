//! `sipkit explain`, `sipkit compare`, `sipkit codes`.

use std::io::{self, Write};

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde::Serialize;
use sipkit_codes::{class_of, explain as kb_explain, lookup, registered_codes, ui, Lang};

use crate::render::{self, Style};

/// Output format shared by every subcommand that prints data.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// Readable text, wrapped to the terminal
    #[default]
    Text,
    /// One JSON document
    Json,
}

/// Options every reference command takes.
#[derive(Args, Debug, Clone)]
pub struct OutputOpts {
    /// Language of the texts: en or ru [default: from LC_ALL, LC_MESSAGES or LANG when it names Russian, else en]
    #[arg(long, value_name = "LANG", value_parser = parse_lang)]
    pub lang: Option<Lang>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

impl OutputOpts {
    fn lang(&self) -> Lang {
        self.lang.unwrap_or_else(|| {
            let var = |k: &str| std::env::var(k).ok();
            Lang::from_locale(
                var("LC_ALL").as_deref(),
                var("LC_MESSAGES").as_deref(),
                var("LANG").as_deref(),
            )
        })
    }
}

pub(crate) fn parse_lang(s: &str) -> Result<Lang, String> {
    Lang::from_tag(s).ok_or_else(|| {
        let known: Vec<&str> = Lang::all().map(Lang::tag).collect();
        format!(
            "unknown language {s:?}: expected one of {}",
            known.join(", ")
        )
    })
}

/// Arguments of `sipkit explain`.
#[derive(Args, Debug)]
#[command(
    after_help = "CODE may be a number (302), a status line (\"SIP/2.0 302 Moved Temporarily\") or a reason phrase (\"moved temporarily\").\nA three-digit code from 100 to 699 that IANA has not registered is explained by its class.\nExit status: 0 explained, 2 not a response code."
)]
pub struct ExplainArgs {
    /// The code, status line or reason phrase (several words need no quotes)
    #[arg(value_name = "CODE", required = true, num_args = 1..)]
    pub code: Vec<String>,
    #[command(flatten)]
    pub out: OutputOpts,
}

/// Arguments of `sipkit compare`.
#[derive(Args, Debug)]
#[command(
    after_help = "A and B may each be a number, a status line or a quoted reason phrase.\nExit status: 0 compared, 2 one of them is not a response code."
)]
pub struct CompareArgs {
    /// The first code
    #[arg(value_name = "A")]
    pub a: String,
    /// The second code
    #[arg(value_name = "B")]
    pub b: String,
    #[command(flatten)]
    pub out: OutputOpts,
}

/// Arguments of `sipkit codes`.
#[derive(Args, Debug)]
pub struct CodesArgs {
    /// Only this class: 1xx, 2xx, 3xx, 4xx, 5xx or 6xx (or just the digit)
    #[arg(long, value_name = "CLASS", value_parser = parse_class)]
    pub class: Option<u8>,
    #[command(flatten)]
    pub out: OutputOpts,
}

fn parse_class(s: &str) -> Result<u8, String> {
    let t = s.trim().to_ascii_lowercase();
    let digit = t.strip_suffix("xx").unwrap_or(&t);
    match digit.parse::<u8>() {
        Ok(d @ 1..=6) if digit.len() == 1 => Ok(d),
        _ => Err(format!(
            "unknown class {s:?}: expected 1xx, 2xx, 3xx, 4xx, 5xx or 6xx"
        )),
    }
}

/// Resolves user input to a code, printing the lookup error (exit status 2).
fn resolve(input: &str) -> Result<u16, u8> {
    lookup(input).map_err(|e| {
        let _ = writeln!(io::stderr(), "sipkit: error: {e}");
        2
    })
}

pub fn explain(args: &ExplainArgs) -> anyhow::Result<u8> {
    let lang = args.out.lang();
    let code = match resolve(&args.code.join(" ")) {
        Ok(c) => c,
        Err(status) => return Ok(status),
    };
    let e = kb_explain(code, lang).context("explaining the code")?;
    let mut out = io::stdout().lock();
    match args.out.format {
        Format::Json => write_json(&mut out, &e)?,
        Format::Text => render::explanation(&mut out, &e, lang, Style::detect())?,
    }
    Ok(0)
}

pub fn compare(args: &CompareArgs) -> anyhow::Result<u8> {
    let lang = args.out.lang();
    let (a, b) = match (resolve(&args.a), resolve(&args.b)) {
        (Ok(a), Ok(b)) => (a, b),
        _ => return Ok(2),
    };
    let c = sipkit_codes::compare(a, b, lang).context("comparing the codes")?;
    let mut out = io::stdout().lock();
    match args.out.format {
        Format::Json => write_json(&mut out, &c)?,
        Format::Text => render::comparison(&mut out, &c, lang, Style::detect())?,
    }
    Ok(0)
}

/// One line of `sipkit codes --format json`.
#[derive(Serialize)]
struct CodeLine {
    code: u16,
    reason: String,
    title: String,
    class: String,
    class_name: String,
    deprecated: bool,
    summary: String,
}

pub fn codes(args: &CodesArgs) -> anyhow::Result<u8> {
    let lang = args.out.lang();
    let mut lines = Vec::new();
    for code in registered_codes().filter(|c| args.class.is_none_or(|k| class_of(*c) == k)) {
        let e = kb_explain(code, lang).context("explaining a registered code")?;
        lines.push(CodeLine {
            code,
            reason: e.reason.clone().unwrap_or_default(),
            title: e.title,
            class: e.class,
            class_name: e.class_name,
            deprecated: e.deprecated,
            summary: e.summary,
        });
    }
    let mut out = io::stdout().lock();
    match args.out.format {
        Format::Json => write_json(&mut out, &lines)?,
        Format::Text => {
            let style = Style::detect();
            for l in &lines {
                let mut name = l.title.clone();
                if l.title != l.reason {
                    name = format!("{} ({})", l.title, l.reason);
                }
                if l.deprecated {
                    name = format!("{name} [{}]", ui(lang, "deprecation").to_lowercase());
                }
                writeln!(out, "{}  {}", style.code(l.code), name)?;
            }
        }
    }
    out.flush()?;
    Ok(0)
}

fn write_json<T: Serialize>(out: &mut impl Write, value: &T) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_filter_values() {
        assert_eq!(parse_class("3xx"), Ok(3));
        assert_eq!(parse_class("4XX"), Ok(4));
        assert_eq!(parse_class("6"), Ok(6));
        assert!(parse_class("7xx").is_err());
        assert!(parse_class("33").is_err());
        assert!(parse_class("").is_err());
    }

    #[test]
    fn lang_values() {
        assert_eq!(parse_lang("ru"), Ok(Lang::RU));
        assert_eq!(parse_lang("EN"), Ok(Lang::EN));
        assert!(parse_lang("de").is_err());
    }
}
