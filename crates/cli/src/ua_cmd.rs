//! `sipkit ua`, `sipkit call`, `sipkit transfer`: the test user agent
//! (sipkit-ua) on the command line. Each prints what happens as it happens
//! — every response with its explanation from the code reference — and
//! with `--format json` one JSON document at the end (progress then goes to
//! stderr).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};
use sipkit_codes::Lang;
use sipkit_dialog::RedirectPolicy;
use sipkit_transport::{ListenSpec, Now, Transport};
use sipkit_ua::{AgentOptions, Bind, CallOptions, CallReport, Note, TransferOptions, UserAgent};

/// Output format.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// Lines as things happen, and a summary
    #[default]
    Text,
    /// One JSON document at the end (progress goes to stderr)
    Json,
}

/// Options every UA command takes.
#[derive(Args, Debug, Clone)]
pub struct UaCommon {
    /// Listen on TRANSPORT:IP:PORT (udp or tcp; port 0 picks a free one)
    #[arg(long, value_name = "SPEC")]
    pub listen: Option<ListenSpec>,
    /// The IP:PORT to put in Via and Contact, when it differs from the listening address (NAT)
    #[arg(long, value_name = "IP:PORT")]
    pub advertise: Option<SocketAddr>,
    /// Language of the explanations: en or ru [default: from LC_ALL, LC_MESSAGES or LANG, else en]
    #[arg(long, value_name = "LANG", value_parser = Lang::parse)]
    pub lang: Option<Lang>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Seed for tags, branches and Call-IDs (default: from the clock), for reproducible runs
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

impl UaCommon {
    fn lang(&self) -> Lang {
        Lang::choose(self.lang, |k| std::env::var(k).ok())
    }
}

/// Digest credentials (RFC 3261 §22): the password for `--user`.
#[derive(Args, Debug, Clone)]
pub struct AuthArgs {
    /// The password to answer digest challenges (401/407) with, as --user [default: $SIPKIT_PASSWORD]
    #[arg(long, value_name = "PW", conflicts_with = "password_file")]
    pub password: Option<String>,
    /// Read the password from the first line of FILE
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

impl AuthArgs {
    /// The password: --password, else the first line of --password-file,
    /// else SIPKIT_PASSWORD; `None` when none is given (or it is empty).
    fn password(&self) -> Result<Option<String>, String> {
        let pw = match (&self.password, &self.password_file) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!("cannot read the password file {}: {e}", path.display())
                })?;
                Some(text.lines().next().unwrap_or("").to_owned())
            }
            (None, None) => std::env::var("SIPKIT_PASSWORD").ok(),
        };
        Ok(pw.filter(|p| !p.is_empty()))
    }

    /// The credentials of `user`, if a password is given.
    fn credentials(&self, user: &str) -> Result<Option<sipkit_ua::Credentials>, String> {
        Ok(self.password()?.map(|password| sipkit_ua::Credentials {
            user: user.to_owned(),
            password,
        }))
    }
}

