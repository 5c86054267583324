//! Property tests: serialize → parse round-trips, and no input (arbitrary
//! bytes, or valid messages mutated) ever panics the parser.

use proptest::prelude::*;

use crate::fixtures;
use sipkit_message::{
    parse, parse_with, HeaderName, Limits, Message, Mode, RequestBuilder, ResponseBuilder,
    StreamDecoder,
};

/// Touches every typed accessor, so a panic anywhere in them surfaces.
pub fn exercise(m: &Message<'_>) {
    let _ = (
        m.call_id(),
        m.cseq(),
        m.from().tag(),
        m.to().display_name(),
        m.max_forwards(),
        m.body(),
    );
    m.vias().for_each(|v| {
        let _ = v.map(|v| (v.branch(), v.received(), v.rport(), v.maddr(), v.ttl()));
    });
    m.contacts().for_each(|c| {
        let _ = c.map(|c| (c.q_millis(), c.expires()));
    });
    m.routes().for_each(drop);
    m.record_routes().for_each(drop);
    m.allow().for_each(drop);
    m.supported().for_each(drop);
    m.require().for_each(drop);
    m.accept().for_each(drop);
    m.warnings().for_each(drop);
    for a in m.www_authenticate().chain(m.authorization()).flatten() {
        let _ = a.param("realm");
        a.params().for_each(drop);
    }
    let _ = (
        m.expires(),
        m.min_expires(),
        m.content_type(),
        m.refer_to(),
        m.referred_by(),
    );
    let _ = (m.event(), m.subscription_state(), m.retry_after());
    for i in 0..m.headers().len() {
        m.typed_values(i).for_each(drop);
    }
    if let Some(Ok(f)) = m.sipfrag() {
        let _ = (
            f.status(),
            f.headers().len(),
            f.sipfrag().map(|r| r.map(|g| g.status())),
        );
    }
    // Anything that parsed serializes to something that parses to the same message.
    let out = m.to_bytes();
    let again = parse_with(&out, &Limits::default(), Mode::Datagram)
        .expect("re-parse of serialized message");
    assert_eq!(&again, m);
}

fn feed_stream(bytes: &[u8], chunk: usize) {
    let mut d = StreamDecoder::new(Limits {
        max_message_size: 4096,
        ..Limits::default()
    });
    for c in bytes.chunks(chunk.max(1)) {
        if d.push(c).is_err() {
            return;
        }
        for _ in 0..64 {
            match d.decode() {
                Ok(sipkit_message::Event::Partial) | Err(_) => break,
                Ok(sipkit_message::Event::Message(m)) => exercise(&m),
                Ok(_) => {}
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    DupLine(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let special = prop::sample::select(vec![
        b'\r', b'\n', b' ', b':', b';', b',', b'"', b'<', b'>', b'%', b'\\', 0u8, 0xff, b'(', b'@',
    ]);
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), special).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
        any::<usize>().prop_map(Mutation::DupLine),
    ]
}

fn apply(buf: &mut Vec<u8>, m: &Mutation) {
    if buf.is_empty() {
        return;
    }
    let n = buf.len();
    match *m {
        Mutation::Flip(i, b) => buf[i % n] = b,
        Mutation::Insert(i, b) => buf.insert(i % (n + 1), b),
        Mutation::Delete(i) => {
            buf.remove(i % n);
        }
        Mutation::Truncate(i) => buf.truncate(i % n),
        Mutation::DupLine(i) => {
            let s = i % n;
            let ls = buf[..s]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |p| p + 1);
            let le = buf[s..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(n, |p| s + p + 1);
            let line = buf[ls..le].to_vec();
            buf.splice(le..le, line);
        }
    }
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,12}"
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9]{0,6}){0,3}",
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        any::<[u16; 8]>().prop_map(|a| format!("[{}]", std::net::Ipv6Addr::from(a))),
    ]
}

