//! What the analyzer says went wrong (or right): stable ids, severities, the
//! RFC section each rests on, and their texts in every language
//! (`data/<lang>.toml`, compiled in).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;
use sipkit_codes::Lang;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Something worked as it should; worth knowing.
    Info,
    /// Legal or harmless, but a sign of trouble.
    Warning,
    /// Broke the call or the protocol.
    Error,
}

impl Severity {
    /// `info`, `warning`, `error` (JSON and ids).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// The word in `lang`.
    pub fn label(self, lang: Lang) -> &'static str {
        ui(
            lang,
            match self {
                Severity::Info => "severity_info",
                Severity::Warning => "severity_warning",
                Severity::Error => "severity_error",
            },
        )
    }
}

macro_rules! findings {
    ($($variant:ident $id:literal $sev:ident $spec:literal;)*) => {
        /// The kinds of finding. The id (`as_str`) is stable: JSON keys and
        /// the data files use it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FindingId { $(
            #[doc = concat!("`", $id, "` (", $spec, ").")]
            $variant,
        )* }

        impl FindingId {
            /// Every kind, in a fixed order.
            pub const ALL: &'static [FindingId] = &[$(FindingId::$variant),*];

            /// The stable id.
            pub fn as_str(self) -> &'static str {
                match self { $(FindingId::$variant => $id,)* }
            }

            /// How much it matters.
            pub fn severity(self) -> Severity {
                match self { $(FindingId::$variant => Severity::$sev,)* }
            }

            /// The specification section it rests on.
            pub fn spec(self) -> &'static str {
                match self { $(FindingId::$variant => $spec,)* }
            }
        }
    };
}

findings! {
    RedirectFollowed "redirect_followed" Info "RFC 3261 §8.1.3.4";
    RedirectNotFollowed "redirect_not_followed" Warning "RFC 3261 §8.1.3.4";
    RedirectRetryInvalid "redirect_retry_invalid" Error "RFC 3261 §8.1.3.4";
    RedirectLoop "redirect_loop" Error "RFC 3261 §8.1.3.4";
    TransferSucceeded "transfer_succeeded" Info "RFC 3515 §2.4.5";
    TransferFailed "transfer_failed" Error "RFC 3515 §2.4.5";
    TransferNoNotify "transfer_no_notify" Error "RFC 3515 §2.4.4";
    TransferRejected "transfer_rejected" Error "RFC 3515 §2.4.2";
    ReferSubFalse "refer_sub_false" Info "RFC 4488 §4";
    RetransmissionOverTcp "retransmission_over_tcp" Warning "RFC 3261 §17.1.1.2";
    TimerExpired "timer_expired" Error "RFC 3261 §17.1.1.2, §17.1.2.2";
    RetransmissionSpacing "retransmission_spacing" Warning "RFC 3261 §17.1.1.2, §17.1.2.2";
    NoAckFor2xx "no_ack_for_2xx" Error "RFC 3261 §13.2.2.4";
    AuthLoop "auth_loop" Error "RFC 3261 §22.2";
    UnansweredInvite "unanswered_invite" Error "RFC 3261 §17.1.1.2";
    MalformedMessage "malformed_message" Error "RFC 3261 §7";
}

/// One finding: what, on which packets, with the values its text needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The kind.
    pub id: FindingId,
    /// The frame numbers it rests on (`{p0}`, `{p1}` in the text).
    pub packets: Vec<u64>,
    /// Values for the text's placeholders; a value starting with `@` names a
    /// `[reason]` text, translated when rendered.
    pub args: Vec<(&'static str, String)>,
}

impl Finding {
    /// A finding on these packets.
    pub fn new(id: FindingId, packets: Vec<u64>) -> Self {
        Finding {
            id,
            packets,
            args: Vec::new(),
        }
    }

    /// Adds a placeholder value; `name` is a plain word (no brace).
    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Self {
        debug_assert!(!name.contains('{'), "{name}");
        self.args.push((name, value.into()));
        self
    }

