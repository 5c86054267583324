//! `sipkit`: the command-line front end. Thin: parses flags, calls the
//! library crates, renders their results.

// Printing the result on standard output is this binary's job.
#![allow(clippy::print_stdout)]
// clap turns the doc comments of the argument structs into `--help` text, so
// they are written for a terminal (`[default: sip:USER@<host>]`), not rustdoc.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

mod analyze_cmd;
mod auth_setup;
mod ban_cmd;
mod codes_cmd;
mod glossary_cmd;
mod logging;
mod metrics_http;
mod parse_cmd;
mod render;
mod serve_cmd;
mod ua_cmd;
mod user_cmd;
mod web_cmd;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: `sipkit analyze` allocates a
/// few short-lived strings per packet and `sipkit serve` a few per request,
/// and glibc's malloc spent a third of analyze's time on them (perf, see
/// BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// sipkit — a toolkit for SIP (VoIP) engineers.
///
/// Explains and compares every IANA-registered SIP response code in English
/// and Russian.
#[derive(Parser, Debug)]
#[command(name = "sipkit", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Examples:\n  sipkit explain 302\n  sipkit explain \"SIP/2.0 486 Busy Here\" --lang ru\n  sipkit compare 202 302 --format json\n  sipkit codes --class 4xx"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Explain a response code: meaning, when you see it, how to fix it, the spec, related codes
    Explain(codes_cmd::ExplainArgs),
    /// Compare two response codes: classes, key differences, when to use which
    Compare(codes_cmd::CompareArgs),
    /// List the registered response codes, one per line
    Codes(codes_cmd::CodesArgs),
    /// Define the terms the reference uses (B2BUA, early dialog, notifier …) in the chosen language
    Glossary(glossary_cmd::GlossaryArgs),
    /// Check a SIP message against RFC 3261 and show its structure, or exactly where it is broken
    Parse(parse_cmd::ParseArgs),
    /// Run a registrar and redirect server (302 from registered contacts, 301, 480, 404) on UDP and TCP
    Serve(serve_cmd::ServeArgs),
    /// Serve the reference as a web site (every code and pair, both languages, a JSON API), or export it as static files
    Web(web_cmd::WebArgs),
    /// Run a headless user agent: listen, optionally register, answer calls, act as transferee on REFER
    Ua(ua_cmd::UaArgs),
    /// Place a call, following redirects (302 keeps the original URI, 301 replaces it), and report the outcome
    Call(ua_cmd::CallArgs),
    /// Call a phone, transfer it with REFER, follow the NOTIFYs, and diagnose what went wrong
    Transfer(ua_cmd::TransferArgs),
    /// Manage the users of sipkit serve (digest authentication): add, list, remove, passwd
    User(user_cmd::UserArgs),
    /// Show and change the bans of sipkit serve: list, add, remove
    Ban(ban_cmd::BanArgs),
    /// Analyze a capture (pcap, pcapng, .gz, stdin): calls, ladders, every response explained, what went wrong
    Analyze(analyze_cmd::AnalyzeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Explain(args) => codes_cmd::explain(args),
        Command::Compare(args) => codes_cmd::compare(args),
        Command::Codes(args) => codes_cmd::codes(args),
        Command::Glossary(args) => glossary_cmd::run(args),
        Command::Parse(args) => parse_cmd::run(args),
        Command::Serve(args) => serve_cmd::run(args),
        Command::Web(args) => web_cmd::run(args),
        Command::Ua(args) => ua_cmd::ua(args),
        Command::Call(args) => ua_cmd::call(args),
        Command::Transfer(args) => ua_cmd::transfer(args),
        Command::User(args) => user_cmd::run(args),
        Command::Ban(args) => ban_cmd::run(args),
        Command::Analyze(args) => analyze_cmd::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // A closed pipe (`sipkit codes | head`) is not an error.
            if err.chain().any(|e| {
                e.downcast_ref::<io::Error>()
                    .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(io::stderr(), "sipkit: error: {err:#}");
            ExitCode::from(1)
        }
    }
}
