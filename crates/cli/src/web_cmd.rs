//! `sipkit web`: the reference as a web site, served or exported as files.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;
use clap::Args;

/// Arguments of `sipkit web`.
#[derive(Args, Debug)]
#[command(
    after_help = "Pages: /en/ and /ru/ (every code, search), /en/302, /en/compare/202-vs-302, /en/search?q=moved.\nAPI: /api/v1/codes?lang=ru, /api/v1/codes/302, /api/v1/compare/202/302, described by /api/v1/openapi.json.\nWith --export DIR, the whole site is written as static files (serve them at the root of a host).\nExit status: 0 stopped by Ctrl-C or SIGTERM, or exported; 1 an error."
)]
pub struct WebArgs {
    /// Address to listen on (port 0 picks a free port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Write the whole site as static files into DIR instead of serving it
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// The site's public URL, named by canonical links and the sitemap [default: http://ADDR]
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
}

pub fn run(args: &WebArgs) -> anyhow::Result<u8> {
    match &args.export {
        Some(dir) => export(args, dir),
        None => serve(args),
    }
}

fn serve(args: &WebArgs) -> anyhow::Result<u8> {
    sipkit_web::run_blocking(args.listen, args.base_url.as_deref(), |addr, base| {
        let mut out = io::stdout().lock();
        let _ = writeln!(
            out,
            "sipkit web: serving the SIP response-code reference at http://{addr}/"
        );
        if base != format!("http://{addr}") {
            let _ = writeln!(out, "sipkit web: pages name {base} as their address");
        }
        let _ = writeln!(out, "sipkit web: press Ctrl-C to stop");
        let _ = out.flush();
    })
    .with_context(|| format!("serving on {}", args.listen))?;
    let _ = writeln!(io::stderr(), "sipkit web: stopped");
    Ok(0)
}

fn export(args: &WebArgs, dir: &std::path::Path) -> anyhow::Result<u8> {
    let base = args
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen));
    let site = sipkit_web::Site::new(&base);
    let started = Instant::now();
    let shown = AtomicUsize::new(0);
    let progress = |done: usize, total: usize| {
        // One line per thousand files; the total comes at the end.
        let step = done / 1000;
        if step > shown.load(Ordering::Relaxed) && shown.fetch_max(step, Ordering::Relaxed) < step {
            let _ = writeln!(io::stderr(), "sipkit web: exported {done} of {total} files");
        }
    };
    let summary = sipkit_web::export(&site, dir, &progress)
        .with_context(|| format!("exporting the site to {}", dir.display()))?;
    let _ = writeln!(
        io::stderr(),
        "sipkit web: exported {} files ({:.1} MB) to {} in {:.1} s; pages name {base} as their address",
        summary.files,
        summary.bytes as f64 / 1e6,
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(0)
}
