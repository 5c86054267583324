//! `sipkit serve`'s TOML configuration and its documented example.

use std::collections::{BTreeMap, BTreeSet};

use sipkit_server::{
    Error, RedirectOutcome, RegistrarSection, ServerConfig, Standing, TransactionSection,
    Transport, TransportAddr, UsersSection,
};

use sipkit_server::auth::{AuthSection, BanSection, ConfigUser, OverLimit, RateLimitSection};

use crate::util::TempDir;

const EXAMPLE: &str = include_str!("../../examples/sipkit.toml");

fn addr(s: &str) -> TransportAddr {
    s.parse().unwrap()
}

#[test]
fn the_example_parses_to_what_its_comments_say() {
    let got = ServerConfig::from_toml(EXAMPLE).unwrap();
    let want = ServerConfig {
        listen: vec![
            addr("udp:127.0.0.1:5060"),
            addr("tcp:127.0.0.1:5060"),
            addr("udp:[::1]:5060"),
        ],
        db: "/var/lib/sipkit/registrations.db".into(),
        db_sync: sipkit_server::DbSync::Full,
        domains: vec!["example.com".into(), "example.org".into()],
        max_message_size: 65535,
        registrar: RegistrarSection {
            min_expires: 60,
            max_expires: 7200,
            default_expires: Some(3600),
        },
        transaction: TransactionSection {
            t1_ms: 500,
            t2_ms: 4000,
            t4_ms: 5000,
        },
        users: UsersSection {
            known: vec!["alice".into(), "bob".into(), "sip:carol@example.org".into()],
        },
        moved: BTreeMap::from([("sip:dave@example.com".into(), "sip:dave@example.net".into())]),
        auth: AuthSection {
            enabled: Some(true),
            realm: "example.com".into(),
            algorithms: vec!["MD5".into(), "SHA-256".into()],
            secret: Some("replace with 32 random characters".into()),
            trust: vec!["10.0.0.0/8".parse().unwrap()],
            users: vec![ConfigUser {
                name: "alice".into(),
                password: Some("correct horse battery staple".into()),
                ha1_md5: None,
                ha1_sha256: None,
                ha1_sha512_256: None,
            }],
            ..AuthSection::default()
        },
        workers: Some(2),
        metrics: Some("127.0.0.1:9060".parse().unwrap()),
        node_id: Some("sip-a.example.com".into()),
    };
    assert_eq!(got, want);
    // The example's values other than these are the defaults.
    assert_eq!(got.auth.rate_limit, RateLimitSection::default());
    assert_eq!(got.auth.ban, BanSection::default());
}

/// Each "Default: X" the example states is the real default.
#[test]
fn the_defaults_the_example_states_are_the_real_ones() {
    let d = ServerConfig::default();
    assert_eq!(
        d.listen,
        [addr("udp:127.0.0.1:5060"), addr("tcp:127.0.0.1:5060")]
    );
    assert_eq!(d.db, "sipkit.db");
    assert_eq!(d.db_sync, sipkit_server::DbSync::Normal);
    assert!(d.domains.is_empty());
    assert_eq!(d.max_message_size, 65535);
    assert_eq!(d.workers, None, "one per core, decided by the command");
    assert_eq!(d.metrics, None);
    assert_eq!(d.node_id, None, "the host name, decided when serving");
    assert_eq!(
        (
            d.registrar.min_expires,
            d.registrar.max_expires,
            d.registrar.default_expires()
        ),
        (60, 3600, 3600)
    );
    assert_eq!(
        (
            d.transaction.t1_ms,
            d.transaction.t2_ms,
            d.transaction.t4_ms
        ),
        (500, 4000, 5000)
    );
    assert!(d.users.known.is_empty());
    assert!(d.moved.is_empty());
    let a = &d.auth;
    assert_eq!(
        (
            a.enabled,
            a.realm.as_str(),
            a.algorithms.join(", "),
            a.nonce_lifetime_s,
            a.nonce_max_future_s,
            a.secret.as_deref(),
            a.trust.len(),
            a.replay_table_size,
            a.users.len()
        ),
        (
            None,
            "sipkit",
            "MD5, SHA-256, SHA-512-256".to_owned(),
            300,
            3,
            None,
            0,
            100_000,
            0
        )
    );
    let r = a.rate_limit;
    assert_eq!(
        (r.rate_per_s, r.burst, r.over, r.penalty_s, r.max_sources),
        (200.0, 400.0, OverLimit::Drop, 10, 65536)
    );
    let b = a.ban;
    assert_eq!(
        (
            b.source_failures,
            b.user_failures,
            b.window_s,
            b.ban_s,
            b.max_tracked
        ),
        (10, 20, 600, 1800, 65536)
    );
    let stated: Vec<&str> = EXAMPLE
        .lines()
        .filter_map(|l| l.trim().strip_prefix("# Default: "))
        .chain(
            EXAMPLE
                .lines()
                .filter_map(|l| l.split_once(". Default: ").map(|(_, v)| v)),
        )
        .collect();
    assert_eq!(
        stated,
        [
            r#"["udp:127.0.0.1:5060", "tcp:127.0.0.1:5060"]"#,
            r#""sipkit.db""#,
            r#""normal""#,
            "[]",
            "65535",
            "one per core",
            "none (no HTTP listener)",
            "the host name",
            "60",
            "3600",
            "3600, or max_expires if that is lower",
            "[]",
            "no entries",
            "unset: on whenever at least one user exists",
            r#""sipkit""#,
            r#"["MD5", "SHA-256", "SHA-512-256"]"#,
            "300",
            "3",
            "unset",
            "[]",
            "100000",
            "[]",
            "200",
            "400",
            r#""drop""#,
            "10",
            "65536",
            "10",
            "20",
            "600",
            "1800",
            "65536",
            "500",
            "4000",
            "5000",
        ]
    );
}

