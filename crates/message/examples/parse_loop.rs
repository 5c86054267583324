//! Parses one file N times with sipkit or rsip, for instruction counts under
//! callgrind (`bench/parse/instructions.sh`), which do not depend on machine load.
//!
//! `parse_loop sipkit|sipkit-raw|rsip|sipkit-typed|sipkit-raw-typed|rsip-typed FILE N`

// Bench code: measures time and reads fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout, clippy::disallowed_methods, missing_docs)]

use std::hint::black_box;

#[path = "../benches/common/readers.rs"]
mod readers;
use readers::{rsip_parse, rsip_typed, sipkit_parse, sipkit_raw, sipkit_raw_typed, sipkit_typed};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: parse_loop sipkit|sipkit-raw|rsip|sipkit-typed|sipkit-raw-typed|rsip-typed FILE N");
        std::process::exit(2);
    }
    let f: fn(&[u8]) -> usize = match args[1].as_str() {
        "sipkit" => sipkit_parse,
        "rsip" => rsip_parse,
        "sipkit-typed" => sipkit_typed,
        "sipkit-raw" => sipkit_raw,
        "sipkit-raw-typed" => sipkit_raw_typed,
        "rsip-typed" => rsip_typed,
        other => {
            eprintln!("unknown parser {other}");
            std::process::exit(2);
        }
    };
    let buf = match std::fs::read(&args[2]) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{}: {e}", args[2]);
            std::process::exit(1);
        }
    };
    let n: usize = args[3].parse().unwrap_or(1000);
    let mut acc = 0usize;
    for _ in 0..n {
        acc = acc.wrapping_add(f(black_box(&buf)));
    }
    if acc == 0 {
        eprintln!("nothing parsed");
        std::process::exit(1);
    }
}
