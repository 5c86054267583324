//! `sipkit`: the command-line front end. Thin: parses flags, calls the
//! library crates, renders their results.

mod codes_cmd;
mod render;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// sipkit — a toolkit for SIP (VoIP) engineers.
///
/// Explains and compares every IANA-registered SIP response code in English
/// and Russian.
#[derive(Parser, Debug)]
#[command(name = "sipkit", version, about, long_about = None, propagate_version = true)]
#[command(after_help = "Examples:\n  sipkit explain 302\n  sipkit explain \"SIP/2.0 486 Busy Here\" --lang ru\n  sipkit compare 202 302 --format json\n  sipkit codes --class 4xx")]
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Explain(args) => codes_cmd::explain(args),
        Command::Compare(args) => codes_cmd::compare(args),
        Command::Codes(args) => codes_cmd::codes(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // A closed pipe (`sipkit codes | head`) is not an error.
            if err
                .chain()
                .any(|e| e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
            {
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(io::stderr(), "sipkit: error: {err:#}");
            ExitCode::from(1)
        }
    }
}