fn keys(table: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (k, v) in table {
        let name = format!("{prefix}{k}");
        match v {
            toml::Value::Table(t) if name != "moved" => keys(t, &format!("{name}."), out),
            _ => {
                out.insert(name);
            }
        }
    }
}

/// Every key the configuration has appears, set, in the example, and the
/// example sets no key the configuration lacks.
#[test]
fn the_example_documents_every_key() {
    let mut full = ServerConfig::default();
    full.moved.insert("sip:a@b".into(), "sip:a@c".into());
    full.registrar.default_expires = Some(3600);
    full.auth.enabled = Some(true);
    full.auth.secret = Some("0123456789abcdef".into());
    full.workers = Some(2);
    full.metrics = Some("127.0.0.1:9060".parse().unwrap());
    full.node_id = Some("n".into());
    let mut all = BTreeSet::new();
    keys(&toml::Table::try_from(&full).unwrap(), "", &mut all);
    let mut example = BTreeSet::new();
    keys(&EXAMPLE.parse::<toml::Table>().unwrap(), "", &mut example);
    assert_eq!(example, all);
    assert_eq!(all.len(), 35, "{all:?}");
}

#[test]
fn no_file_means_defaults_that_validate() {
    let d = ServerConfig::from_toml("").unwrap();
    assert_eq!(d, ServerConfig::default());
    let registrar = d.registrar_config().unwrap();
    assert_eq!(registrar, sipkit_server::RegistrarConfig::default());
    assert_eq!(
        registrar.directory.standing("sip:anyone@anywhere.example"),
        Standing::Admitted
    );
}

#[test]
fn a_partial_file_keeps_the_other_defaults() {
    let c = ServerConfig::from_toml("db = \":memory:\"\n[registrar]\nmax_expires = 600\n").unwrap();
    assert_eq!(c.db, ":memory:");
    assert_eq!(c.registrar.max_expires, 600);
    assert_eq!(c.registrar.min_expires, 60);
    assert_eq!(c.registrar.default_expires(), 600);
    assert_eq!(c.registrar_config().unwrap().default_expires, 600);
    assert_eq!(c.listen, ServerConfig::default().listen);
}

#[test]
fn domain_is_a_synonym_of_domains() {
    let c = ServerConfig::from_toml("domain = [\"example.com\"]").unwrap();
    assert_eq!(c.domains, ["example.com"]);
}

fn config_error(text: &str) -> String {
    match ServerConfig::from_toml(text) {
        Err(e @ Error::Config { .. }) => e.to_string(),
        other => panic!("expected a config error for {text:?}, got {other:?}"),
    }
}

