//! The compiled-in data files and their raw (deserialized) shape.
//!
//! `data/codes.toml` holds the language-neutral facts, `data/<lang>.toml` every
//! sentence in one language. See `data/README.md` for the format.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::facts::{Change, DialogEffect, HeaderRule, Next, Overrides, ProxyAction, Sender};

/// The neutral facts file.
pub(crate) const CODES_TOML: &str = include_str!("../data/codes.toml");

/// Every language sipkit speaks: its tag, its data file and its glossary.
/// Adding a language is one line here plus the translated files.
pub(crate) const LANG_FILES: &[(&str, &str, &str)] = &[
    (
        "en",
        include_str!("../data/en.toml"),
        include_str!("../data/glossary/en.toml"),
    ),
    (
        "ru",
        include_str!("../data/ru.toml"),
        include_str!("../data/glossary/ru.toml"),
    ),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodesFile {
    #[serde(default)]
    pub(crate) code: Vec<CodeFacts>,
}

/// Language-neutral facts about one registered code.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodeFacts {
    pub(crate) code: u16,
    pub(crate) reason: String,
    pub(crate) spec: Vec<SpecEntry>,
    pub(crate) related: Vec<u16>,
    #[serde(default)]
    pub(crate) aliases: Vec<String>,
    /// The defining specification when it is not the registry's reference
    /// (202: RFC 3265 defined it, RFC 6665 is listed because it deprecated it).
    #[serde(default)]
    pub(crate) defined: Option<SpecEntry>,
    /// The specifications that deprecated or replaced the code.
    #[serde(default)]
    pub(crate) deprecated_by: Vec<SpecEntry>,
    /// Where the code differs from its class defaults (see `facts.rs`).
    #[serde(default)]
    pub(crate) next: Option<Next>,
    #[serde(default)]
    pub(crate) change: Option<Change>,
    #[serde(default)]
    pub(crate) senders: Option<Vec<Sender>>,
    #[serde(default)]
    pub(crate) methods: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) dialog: Option<DialogEffect>,
    #[serde(default)]
    pub(crate) proxy: Option<ProxyAction>,
    #[serde(default)]
    pub(crate) headers: Option<Vec<HeaderRule>>,
}

impl CodeFacts {
    /// The overrides of the class defaults.
    pub(crate) fn overrides(&self) -> Overrides {
        Overrides {
            next: self.next,
            change: self.change,
            senders: self.senders.clone(),
            methods: self.methods.clone(),
            dialog: self.dialog,
            proxy: self.proxy,
            headers: self.headers.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpecEntry {
    pub(crate) rfc: u32,
    #[serde(default)]
    pub(crate) section: Option<String>,
}

/// One language file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LangFile {
    pub(crate) meta: Meta,
    pub(crate) ui: BTreeMap<String, String>,
    pub(crate) class: BTreeMap<String, ClassText>,
    #[serde(default)]
    pub(crate) code: BTreeMap<String, CodeText>,
    #[serde(default)]
    pub(crate) pair: BTreeMap<String, PairText>,
    /// The user agent's sentences: `agent.rs` reads them on its own.
    #[serde(default, rename = "agent")]
    pub(crate) _agent: serde::de::IgnoredAny,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Meta {
    pub(crate) lang: String,
    pub(crate) name: String,
}

/// Texts about a whole class (1xx … 6xx).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClassText {
    pub(crate) name: String,
    pub(crate) summary: String,
    pub(crate) unregistered_when: Vec<String>,
    pub(crate) unregistered_fix: Vec<String>,
}

/// Texts about one code in one language.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodeText {
    pub(crate) title: String,
    pub(crate) summary: String,
    pub(crate) description: String,
    pub(crate) when: Vec<String>,
    pub(crate) fix: Vec<String>,
    #[serde(rename = "use")]
    pub(crate) use_: String,
    #[serde(default)]
    pub(crate) deprecation: Option<String>,
}

/// A hand-written note on a pair of codes practitioners confuse.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PairText {
    pub(crate) note: String,
    pub(crate) differences: Vec<String>,
    /// The facts (`next`, `senders`, `methods`, `dialog`, `proxy`,
    /// `header:<name>`, `final`, `deprecated`) whose difference the
    /// hand-written bullets already state, so that no generated bullet
    /// states it again.
    #[serde(default)]
    pub(crate) covers: Vec<String>,
    pub(crate) when_to_use: String,
}
