//! The sentences of the user agent and its commands (`sipkit call`,
//! `sipkit transfer`, `sipkit ua`): the `[agent]` table of every
//! `data/<lang>.toml`, with `{name}` placeholders filled by the same
//! template function the explanations and the web pages use. Adding a
//! language stays one translated file and one line in `LANG_FILES`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::data::LANG_FILES;
use crate::kb::{fill, Lang};

/// Only the `[agent]` table of a language file.
#[derive(Debug, Deserialize)]
struct AgentFile {
    #[serde(default)]
    agent: BTreeMap<String, String>,
}

fn tables() -> &'static Vec<BTreeMap<String, String>> {
    static TABLES: OnceLock<Vec<BTreeMap<String, String>>> = OnceLock::new();
    TABLES.get_or_init(|| {
        LANG_FILES
            .iter()
            .map(
                |(tag, text, _glossary)| match toml::from_str::<AgentFile>(text) {
                    Ok(f) => f.agent,
                    // The data is compiled in and parsed by the test suite
                    // (`every_agent_key_is_in_every_language`): a build defect.
                    Err(e) => panic!("sipkit-codes: built-in {tag}.toml is invalid: {e}"),
                },
            )
            .collect()
    })
}

fn table(lang: Lang) -> &'static BTreeMap<String, String> {
    let all = tables();
    let i = Lang::all().position(|l| l == lang).unwrap_or(0);
    &all[i.min(all.len().saturating_sub(1))]
}

/// The user agent's sentence `key` in `lang` (falling back to English,
/// then to the key itself) with `{name}` placeholders filled from `args`.
///
/// ```
/// use sipkit_codes::{agent_text, Lang};
/// let t = agent_text(Lang::EN, "ua_registered", &[("aor", "sip:alice@example.com"), ("secs", "60")]);
/// assert_eq!(t, "registered sip:alice@example.com for 60 s");
/// assert!(agent_text(Lang::RU, "ua_registered", &[("aor", "a"), ("secs", "60")]).contains("60 с"));
/// ```
pub fn agent_text(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let template = table(lang)
        .get(key)
        .or_else(|| table(Lang::EN).get(key))
        .map(String::as_str)
        .unwrap_or(key);
    fill(template, args)
}

/// The keys of the `[agent]` table in `lang`.
pub fn agent_keys(lang: Lang) -> Vec<&'static str> {
    table(lang).keys().map(String::as_str).collect()
}

/// The `[agent]` template `key` in `lang` as written, if the language has it.
pub fn agent_template(lang: Lang, key: &str) -> Option<&'static str> {
    table(lang).get(key).map(String::as_str)
}