#[test]
fn mistakes_are_named() {
    let e = config_error("lisen = []");
    assert!(e.contains("unknown field `lisen`"), "{e}");
    let e = config_error("[registrar]\nmin_expire = 30");
    assert!(e.contains("unknown field `min_expire`"), "{e}");
    let e = config_error("listen = [\"udp:localhost:5060\"]");
    assert!(
        e.contains("invalid transport address \"udp:localhost:5060\""),
        "{e}"
    );
    let e = config_error("listen = [\"tls:127.0.0.1:5061\"]");
    assert!(
        e.contains("listen tls:127.0.0.1:5061: only udp and tcp are supported"),
        "{e}"
    );
    let e = config_error("listen = []");
    assert!(e.contains("at least one address"), "{e}");
    let e = config_error("listen = [\"udp:127.0.0.1:5060\", \"udp:127.0.0.1:5060\"]");
    assert!(e.contains("listed twice"), "{e}");
    let e = config_error("[registrar]\nmin_expires = 600\ndefault_expires = 300");
    assert!(
        e.contains("min_expires <= default_expires <= max_expires"),
        "{e}"
    );
    let e = config_error("[registrar]\ndefault_expires = 0\nmin_expires = 0");
    assert!(e.contains("default_expires: must be above 0"), "{e}");
    let e = config_error("[transaction]\nt1_ms = 5000");
    assert!(e.contains("t1_ms <= t2_ms"), "{e}");
    let e = config_error("max_message_size = 10");
    assert!(e.contains("max_message_size"), "{e}");
    let e = config_error("[users]\nknown = [\"tel:+1555\"]");
    assert!(e.contains("user \"tel:+1555\""), "{e}");
    let e = config_error("[moved]\n\"alice\" = \"sip:a@b\"");
    assert!(e.contains("moved \"alice\""), "{e}");
    let e = config_error("db = \"\"");
    assert!(e.contains("db: empty path"), "{e}");
    let e = config_error("listen = 5");
    assert!(e.starts_with("config <string>: "), "{e}");
}

#[test]
fn load_reads_a_file_and_names_it_in_errors() {
    let dir = TempDir::new("config");
    let path = dir.file("sipkit.toml");
    std::fs::write(&path, EXAMPLE).unwrap();
    assert_eq!(
        ServerConfig::load(&path).unwrap(),
        ServerConfig::from_toml(EXAMPLE).unwrap()
    );
    std::fs::write(&path, "max_message_size = \"big\"").unwrap();
    let e = ServerConfig::load(&path).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("config {}: ", path.display())),
        "{e}"
    );
    let e = ServerConfig::load(dir.file("missing.toml")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
}

#[test]
fn the_example_drives_the_decisions() {
    let c = ServerConfig::from_toml(EXAMPLE).unwrap();
    let reg = c.registrar_config().unwrap();
    assert_eq!(
        (reg.min_expires, reg.max_expires, reg.default_expires),
        (60, 7200, 3600)
    );
    let d = &reg.directory;
    assert_eq!(d.standing("sip:alice@example.org"), Standing::Admitted);
    assert_eq!(d.standing("sip:carol@example.org"), Standing::Admitted);
    assert_eq!(d.standing("sip:carol@example.com"), Standing::UnknownUser);
    assert_eq!(d.standing("sip:alice@example.net"), Standing::ForeignDomain);
    let redirect = c.redirect_config().unwrap();
    assert_eq!(
        redirect.moved_to("sip:dave@example.com"),
        Some("sip:dave@example.net")
    );
    let store = sipkit_server::MemoryStore::new();
    let out = sipkit_server::redirect(
        crate::util::T0,
        "INVITE",
        "sip:dave@example.com",
        &store,
        &redirect,
    );
    assert_eq!(
        out,
        RedirectOutcome::MovedPermanently {
            uri: "sip:dave@example.net".into()
        }
    );
    assert_eq!(c.transaction.t2(), std::time::Duration::from_secs(4));
    assert_eq!(c.listen[2].transport, Transport::Udp);
}

#[test]
fn a_config_round_trips_through_toml() {
    let c = ServerConfig::from_toml(EXAMPLE).unwrap();
    let text = toml::to_string(&c).unwrap();
    assert_eq!(ServerConfig::from_toml(&text).unwrap(), c);
}