fn parse_refer_response(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(c) if sipkit_dialog::AcceptStatus::from_code(c).is_some() => Ok(c),
        _ => Err(format!("{s:?}: expected 200 or 202")),
    }
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.0..=86_400.0).contains(&v) {
        return Err(format!("{s} is out of range: expected 0 to 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// Arguments of `sipkit call`.
#[derive(Args, Debug)]
#[command(
    after_help = "Follows 3xx redirects as RFC 3261 §8.1.3.4 says: the Contacts in decreasing q (equal q in the order given), \
each as a new INVITE with the same Call-ID and From tag and a higher CSeq; stops on a loop or after --max-redirects. \
A 302 keeps the original URI for future calls; a 301 names the new permanent address (with --book and --update it is \
written to the address book). 305 and 380 are explained, not followed. \
A 401/407 is answered once with --user and --password (or --password-file, or SIPKIT_PASSWORD): the first offered \
algorithm of SHA-512-256, SHA-256 and MD5, qop=auth, the next CSeq; a second challenge or a 403 stops with auth_failed.\n\
Examples:\n  sipkit call sip:bob@127.0.0.1:5070\n  sipkit call sip:bob@pbx.example.com --hold 5 --format json\n  \
sipkit call bob --book ~/.sipkit-book --update\n\
Exit status: 0 the call was answered, 1 it failed (the last response or the reason is printed), 2 usage error."
)]
pub struct CallArgs {
    /// The SIP URI to call, or a NAME from --book
    #[arg(value_name = "URI")]
    pub uri: String,
    /// The From URI [default: sip:sipkit@<local address>]
    #[arg(long, value_name = "URI")]
    pub from: Option<String>,
    /// How many 3xx to follow at most
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_redirects: usize,
    /// Cancel the call if it is not answered within SECS
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_secs)]
    pub ring_timeout: Duration,
    /// Stay in the call SECS after it is answered, then hang up
    #[arg(long, value_name = "SECS", default_value = "0", value_parser = parse_secs)]
    pub hold: Duration,
    /// Send every request to this IP:PORT (an outbound proxy) instead of the URI's host
    #[arg(long, value_name = "IP:PORT")]
    pub proxy: Option<SocketAddr>,
    /// An address book: lines of "NAME URI"; URI may then be a NAME
    #[arg(long, value_name = "FILE")]
    pub book: Option<PathBuf>,
    /// With --book: after a 301, rewrite the entries of the old URI to the new permanent address
    #[arg(long, requires = "book")]
    pub update: bool,
    /// The user: the digest user name, and the user part of From and Contact
    #[arg(long, value_name = "NAME", default_value = "sipkit")]
    pub user: String,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub common: UaCommon,
}

/// Arguments of `sipkit transfer`.
#[derive(Args, Debug)]
#[command(
    after_help = "Calls URI and, once it is answered, sends REFER with Refer-To: TARGET (RFC 3515), then reports the \
2xx (200, or 202 from RFC 3515 equipment: both mean accepted; or the error and what it means), every NOTIFY's sipfrag status, and the outcome: transferred, failed, no_notify or \
refer_rejected. When no NOTIFY comes within --notify-timeout it diagnoses why from what it saw: a refused subscription \
(Refer-Sub: false), an Expires of 0, a NOTIFY with a failure, or none at all (then the transferor's Contact is probably \
not reachable from the transferee: NAT, firewall, transport). Then it hangs up its call (RFC 5589 blind transfer). \
A 401/407 to the INVITE is answered with --user and --password as `sipkit call` does.\n\
Examples:\n  sipkit transfer sip:bob@127.0.0.1:5070 --to sip:carol@127.0.0.1:5080\n  \
sipkit transfer sip:1001@pbx.example.com --to sip:1002@pbx.example.com --notify-timeout 60 --format json\n\
Exit status: 0 transferred, 1 the transfer failed or its outcome is unknown, 2 usage error."
)]
pub struct TransferArgs {
    /// The transferee: the SIP URI to call first
    #[arg(value_name = "URI")]
    pub uri: String,
    /// The transfer target (Refer-To)
    #[arg(long = "to", value_name = "TARGET")]
    pub target: String,
    /// How long to wait for NOTIFYs after the REFER is accepted
    #[arg(long, value_name = "SECS", default_value = "32", value_parser = parse_secs)]
    pub notify_timeout: Duration,
    /// Ask for no NOTIFY (Refer-Sub: false, RFC 4488)
    #[arg(long)]
    pub no_refer_sub: bool,
    /// The From URI [default: sip:sipkit@<local address>]
    #[arg(long, value_name = "URI")]
    pub from: Option<String>,
    /// How many 3xx to follow at most when calling URI
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_redirects: usize,
    /// Give up the first call if it is not answered within SECS
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_secs)]
    pub ring_timeout: Duration,
    /// Send every request to this IP:PORT (an outbound proxy)
    #[arg(long, value_name = "IP:PORT")]
    pub proxy: Option<SocketAddr>,
    /// The user: the digest user name, and the user part of From and Contact
    #[arg(long, value_name = "NAME", default_value = "sipkit")]
    pub user: String,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub common: UaCommon,
}