fn sip_uri() -> impl Strategy<Value = String> {
    (
        prop::option::of("[a-zA-Z0-9_.!~*'()&=+$,;?/-]{1,12}|%[0-9A-F]{2}"),
        host(),
        prop::option::of(any::<u16>()),
        prop::collection::vec(
            (
                "[a-zA-Z0-9_.!~*'()-]{1,8}",
                prop::option::of("[a-zA-Z0-9_.!~*'()&+$:/-]{1,8}"),
            ),
            0..3,
        ),
        any::<bool>(),
    )
        .prop_map(|(user, host, port, params, sips)| {
            let mut s = String::from(if sips { "sips:" } else { "sip:" });
            if let Some(u) = user {
                s += &u;
                s.push('@');
            }
            s += &host;
            if let Some(p) = port {
                s += &format!(":{p}");
            }
            for (n, v) in params {
                s.push(';');
                s += &n;
                if let Some(v) = v {
                    s.push('=');
                    s += &v;
                }
            }
            s
        })
}

fn display() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[A-Za-z0-9]{1,8}( [A-Za-z0-9]{1,8}){0,2}".prop_map(|s| format!("{s} ")),
        "[ -!#-\\[\\]-~]{0,12}".prop_map(|s| format!("\"{s}\" ")),
    ]
}

#[derive(Debug, Clone)]
struct Gen {
    method: String,
    ruri: String,
    vias: Vec<(String, String, String)>,
    from: (String, String, String),
    to: (String, String),
    call_id: String,
    seq: u32,
    max_fwd: u8,
    contacts: Vec<(String, String, Option<u16>)>,
    extra: Vec<(String, String)>,
    body: Vec<u8>,
    status: Option<(u16, String)>,
}

fn message() -> impl Strategy<Value = Gen> {
    let via = (
        prop::sample::select(vec!["UDP", "TCP", "TLS", "SCTP", "WS"]),
        host(),
        token(),
    )
        .prop_map(|(t, h, b)| (t.to_string(), h, format!("z9hG4bK{b}")));
    (
        (
            prop_oneof![
                prop::sample::select(vec![
                    "INVITE", "REGISTER", "OPTIONS", "BYE", "NOTIFY", "REFER"
                ])
                .prop_map(String::from),
                token(),
            ],
            sip_uri(),
            prop::collection::vec(via, 1..4),
            (display(), sip_uri(), token()),
            (display(), sip_uri()),
            "[A-Za-z0-9.!%*_+`'~()<>:\\\\/\\[\\]?{}-]{1,20}(@[a-z0-9.]{1,10})?",
        ),
        (
            0u32..(1 << 31),
            any::<u8>(),
            prop::collection::vec((display(), sip_uri(), prop::option::of(0u16..=1000)), 0..3),
            prop::collection::vec(("X-[A-Za-z0-9-]{1,10}", "[ -~]{0,30}"), 0..4),
            prop::collection::vec(any::<u8>(), 0..200),
            prop::option::of((100u16..700, "[ -~]{0,20}")),
        ),
    )
        .prop_map(
            |(
                (method, ruri, vias, from, to, call_id),
                (seq, max_fwd, contacts, extra, body, status),
            )| Gen {
                method,
                ruri,
                vias,
                from,
                to,
                call_id,
                seq,
                max_fwd,
                contacts,
                extra,
                body,
                status,
            },
        )
}

