//! The registrar's binding key against RFC 3261 §19.1.4 URI equality
//! (`sipkit_message::uri_eq`): equal keys mean equal URIs, and equal URIs
//! have equal keys unless a parameter appears in only one of them (the
//! exception `contact_key` documents).

use proptest::prelude::*;
use sipkit_message::{uri_eq, Uri};
use sipkit_server::{contact_key, same_contact};

/// The parts of a SIP URI; rendered in many spellings by [`render`].
#[derive(Debug, Clone)]
struct Parts {
    sips: bool,
    user: Option<String>,
    password: Option<String>,
    host: String,
    port: Option<u16>,
    params: Vec<(String, Option<String>)>,
    headers: Vec<(String, String)>,
}

/// How one URI is spelled: case of scheme, host and parameter names and
/// values, which user characters are %-escaped, parameter order.
#[derive(Debug, Clone)]
struct Style {
    upper_scheme: bool,
    upper_host: bool,
    upper_params: bool,
    escape_mask: u32,
    rotate: usize,
}

fn parts() -> impl Strategy<Value = Parts> {
    let user = prop::option::of(prop::sample::select(vec![
        "alice", "Alice", "bob", "a.b", "+1555", "x-y",
    ]));
    let password = prop::option::weighted(0.2, prop::sample::select(vec!["pw", "PW"]));
    let host = prop::sample::select(vec![
        "example.com",
        "pc33.example.com",
        "192.0.2.4",
        "[2001:db8::1]",
    ]);
    let port = prop::option::of(prop::sample::select(vec![5060u16, 5062]));
    let param = prop::sample::select(vec![
        ("transport", Some("tcp")),
        ("transport", Some("udp")),
        ("lr", None),
        ("user", Some("phone")),
        ("maddr", Some("192.0.2.9")),
        ("ttl", Some("5")),
        ("method", Some("INVITE")),
        ("ob", None),
        ("x", Some("1")),
        ("x", Some("2")),
    ]);
    let params = prop::collection::vec(param, 0..4);
    let header = prop::sample::select(vec![("subject", "hi"), ("priority", "urgent")]);
    let headers = prop::collection::vec(header, 0..2);
    (any::<bool>(), user, password, host, port, params, headers).prop_map(
        |(sips, user, password, host, port, params, headers)| {
            // One value per parameter name and header name, as real URIs have.
            let mut seen = Vec::new();
            let params = params
                .into_iter()
                .filter(|(n, _)| {
                    let new = !seen.contains(n);
                    seen.push(*n);
                    new
                })
                .map(|(n, v)| (n.to_owned(), v.map(str::to_owned)))
                .collect();
            let mut seen = Vec::new();
            let headers = headers
                .into_iter()
                .filter(|(n, _)| {
                    let new = !seen.contains(n);
                    seen.push(*n);
                    new
                })
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect();
            Parts {
                sips,
                password: user.and(password).map(str::to_owned),
                user: user.map(str::to_owned),
                host: host.to_owned(),
                port,
                params,
                headers,
            }
        },
    )
}

fn style() -> impl Strategy<Value = Style> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<u32>(),
        0..4usize,
    )
        .prop_map(
            |(upper_scheme, upper_host, upper_params, escape_mask, rotate)| Style {
                upper_scheme,
                upper_host,
                upper_params,
                escape_mask,
                rotate,
            },
        )
}

fn render(p: &Parts, s: &Style) -> String {
    let mut out = String::new();
    let scheme = if p.sips { "sips" } else { "sip" };
    out.push_str(&if s.upper_scheme {
        scheme.to_ascii_uppercase()
    } else {
        scheme.to_owned()
    });
    out.push(':');
    if let Some(user) = &p.user {
        for (i, c) in user.chars().enumerate() {
            if c.is_ascii_alphanumeric() && s.escape_mask & (1 << (i % 32)) != 0 {
                out.push_str(&format!("%{:02X}", c as u32));
            } else {
                out.push(c);
            }
        }
        if let Some(pw) = &p.password {
            out.push(':');
            out.push_str(pw);
        }
        out.push('@');
    }
    out.push_str(&if s.upper_host {
        p.host.to_ascii_uppercase()
    } else {
        p.host.clone()
    });
    if let Some(port) = p.port {
        out.push_str(&format!(":{port}"));
    }
    let mut params = p.params.clone();
    if !params.is_empty() {
        let k = s.rotate % params.len();
        params.rotate_left(k);
    }
    for (n, v) in params {
        out.push(';');
        let case = |t: &str| {
            if s.upper_params {
                t.to_ascii_uppercase()
            } else {
                t.to_owned()
            }
        };
        out.push_str(&case(&n));
        if let Some(v) = v {
            out.push('=');
            out.push_str(&case(&v));
        }
    }
    for (i, (n, v)) in p.headers.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(n);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// A second URI: the same parts, or the same with one part changed.
fn pair() -> impl Strategy<Value = (String, String)> {
    (parts(), style(), style(), parts(), 0..8usize).prop_map(|(a, sa, sb, other, change)| {
        let mut b = a.clone();
        match change {
            0 => b.user = other.user,
            1 => b.host = other.host,
            2 => b.port = other.port,
            3 => b.params = other.params,
            4 => b.sips = other.sips,
            5 => b.headers = other.headers,
            // Most pairs are the same URI spelled differently.
            _ => {}
        }
        (render(&a, &sa), render(&b, &sb))
    })
}

fn param_names(uri: &str) -> Vec<String> {
    let u = Uri::parse(uri).unwrap();
    let mut names: Vec<String> = u
        .params
        .iter()
        .map(|p| p.name.to_ascii_lowercase())
        .collect();
    names.sort();
    names
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn equal_keys_are_equal_uris((a, b) in pair()) {
        let (ua, ub) = (Uri::parse(&a).unwrap(), Uri::parse(&b).unwrap());
        if contact_key(&a) == contact_key(&b) {
            prop_assert!(uri_eq(&ua, &ub), "{a} and {b} share a key but differ by §19.1.4");
        }
        prop_assert_eq!(same_contact(&a, &b), uri_eq(&ua, &ub));
    }

    #[test]
    fn equal_uris_have_equal_keys_outside_the_exception((a, b) in pair()) {
        let (ua, ub) = (Uri::parse(&a).unwrap(), Uri::parse(&b).unwrap());
        if uri_eq(&ua, &ub) && param_names(&a) == param_names(&b) {
            prop_assert_eq!(contact_key(&a), contact_key(&b), "{} and {} are equal by §19.1.4", a, b);
        }
    }
}

/// The exception, pinned: §19.1.4 ignores a parameter only one side has
/// (other than user, ttl, method, maddr, transport); the key does not.
#[test]
fn a_parameter_on_one_side_only_is_the_documented_exception() {
    let (a, b) = (
        "sip:alice@pc33.example.com;ob",
        "sip:alice@pc33.example.com",
    );
    assert!(same_contact(a, b));
    assert_ne!(contact_key(a), contact_key(b));
}