/// Arguments of `sipkit ua`.
#[derive(Args, Debug)]
#[command(
    after_help = "Listens (default udp:127.0.0.1:5060), optionally registers, answers every INVITE with --answer after \
--answer-delay (180 Ringing meanwhile), and acts as transferee: on REFER it answers 200 (RFC 7647 §5; --refer-response 202 to act like RFC 3515 \
equipment), sends NOTIFY \"100 Trying\", \
calls the Refer-To target with Referred-By, sends NOTIFY with the final status, and hangs up the old call. \
No media is sent or received. \
With --password (or --password-file, or SIPKIT_PASSWORD) a 401/407 to REGISTER is answered as --user; refreshes reuse \
the nonce (nc + 1), a stale nonce is answered again, a wrong password is reported as auth_failed.\n\
Examples:\n  sipkit ua --listen udp:127.0.0.1:5070\n  sipkit ua --listen udp:0.0.0.0:5070 --register sip:127.0.0.1:5060 --user alice\n  \
sipkit ua --answer 486                 # always busy\n  sipkit ua --answer-delay 3 --hangup-after 10 --calls 1 --format json\n\
Exit status: 0 stopped normally (signal, --duration or --calls), 1 a runtime error (cannot listen, …), 2 usage error."
)]
pub struct UaArgs {
    /// The user part of the Contact (and of the AOR registered), and the digest user name
    #[arg(long, value_name = "USER", default_value = "sipkit")]
    pub user: String,
    /// The status to answer INVITEs with (200 to accept, 486/603/… to refuse, 180 to ring until cancelled)
    #[arg(long, value_name = "CODE", default_value_t = 200, value_parser = clap::value_parser!(u16).range(100..700))]
    pub answer: u16,
    /// Ring this long before answering
    #[arg(long, value_name = "SECS", default_value = "0", value_parser = parse_secs)]
    pub answer_delay: Duration,
    /// Register to this registrar URI (e.g. sip:127.0.0.1:5060), answering a digest challenge with --password
    #[arg(long, value_name = "URI")]
    pub register: Option<String>,
    /// The address of record to register [default: sip:USER@<registrar host>]
    #[arg(long, value_name = "URI")]
    pub aor: Option<String>,
    /// The registration expiry asked for
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub expires: u32,
    /// Hang up every established call after SECS
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub hangup_after: Option<Duration>,
    /// Exit after N inbound calls have ended
    #[arg(long, value_name = "N")]
    pub calls: Option<usize>,
    /// Exit after SECS
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub duration: Option<Duration>,
    /// Send NOTIFYs even when the REFER says Refer-Sub: false (act as an agent without norefersub)
    #[arg(long)]
    pub ignore_refer_sub: bool,
    /// The 2xx an accepted REFER gets: 200 as RFC 7647 §5 requires, or 202 to act like legacy RFC 3515 equipment
    #[arg(long, value_name = "CODE", default_value_t = 200, value_parser = parse_refer_response)]
    pub refer_response: u16,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub common: UaCommon,
}

/// Prints notes as they come: to stdout in text mode, to stderr in JSON mode.
struct Printer {
    lang: Lang,
    json: bool,
    start: Instant,
}

impl Printer {
    fn new(common: &UaCommon) -> Printer {
        Printer {
            lang: common.lang(),
            json: common.format == Format::Json,
            start: Now::read().instant,
        }
    }

