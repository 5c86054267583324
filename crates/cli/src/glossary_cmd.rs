//! `sipkit glossary`: the terms the reference uses, with the one rendering
//! of each in the chosen language and a one-line definition.

use std::io::{self, Write};

use clap::Args;
use sipkit_codes::{glossary, glossary_entry, GlossaryEntry};

use crate::codes_cmd::{write_json, Format, OutputOpts};
use crate::render::{self, Style};

/// Arguments of `sipkit glossary`.
#[derive(Args, Debug)]
#[command(
    after_help = "TERM may be the term in any language sipkit speaks (notifier, уведомитель) or its id (early-dialog).\nWithout TERM, every term is listed.\nExit status: 0 printed, 2 no such term."
)]
pub struct GlossaryArgs {
    /// The term to define (several words need no quotes)
    #[arg(value_name = "TERM", num_args = 0..)]
    pub term: Vec<String>,
    #[command(flatten)]
    pub out: OutputOpts,
}

pub fn run(args: &GlossaryArgs) -> anyhow::Result<u8> {
    let lang = args.out.lang();
    let entries: Vec<&GlossaryEntry> = if args.term.is_empty() {
        glossary(lang).iter().collect()
    } else {
        let q = args.term.join(" ");
        match glossary_entry(lang, &q) {
            Some(e) => vec![e],
            None => {
                let _ = writeln!(
                    io::stderr(),
                    "sipkit: error: {q:?} is not in the glossary; `sipkit glossary` lists every term"
                );
                return Ok(2);
            }
        }
    };
    let mut out = io::stdout().lock();
    match args.out.format {
        Format::Json => write_json(&mut out, &entries)?,
        Format::Text => render::glossary(&mut out, &entries, Style::detect())?,
    }
    Ok(0)
}