    /// The explanation in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        self.write_message(lang, |piece| match piece {
            Piece::Fixed(t) | Piece::Text(t) => out.push_str(t),
            Piece::Packet(p) => {
                let _ = write!(out, "{p}");
            }
        });
        out
    }

    /// The explanation in `lang` piece by piece, in order, without building
    /// it: what [`Finding::message`] joins.
    pub fn write_message(&self, lang: Lang, mut piece: impl FnMut(Piece<'_>)) {
        // One pass over the template when no value holds a brace (so no
        // value could be a placeholder for a later one); else the
        // replacement chain below, which gives the same text.
        if self
            .args
            .iter()
            .all(|(_, value)| !arg_text(lang, value).bytes().any(|c| c == b'{'))
        {
            self.fill(finding_segments(lang, self.id), lang, &mut piece);
        } else {
            let template = text(lang, "finding", self.id.as_str());
            piece(Piece::Text(&self.message_chained(template, lang)));
        }
    }

    /// Fills the holes `{p0}`..`{p3}` and the args (first of a name wins)
    /// of a template cut by [`segments`]; any other hole stays as written.
    fn fill<'a>(
        &'a self,
        segments: &[Segment<'static>],
        lang: Lang,
        piece: &mut impl FnMut(Piece<'a>),
    ) {
        for seg in segments {
            match *seg {
                Segment::Text(t) => piece(Piece::Fixed(t)),
                Segment::Hole { name, packet, raw } => {
                    if let Some(p) = packet.and_then(|i| self.packets.get(i)) {
                        piece(Piece::Packet(*p));
                    } else if let Some((_, value)) = self.args.iter().find(|(n, _)| *n == name) {
                        piece(Piece::Text(arg_text(lang, value)));
                    } else {
                        piece(Piece::Fixed(raw));
                    }
                }
            }
        }
    }

    fn message_chained(&self, template: &str, lang: Lang) -> String {
        let mut out = template.to_owned();
        for (i, p) in self.packets.iter().enumerate().take(4) {
            out = out.replace(&format!("{{p{i}}}"), &p.to_string());
        }
        for (name, value) in &self.args {
            out = out.replace(&format!("{{{name}}}"), arg_text(lang, value));
        }
        out
    }
}

/// A piece of a finding's explanation (see [`Finding::write_message`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Text of the template, as it is: the same in every finding of the
    /// kind, in the language.
    Fixed(&'static str),
    /// Other text (a value), as it is.
    Text(&'a str),
    /// A packet (frame) number.
    Packet(u64),
}

/// A placeholder's value in `lang`: a value starting with `@` names a
/// `[reason]` text.
fn arg_text(lang: Lang, value: &str) -> &str {
    match value.strip_prefix('@') {
        Some(key) => text(lang, "reason", key),
        None => value,
    }
}

/// A piece of a template (see [`segments`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment<'t> {
    /// Text, as it is.
    Text(&'t str),
    /// `{name}`: `raw` is all of it, `packet` the index of `{p0}`..`{p3}`.
    Hole {
        name: &'t str,
        packet: Option<usize>,
        raw: &'t str,
    },
}

/// A template cut at its placeholders, once: a `{` starts a hole when a
/// `}` follows with no `{` between (the names of the args have none), else
/// it is text, as is everything after the last hole.
fn segments(t: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    // The text not yet cut off starts at `from`; look for `{` from `at`.
    let (mut from, mut at) = (0, 0);
    while let Some(open) = t[at..].find('{').map(|o| at + o) {
        let Some(close) = t[open + 1..].find('}').map(|c| open + 1 + c) else {
            break;
        };
        let name = &t[open + 1..close];
        if name.contains('{') {
            at = open + 1;
            continue;
        }
        if from < open {
            out.push(Segment::Text(&t[from..open]));
        }
        let packet = name
            .strip_prefix('p')
            .filter(|d| d.len() == 1)
            .and_then(|d| d.parse::<usize>().ok())
            .filter(|i| *i < 4);
        out.push(Segment::Hole {
            name,
            packet,
            raw: &t[open..=close],
        });
        (from, at) = (close + 1, close + 1);
    }
    if from < t.len() {
        out.push(Segment::Text(&t[from..]));
    }
    out
}

/// The `[finding]` text of `id` in `lang`, cut by [`segments`] (once per
/// language and kind).
fn finding_segments(lang: Lang, id: FindingId) -> &'static [Segment<'static>] {
    static T: OnceLock<Vec<(Lang, Vec<Vec<Segment<'static>>>)>> = OnceLock::new();
    let all = T.get_or_init(|| {
        tables()
            .iter()
            .map(|(l, _)| {
                let cut = FindingId::ALL
                    .iter()
                    .map(|id| segments(text(*l, "finding", id.as_str())))
                    .collect();
                (*l, cut)
            })
            .collect()
    });
    all.iter()
        .find(|(l, _)| *l == lang)
        .or_else(|| all.iter().find(|(l, _)| *l == Lang::EN))
        .and_then(|(_, t)| t.get(id as usize))
        .map_or(&[], Vec::as_slice)
}

type Table = HashMap<String, HashMap<String, String>>;

fn tables() -> &'static [(Lang, Table)] {
    static T: OnceLock<Vec<(Lang, Table)>> = OnceLock::new();
    T.get_or_init(|| {
        [
            (Lang::EN, include_str!("../data/en.toml")),
            (Lang::RU, include_str!("../data/ru.toml")),
        ]
        .into_iter()
        .map(|(l, src)| (l, parse_table(src)))
        .collect()
    })
}

/// Parses a data file; a broken file yields no texts (the test catches it).
fn parse_table(src: &str) -> Table {
    #[derive(Deserialize)]
    struct File(Table);
    toml::from_str::<File>(src).map(|f| f.0).unwrap_or_default()
}

/// A text from the data files: `table.key` in `lang`, else in English, else
/// the key itself.
pub fn text<'k>(lang: Lang, table: &str, key: &'k str) -> &'k str {
    let find = |l: Lang| {
        tables()
            .iter()
            .find(|(x, _)| *x == l)
            .and_then(|(_, t)| t.get(table))
            .and_then(|t| t.get(key))
            .map(String::as_str)
    };
    find(lang).or_else(|| find(Lang::EN)).unwrap_or(key)
}