fn build(g: &Gen) -> Vec<u8> {
    let mut hs: Vec<(HeaderName, String)> = Vec::new();
    for (t, h, b) in &g.vias {
        hs.push((HeaderName::Via, format!("SIP/2.0/{t} {h};branch={b}")));
    }
    hs.push((
        HeaderName::From,
        format!("{}<{}>;tag={}", g.from.0, g.from.1, g.from.2),
    ));
    hs.push((HeaderName::To, format!("{}<{}>", g.to.0, g.to.1)));
    hs.push((HeaderName::CallId, g.call_id.clone()));
    for (d, u, q) in &g.contacts {
        let q = q
            .map(|q| format!(";q={}.{:03}", q / 1000, q % 1000))
            .unwrap_or_default();
        hs.push((HeaderName::Contact, format!("{d}<{u}>{q}")));
    }
    match &g.status {
        None => {
            hs.push((HeaderName::CSeq, format!("{} {}", g.seq, g.method)));
            hs.push((HeaderName::MaxForwards, g.max_fwd.to_string()));
            let mut b = RequestBuilder::new(&g.method, &g.ruri);
            for (n, v) in hs {
                b = b.header(n, v);
            }
            for (n, v) in &g.extra {
                b = b.raw_header(n, v);
            }
            b.body("application/octet-stream", g.body.clone()).build()
        }
        Some((code, reason)) => {
            hs.push((HeaderName::CSeq, format!("{} {}", g.seq, g.method)));
            let mut b = ResponseBuilder::new(*code, reason);
            for (n, v) in hs {
                b = b.header(n, v);
            }
            for (n, v) in &g.extra {
                b = b.raw_header(n, v);
            }
            b.body("application/octet-stream", g.body.clone()).build()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn built_messages_parse_and_round_trip(g in message()) {
        let bytes = build(&g);
        let m = match parse(&bytes) {
            Ok(m) => m,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&bytes)))),
        };
        match (&m, &g.status) {
            (Message::Request(r), None) => {
                prop_assert_eq!(r.method_str(), g.method.as_str());
                prop_assert_eq!(r.uri().as_str(), g.ruri.as_str());
                prop_assert_eq!(m.max_forwards(), Some(g.max_fwd));
            }
            (Message::Response(r), Some((code, reason))) => {
                prop_assert_eq!(r.status(), *code);
                prop_assert_eq!(r.reason(), reason.as_str());
            }
            _ => prop_assert!(false, "wrong message kind"),
        }
        prop_assert_eq!(m.cseq().seq, g.seq);
        prop_assert_eq!(m.call_id(), g.call_id.as_str());
        prop_assert_eq!(m.from().tag(), Some(g.from.2.as_str()));
        prop_assert_eq!(m.from().uri.as_str(), g.from.1.as_str());
        prop_assert_eq!(m.to().uri.as_str(), g.to.1.as_str());
        let vias: Vec<_> = m.vias().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(vias.len(), g.vias.len());
        for (v, (t, _, b)) in vias.iter().zip(&g.vias) {
            prop_assert_eq!(v.transport, t.as_str());
            prop_assert_eq!(v.branch(), Some(b.as_str()));
        }
        let contacts: Vec<_> = m.contacts().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(contacts.len(), g.contacts.len());
        for (c, (_, u, q)) in contacts.iter().zip(&g.contacts) {
            prop_assert_eq!(c.address().unwrap().uri.as_str(), u.as_str());
            prop_assert_eq!(c.q_millis(), *q);
        }
        for (n, v) in &g.extra {
            prop_assert!(m.headers().any(|h| h.raw_name == n && h.value == v.trim()));
        }
        prop_assert_eq!(m.body(), &g.body[..]);
        exercise(&m);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1500)) {
        if let Ok(m) = parse(&bytes) {
            exercise(&m);
        }
        let _ = parse_with(&bytes, &Limits::default(), Mode::Stream);
        let _ = sipkit_message::parse_fragment(&bytes, &Limits::default(), 1);
        feed_stream(&bytes, 7);
    }

    #[test]
    fn mutated_valid_messages_never_panic(
        idx in any::<prop::sample::Index>(),
        muts in prop::collection::vec(mutation(), 1..6),
        chunk in 1usize..64,
    ) {
        let all = fixtures();
        let mut buf = idx.get(&all).clone();
        for m in &muts {
            apply(&mut buf, m);
        }
        if let Ok(m) = parse(&buf) {
            exercise(&m);
        }
        let _ = parse_with(&buf, &Limits { max_headers: 8, max_message_size: 512, max_nesting: 2 }, Mode::Stream);
        feed_stream(&buf, chunk);
    }
}

#[test]
fn every_valid_fixture_round_trips() {
    let mut ok = 0;
    for buf in fixtures() {
        if let Ok(m) = parse(&buf) {
            exercise(&m);
            ok += 1;
        }
    }
    assert!(ok >= 30, "only {ok} fixtures parsed");
}