    fn line(&self, text: &str) {
        let t = Now::read()
            .instant
            .saturating_duration_since(self.start)
            .as_secs_f64();
        let line = format!("[{t:7.3}] {text}");
        if self.json {
            let _ = writeln!(std::io::stderr(), "{line}");
        } else {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }

    fn explain(&self, code: u16) -> String {
        sipkit_codes::explain(code, self.lang)
            .map(|e| e.summary)
            .unwrap_or_default()
    }

    /// A sentence of the user agent from the knowledge base, in the language.
    fn say(&self, key: &str, args: &[(&str, &str)]) -> String {
        sipkit_codes::agent_text(self.lang, key, args)
    }

    fn note(&self, n: Note) {
        match n {
            Note::Listening { listen, contact } => {
                self.line(&self.say("listening", &[("listen", &listen), ("contact", &contact)]));
            }
            Note::Sent {
                method,
                uri,
                cseq,
                to,
            } => self.line(&self.say(
                "sent",
                &[
                    ("method", &method),
                    ("uri", &uri),
                    ("cseq", &cseq.to_string()),
                    ("to", &to.to_string()),
                ],
            )),
            Note::Response {
                status,
                reason,
                method,
                contacts,
            } => {
                self.line(&format!(
                    "← {status} {reason} ({method}): {}",
                    self.explain(status)
                ));
                for c in contacts {
                    self.line(&format!("    Contact: <{c}>"));
                }
            }
            Note::Request {
                method,
                uri,
                from,
                source,
            } => self.line(&self.say(
                "request_from",
                &[
                    ("method", &method),
                    ("uri", &uri),
                    ("from", &from),
                    ("source", &source.to_string()),
                ],
            )),
            Note::Replied {
                status,
                reason,
                method,
            } => self.line(&format!("→ {status} {reason} ({method})")),
            Note::Redirect {
                status,
                queued,
                looped,
                next,
                stop,
            } => {
                let status = status.to_string();
                if !looped.is_empty() {
                    let uris = looped.join(", ");
                    let t = self.say("redirect_looped", &[("status", &status), ("uris", &uris)]);
                    self.line(&format!("    {t}"));
                }
                match (next, stop) {
                    (Some(n), _) => {
                        let mut t =
                            self.say("redirect_following", &[("status", &status), ("uri", &n)]);
                        if queued.len() > 1 {
                            let uris = queued.join(", ");
                            let order = self.say("redirect_q_order", &[("uris", &uris)]);
                            t = format!("{t} ({order})");
                        }
                        self.line(&format!("    {t}"));
                    }
                    (None, Some(s)) => {
                        let t = self.say(
                            "redirect_not_following",
                            &[("status", &status), ("stop", &s)],
                        );
                        self.line(&format!("    {t}"));
                    }
                    _ => {}
                }
            }
            Note::Notify {
                sipfrag,
                subscription_state,
                reason,
                answered,
                ..
            } => {
                let r = reason.map(|r| format!(";reason={r}")).unwrap_or_default();
                let state = format!("{subscription_state}{r}");
                let t = self.say(
                    "notify_line",
                    &[
                        ("sipfrag", &sipfrag),
                        ("state", &state),
                        ("answered", &answered.to_string()),
                    ],
                );
                self.line(&format!("    {t}"));
            }
            Note::Info { text } => self.line(&format!("    {text}")),
            _ => {}
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")
}

fn usage(msg: &str) -> u8 {
    let _ = writeln!(std::io::stderr(), "sipkit: error: {msg}");
    2
}

/// Binds the user agent for a call to `uri`: the given --listen, or UDP on
/// the local address toward the URI's host, port 0.
async fn agent_for(
    common: &UaCommon,
    uri: &str,
    proxy: Option<SocketAddr>,
    opts: AgentOptions,
) -> anyhow::Result<UserAgent> {
    let toward = match proxy {
        Some(p) => Some(p),
        None => sipkit_ua::resolve(uri).await.ok(),
    };
    let spec = common.listen.unwrap_or_else(|| {
        let ip = toward
            .map(sipkit_ua::local_ip_for)
            .unwrap_or_else(|| [127, 0, 0, 1].into());
        ListenSpec {
            transport: Transport::Udp,
            addr: SocketAddr::new(ip, 0),
        }
    });
    let bind = Bind {
        listen: spec,
        advertise: common.advertise,
        toward,
        seed: common.seed.unwrap_or_else(sipkit_transport::seed),
    };
    Ok(UserAgent::bind(&bind, opts, Now::read()).await?)
}

/// The agent behind `sipkit call` and `sipkit transfer`: an unexpected
/// INVITE is refused with 486.
fn command_agent(
    lang: Lang,
    user: &str,
    credentials: Option<sipkit_ua::Credentials>,
) -> AgentOptions {
    AgentOptions {
        user: user.to_owned(),
        answer_code: 486,
        lang,
        credentials,
        ..AgentOptions::default()
    }
}

fn check_uri(uri: &str, lang: Lang) -> Result<(), String> {
    let quoted = format!("{uri:?}");
    match sipkit_message::Uri::parse(uri) {
        Ok(u) if u.is_sip() => Ok(()),
        Ok(_) => Err(sipkit_codes::agent_text(
            lang,
            "usage_not_sip",
            &[("uri", &quoted)],
        )),
        Err(e) => Err(sipkit_codes::agent_text(
            lang,
            "usage_bad_uri",
            &[("uri", &quoted), ("error", &e.to_string())],
        )),
    }
}

fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v).context("writing JSON")?;
    writeln!(out).context("writing JSON")?;
    Ok(())
}

fn call_summary(p: &Printer, r: &CallReport) {
    let status = r.final_status.map_or_else(
        || r.final_reason.clone().unwrap_or_default(),
        |s| format!("{s} {}", r.final_reason.clone().unwrap_or_default()),
    );
    let n = r
        .redirects
        .iter()
        .filter(|x| x.followed)
        .count()
        .to_string();
    let line = if r.answered() {
        p.say(
            "call_answered",
            &[("status", &status), ("uri", &r.final_uri), ("count", &n)],
        )
    } else {
        p.say(
            "call_failed",
            &[
                ("stopped", &r.stopped),
                ("status", &status),
                ("uri", &r.final_uri),
            ],
        )
    };
    p.line(&line);
    p.line(&p.say(
        "call_future",
        &[
            ("uri", &r.future_requests_uri),
            ("rule", &r.future_requests_rule),
        ],
    ));
}

/// `sipkit call`.
pub fn call(args: &CallArgs) -> anyhow::Result<u8> {
    let mut uri = args.uri.clone();
    let book_text = match &args.book {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the address book {}", path.display()))?,
        ),
        None => None,
    };
    if let Some(text) = &book_text {
        if let Some(found) = sipkit_ua::book::lookup(text, &uri) {
            uri = found;
        }
    }
    if let Err(e) = check_uri(&uri, args.common.lang()) {
        return Ok(usage(&e));
    }
    let credentials = match args.auth.credentials(&args.user) {
        Ok(c) => c,
        Err(e) => return Ok(usage(&e)),
    };
    let printer = Printer::new(&args.common);
    let mut opts = CallOptions::new(&uri);
    opts.from = args.from.clone();
    opts.policy = RedirectPolicy {
        max_redirects: args.max_redirects,
    };
    opts.ring_timeout = args.ring_timeout;
    opts.hold = args.hold;
    opts.proxy = args.proxy;
    opts.lang = printer.lang;
    let report = runtime()?.block_on(async {
        let agent = command_agent(printer.lang, &args.user, credentials);
        let ua = agent_for(&args.common, &uri, args.proxy, agent).await?;
        printer.line(&printer.say(
            "call_start",
            &[
                ("contact", &ua.contact()),
                ("uri", &uri),
                ("listen", &ua.listen()),
            ],
        ));
        let mut notes = |n: Note| printer.note(n);
        anyhow::Ok(ua.call(opts, &mut notes).await?)
    })?;
    if let (Some(path), Some(text), true, Some(new)) = (
        &args.book,
        &book_text,
        args.update,
        &report.permanent_address,
    ) {
        let (updated, names) = sipkit_ua::book::update(text, &report.original_uri, new);
        if !names.is_empty() {
            std::fs::write(path, updated)
                .with_context(|| format!("writing the address book {}", path.display()))?;
            printer.line(&printer.say(
                "book_updated",
                &[
                    ("path", &path.display().to_string()),
                    ("names", &names.join(", ")),
                    ("uri", new),
                ],
            ));
        }
    }
    if printer.json {
        print_json(&report)?;
    } else {
        call_summary(&printer, &report);
    }
    Ok(if report.answered() { 0 } else { 1 })
}

