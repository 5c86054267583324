//! The SIP response-code knowledge base.
//!
//! Every response code of the IANA "Session Initiation Protocol (SIP)
//! Parameters — Response Codes" registry, explained in every language sipkit
//! speaks: its meaning, when one sees it, how to fix it, the specification and
//! the related codes; and a comparison of any two codes. The texts live in
//! data files (`data/codes.toml` for facts, `data/<lang>.toml` for sentences)
//! compiled into the binary, so one definition feeds the CLI, JSON, the web
//! pages and the diagnostics of the user agent.
//!
//! This crate does no IO: no files, no sockets, no clock.
//!
//! ```
//! use sipkit_codes::{explain, compare, lookup, Lang};
//!
//! let code = lookup("SIP/2.0 302 Moved Temporarily").unwrap();
//! let e = explain(code, Lang::EN).unwrap();
//! assert_eq!(e.reason.as_deref(), Some("Moved Temporarily"));
//! assert_eq!(e.class, "3xx");
//!
//! let c = compare(202, 302, Lang::RU).unwrap();
//! assert!(!c.same_class);
//! ```

mod agent;
mod compare;
mod data;
mod explain;
mod facts;
mod glossary;
mod kb;
mod lookup;

pub use agent::{agent_keys, agent_template, agent_text};
pub use compare::{compare, Comparison};
pub use explain::{explain, CodeSummary, Explanation, RelatedCode, SpecRef};
pub use facts::{Change, DialogEffect, Facts, HeaderRule, Level, Next, ProxyAction, Sender};
pub use glossary::{banned_in, glossary, glossary_entry, terms_in, GlossaryEntry};
pub use kb::{
    class_of, facts_of, noted_pairs, reason_phrase, registered_codes, translated_classes,
    translated_codes, ui, ui_keys, Lang,
};
pub use lookup::{lookup, LookupError};
