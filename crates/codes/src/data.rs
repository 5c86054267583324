//! The compiled-in data files and their raw (deserialized) shape.
//!
//! `data/codes.toml` holds the language-neutral facts, `data/<lang>.toml` every
//! sentence in one language. See `data/README.md` for the format.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The neutral facts file.
pub(crate) const CODES_TOML: &str = include_str!("../data/codes.toml");

/// Every language sipkit speaks: its tag and its data file. Adding a language
/// is one line here plus the translated file.
pub(crate) const LANG_FILES: &[(&str, &str)] = &[
    ("en", include_str!("../data/en.toml")),
    ("ru", include_str!("../data/ru.toml")),
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
    #[serde(default)]
    pub(crate) deprecated: bool,
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
    pub(crate) client_action: String,
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
    pub(crate) when_to_use: String,
}