/// A user-interface string (heading, label).
pub fn ui(lang: Lang, key: &'static str) -> &'static str {
    text(lang, "ui", key)
}

/// Every key of a table in `lang` (for the completeness tests).
pub fn keys(lang: Lang, table: &str) -> Vec<&'static str> {
    tables()
        .iter()
        .find(|(x, _)| *x == lang)
        .and_then(|(_, t)| t.get(table))
        .map(|t| t.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_finding_has_a_text_in_every_language() {
        for lang in [Lang::EN, Lang::RU] {
            for id in FindingId::ALL {
                let t = text(lang, "finding", id.as_str());
                let joined: String = finding_segments(lang, *id)
                    .iter()
                    .map(|s| match s {
                        Segment::Text(t) | Segment::Hole { raw: t, .. } => *t,
                    })
                    .collect();
                assert_eq!(joined, t);
                assert!(
                    !t.is_empty() && t != id.as_str(),
                    "{} has no {} text",
                    id.as_str(),
                    lang.tag()
                );
            }
        }
    }

    #[test]
    fn both_languages_have_the_same_keys_and_placeholders() {
        for table in ["finding", "reason", "ui", "outcome"] {
            let mut en = keys(Lang::EN, table);
            let mut ru = keys(Lang::RU, table);
            assert!(!en.is_empty(), "{table} is empty");
            en.sort_unstable();
            ru.sort_unstable();
            assert_eq!(en, ru, "table {table}");
            for k in en {
                let holes = |s: &str| {
                    let mut v: Vec<String> = s
                        .split('{')
                        .skip(1)
                        .filter_map(|p| p.split_once('}').map(|(h, _)| h.to_owned()))
                        .collect();
                    v.sort();
                    v
                };
                let find = |l: Lang| {
                    tables()
                        .iter()
                        .find(|(x, _)| *x == l)
                        .and_then(|(_, t)| t.get(table))
                        .and_then(|t| t.get(k))
                        .cloned()
                        .unwrap_or_default()
                };
                assert_eq!(
                    holes(&find(Lang::EN)),
                    holes(&find(Lang::RU)),
                    "{table}.{k}"
                );
            }
        }
    }

    #[test]
    fn one_pass_fill_matches_the_replacement_chain() {
        let args = [
            ("status", "302 Moved"),
            ("target", "sip:x@b"),
            ("reason", "@cseq_not_higher"),
            ("method", "INVITE"),
            ("frag", "SIP/2.0 200 OK"),
            ("error", "bad } brace"),
            ("line", "3"),
            ("column", "7"),
        ];
        for lang in [Lang::EN, Lang::RU] {
            for id in FindingId::ALL {
                for packets in [vec![], vec![1], vec![4, 9, 12, 15, 20]] {
                    let mut f = Finding::new(*id, packets);
                    for (n, v) in args {
                        f = f.arg(n, v);
                    }
                    let template = text(lang, "finding", id.as_str());
                    let filled = |t: &'static str| {
                        let mut out = String::new();
                        f.fill(&segments(t), lang, &mut |p| match p {
                            Piece::Fixed(x) | Piece::Text(x) => out.push_str(x),
                            Piece::Packet(n) => out.push_str(&n.to_string()),
                        });
                        out
                    };
                    assert_eq!(
                        filled(template),
                        f.message_chained(template, lang),
                        "{id:?}"
                    );
                    for t in ["{a{status}", "{p9} {p0", "x {} {unknown} {p1}"] {
                        assert_eq!(filled(t), f.message_chained(t, lang), "{t}");
                    }
                }
            }
        }
    }

    #[test]
    fn message_fills_packets_args_and_reasons() {
        let f = Finding::new(FindingId::RedirectRetryInvalid, vec![3, 7])
            .arg("reason", "@cseq_not_higher");
        let en = f.message(Lang::EN);
        assert!(en.contains("packet 7") && en.contains("packet 3"), "{en}");
        assert!(en.contains("CSeq number is not higher"), "{en}");
        assert!(!en.contains('{'), "{en}");
        let ru = f.message(Lang::RU);
        assert!(ru.contains("CSeq") && ru.contains("пакете 7"), "{ru}");
    }
}
