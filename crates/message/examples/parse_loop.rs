//! Parses one file N times with sipkit or rsip, for instruction counts under
//! callgrind (`bench/parse/instructions.sh`), which do not depend on machine load.
//!
//! `parse_loop sipkit|sipkit-raw|rsip|sipkit-typed|sipkit-raw-typed|rsip-typed FILE N`

use std::hint::black_box;

use rsip::prelude::*;

fn sipkit(buf: &[u8]) -> usize {
    match sipkit_message::parse(buf) {
        Ok(m) => m.headers().len(),
        Err(_) => 0,
    }
}

fn sipkit_raw(buf: &[u8]) -> usize {
    match sipkit_message::parse_raw(buf) {
        Ok(m) => m.headers().len(),
        Err(_) => 0,
    }
}

fn sipkit_raw_typed(buf: &[u8]) -> usize {
    let Ok(m) = sipkit_message::parse_raw(buf) else {
        return 0;
    };
    let mut n = m.top_via().map_or(0, |v| v.branch().map_or(0, str::len));
    n += m.from().map_or(0, |f| f.tag().map_or(0, str::len));
    n += m.cseq().map_or(0, |c| c.seq as usize);
    n += m.call_id().map_or(0, str::len);
    for c in m.contacts() {
        n += c.map_or(0, |c| c.address().map_or(0, |a| a.uri.as_str().len()));
    }
    n
}

fn rsip_parse(buf: &[u8]) -> usize {
    match rsip::SipMessage::try_from(buf) {
        Ok(m) => m.headers().iter().count(),
        Err(_) => 0,
    }
}

fn sipkit_typed(buf: &[u8]) -> usize {
    let Ok(m) = sipkit_message::parse(buf) else {
        return 0;
    };
    let mut n = m.top_via().map_or(0, |v| v.branch().map_or(0, str::len));
    n += m.from().tag().map_or(0, str::len);
    n += m.cseq().seq as usize + m.call_id().len();
    for c in m.contacts() {
        n += c.map_or(0, |c| c.address().map_or(0, |a| a.uri.as_str().len()));
    }
    n
}

fn rsip_typed(buf: &[u8]) -> usize {
    let Ok(m) = rsip::SipMessage::try_from(buf) else {
        return 0;
    };
    let mut n = 0;
    if let Some(via) = m.via_header().ok().and_then(|v| v.typed().ok()) {
        n += via.branch().map_or(0, |b| b.to_string().len());
    }
    if let Some(Some(t)) = m.from_header().ok().and_then(|f| f.tag().ok()) {
        n += t.to_string().len();
    }
    if let Some(c) = m.cseq_header().ok().and_then(|c| c.typed().ok()) {
        n += c.seq as usize;
    }
    n += m.call_id_header().map_or(0, |c| c.to_string().len());
    for c in m.contact_headers() {
        n += c.typed().map_or(1, |c| c.uri.to_string().len());
    }
    n
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: parse_loop sipkit|sipkit-raw|rsip|sipkit-typed|sipkit-raw-typed|rsip-typed FILE N");
        std::process::exit(2);
    }
    let f: fn(&[u8]) -> usize = match args[1].as_str() {
        "sipkit" => sipkit,
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
