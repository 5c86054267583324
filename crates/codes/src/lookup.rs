//! Turning what a user typed into a response code.

use crate::kb::{kb, Lang};

/// Why an input does not name a SIP response code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// A number outside 100..=699 (RFC 3261 §7.2: Status-Code is three digits,
    /// the first of which is the class, 1 to 6).
    #[error("{0} is not a SIP response code: a status code is three digits from 100 to 699 (RFC 3261 §7.2)")]
    OutOfRange(String),
    /// Neither a number nor a status line nor a known reason phrase.
    #[error("{input:?} is not a SIP response code, status line or known reason phrase{}", suggest(.suggestions))]
    Unknown {
        /// What the user typed.
        input: String,
        /// Registered codes whose phrase shares a word with the input.
        suggestions: Vec<u16>,
    },
    /// A reason phrase that more than one code uses (406 and 606 are both
    /// "Not Acceptable").
    #[error("{input:?} is the reason phrase of more than one code: {}; give the number", list(.codes))]
    Ambiguous {
        /// What the user typed.
        input: String,
        /// Every code with that phrase.
        codes: Vec<u16>,
    },
    /// Empty input.
    #[error(
        "no response code given: expected a code such as 302, a status line or a reason phrase"
    )]
    Empty,
}

fn suggest(codes: &[u16]) -> String {
    if codes.is_empty() {
        return String::new();
    }
    format!(" (did you mean: {}?)", list(codes))
}

/// `406 Not Acceptable, 606 Not Acceptable`.
fn list(codes: &[u16]) -> String {
    let kb = kb();
    let items: Vec<String> = codes
        .iter()
        .filter_map(|c| kb.facts.get(c).map(|f| format!("{c} {}", f.reason)))
        .collect();
    items.join(", ")
}

/// Finds the code that `input` names.
///
/// Accepts a number (`302`), a status line (`SIP/2.0 302 Moved Temporarily`;
/// only the code counts, as RFC 4475 §3.1.1.12 asks: match on the code, never
/// on the text), or a reason phrase in any language sipkit speaks or in a
/// common variant spelling (`moved temporarily`, `Internal Server Error`,
/// `Временно перемещён`). Any three-digit number from 100 to 699 is accepted,
/// registered or not.
pub fn lookup(input: &str) -> Result<u16, LookupError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(LookupError::Empty);
    }
    // A status line: "SIP/2.0 302 Moved Temporarily" (any version).
    let rest = match s.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("SIP/") => s
            .split_once(char::is_whitespace)
            .map(|(_, r)| r.trim_start())
            .unwrap_or(""),
        _ => s,
    };
    let digits: &str = &rest[..rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len())];
    if !digits.is_empty() {
        let after = &rest[digits.len()..];
        // "302" or "302 Moved Temporarily"; "302abc" is not a code.
        if after.is_empty() || after.starts_with(char::is_whitespace) {
            return match digits.parse::<u16>() {
                Ok(n) if digits.len() == 3 && (100..=699).contains(&n) => Ok(n),
                _ => Err(LookupError::OutOfRange(digits.to_owned())),
            };
        }
    }
    let wanted = normalize(s);
    let kb = kb();
    let mut found = Vec::new();
    for (code, facts) in &kb.facts {
        let matches_neutral = std::iter::once(&facts.reason)
            .chain(facts.aliases.iter())
            .any(|p| normalize(p) == wanted);
        let matches_title = Lang::all().any(|l| {
            l.data()
                .code
                .get(code)
                .is_some_and(|t| normalize(&t.title) == wanted)
        });
        if matches_neutral || matches_title {
            found.push(*code);
        }
    }
    match found.as_slice() {
        [one] => return Ok(*one),
        [] => {}
        _ => {
            return Err(LookupError::Ambiguous {
                input: s.to_owned(),
                codes: found,
            })
        }
    }
    Err(LookupError::Unknown {
        input: s.to_owned(),
        suggestions: suggestions(&wanted),
    })
}

/// Lower case, letters and digits only, words separated by one space;
/// `ё` folded to `е` so either spelling finds a Russian title.
fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars().flat_map(char::to_lowercase) {
            out.push(if c == 'ё' { 'е' } else { c });
        }
    }
    // "Time-out" and "Timeout" are the same word to a user.
    out.replace("time out", "timeout")
}

/// Registered codes whose reason phrase or title shares a word (of three
/// letters or more) with the input; at most five.
fn suggestions(wanted: &str) -> Vec<u16> {
    let words: Vec<&str> = wanted
        .split(' ')
        .filter(|w| w.chars().count() >= 3)
        .collect();
    if words.is_empty() {
        return Vec::new();
    }
    let kb = kb();
    let mut out = Vec::new();
    for (code, facts) in &kb.facts {
        let mut phrases = vec![normalize(&facts.reason)];
        phrases.extend(facts.aliases.iter().map(|a| normalize(a)));
        phrases.extend(
            Lang::all().filter_map(|l| l.data().code.get(code).map(|t| normalize(&t.title))),
        );
        if phrases
            .iter()
            .any(|p| p.split(' ').any(|w| words.contains(&w)))
        {
            out.push(*code);
        }
        if out.len() == 5 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! ok {
        ($($name:ident: $input:expr => $code:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(lookup($input), Ok($code));
            }
        )*};
    }

    ok! {
        number: "302" => 302;
        padded: "  302 \n" => 302;
        status_line: "SIP/2.0 302 Moved Temporarily" => 302;
        status_line_odd_text: "SIP/2.0 200 Very well, thank you" => 200;
        status_line_lower: "sip/2.0 486 Busy Here" => 486;
        number_and_phrase: "404 Not Found" => 404;
        phrase: "moved temporarily" => 302;
        phrase_mixed_case: "Moved TEMPORARILY" => 302;
        phrase_hyphen: "request uri too long" => 414;
        phrase_timeout_variant: "Server Timeout" => 504;
        unregistered_in_range: "299" => 299;
        registry_spelling_202: "Accepted (Deprecated)" => 202;
    }

    #[test]
    fn out_of_range() {
        for s in ["99", "700", "0", "1000", "0302", "SIP/2.0 99 Low"] {
            assert!(matches!(lookup(s), Err(LookupError::OutOfRange(_))), "{s}");
        }
    }

    #[test]
    fn not_a_code() {
        for s in ["abc", "302abc", "-302", "SIP/2.0"] {
            assert!(lookup(s).is_err(), "{s}");
        }
        assert_eq!(lookup(""), Err(LookupError::Empty));
    }

    #[test]
    fn a_shared_phrase_is_ambiguous() {
        assert_eq!(
            lookup("not acceptable"),
            Err(LookupError::Ambiguous {
                input: "not acceptable".into(),
                codes: vec![406, 606]
            })
        );
        assert_eq!(lookup("606 Not Acceptable"), Ok(606));
    }

    #[test]
    fn suggestions_share_a_word() {
        match lookup("moved somewhere") {
            Err(LookupError::Unknown { suggestions, .. }) => {
                assert!(
                    suggestions.contains(&301) && suggestions.contains(&302),
                    "{suggestions:?}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