/// `sipkit transfer`.
pub fn transfer(args: &TransferArgs) -> anyhow::Result<u8> {
    for u in [&args.uri, &args.target] {
        if let Err(e) = check_uri(u, args.common.lang()) {
            return Ok(usage(&e));
        }
    }
    let credentials = match args.auth.credentials(&args.user) {
        Ok(c) => c,
        Err(e) => return Ok(usage(&e)),
    };
    let printer = Printer::new(&args.common);
    let mut call = CallOptions::new(&args.uri);
    call.from = args.from.clone();
    call.policy = RedirectPolicy {
        max_redirects: args.max_redirects,
    };
    call.ring_timeout = args.ring_timeout;
    call.proxy = args.proxy;
    let opts = TransferOptions {
        call,
        target: args.target.clone(),
        notify_timeout: args.notify_timeout,
        no_refer_sub: args.no_refer_sub,
        lang: printer.lang,
    };
    let report = runtime()?.block_on(async {
        let agent = command_agent(printer.lang, &args.user, credentials);
        let ua = agent_for(&args.common, &args.uri, args.proxy, agent).await?;
        printer.line(&printer.say(
            "transfer_start",
            &[
                ("contact", &ua.contact()),
                ("uri", &args.uri),
                ("target", &args.target),
                ("listen", &ua.listen()),
            ],
        ));
        let mut notes = |n: Note| printer.note(n);
        anyhow::Ok(ua.transfer(opts, &mut notes).await?)
    })?;
    if printer.json {
        print_json(&report)?;
    } else {
        match report.refer_status {
            Some(s) => {
                let reason = report.refer_reason.clone().unwrap_or_default();
                printer.line(&format!("REFER: {s} {reason}: {}", printer.explain(s)));
            }
            None => printer.line(&printer.say("transfer_refer_not_sent", &[])),
        }
        for (i, n) in report.notifications.iter().enumerate() {
            printer.line(&format!(
                "NOTIFY {}: \"{}\" ({})",
                i + 1,
                n.sipfrag,
                n.subscription_state
            ));
        }
        printer.line(&printer.say(
            "transfer_outcome",
            &[
                ("outcome", &report.outcome),
                ("diagnosis", &report.diagnosis),
            ],
        ));
    }
    Ok(if report.outcome == "transferred" {
        0
    } else {
        1
    })
}

/// `sipkit ua`.
pub fn ua(args: &UaArgs) -> anyhow::Result<u8> {
    if let Some(r) = &args.register {
        if let Err(e) = check_uri(r, args.common.lang()) {
            return Ok(usage(&e));
        }
    }
    let credentials = match args.auth.credentials(&args.user) {
        Ok(c) => c,
        Err(e) => return Ok(usage(&e)),
    };
    crate::logging::init();
    let printer = Printer::new(&args.common);
    let opts = AgentOptions {
        user: args.user.clone(),
        answer_code: args.answer,
        answer_delay: args.answer_delay,
        register: args.register.clone(),
        aor: args.aor.clone(),
        register_expires: args.expires,
        hangup_after: args.hangup_after,
        calls: args.calls,
        duration: args.duration,
        norefersub: !args.ignore_refer_sub,
        refer_response: sipkit_dialog::AcceptStatus::from_code(args.refer_response)
            .unwrap_or_default(),
        lang: printer.lang,
        credentials,
        ..AgentOptions::default()
    };
    let spec = args.common.listen.unwrap_or(ListenSpec {
        transport: Transport::Udp,
        addr: SocketAddr::from(([127, 0, 0, 1], 5060)),
    });
    let report = runtime()?.block_on(async {
        let bind = Bind {
            listen: spec,
            advertise: args.common.advertise,
            toward: None,
            seed: args.common.seed.unwrap_or_else(sipkit_transport::seed),
        };
        let ua = UserAgent::bind(&bind, opts, Now::read()).await?;
        // Listen for signals before anything is announced.
        let signal = shutdown_signal();
        let mut notes = |n: Note| printer.note(n);
        anyhow::Ok(ua.run_agent(&mut notes, signal).await?)
    })?;
    if printer.json {
        print_json(&report)?;
    } else {
        for c in &report.calls {
            let status = c
                .status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into());
            printer.line(&printer.say(
                "ua_summary_call",
                &[
                    ("call_id", &c.call_id),
                    ("direction", &c.direction),
                    ("peer", &c.peer),
                    ("status", &status),
                    ("ended", &c.ended),
                ],
            ));
            if let Some(t) = &c.transfer {
                let new = t
                    .new_call_status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into());
                let t = printer.say(
                    "ua_summary_transfer",
                    &[
                        ("target", &t.refer_to),
                        ("referred_by", &t.referred_by),
                        ("status", &new),
                        ("notified", &format!("{:?}", t.notified)),
                    ],
                );
                printer.line(&format!("    {t}"));
            }
        }
        printer.line(&printer.say("ua_stopped", &[("reason", &report.stopped)]));
    }
    Ok(0)
}

/// Resolves on SIGINT or SIGTERM (never, if the handlers cannot be
/// installed); the handlers are installed at once.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    let installed = sipkit_transport::Shutdown::install();
    async move {
        match installed {
            Ok(s) => {
                s.wait().await;
            }
            Err(_) => std::future::pending().await,
        }
    }
}
