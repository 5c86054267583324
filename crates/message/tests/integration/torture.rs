//! RFC 4475 torture messages (testdata/rfc4475, see its README): every valid
//! message parses and round-trips; every invalid one is rejected with the
//! error its section describes.

use sipkit_message::{
    parse, parse_with, uri_eq, wire_reply, Contact, Disposition, ErrorKind, HeaderName, Host,
    Limits, Message, Method, Mode, Scheme, StartKind, Uri,
};

use crate::testdata;

fn load(name: &str) -> Vec<u8> {
    testdata(&format!("rfc4475/{name}.dat"))
}

fn round_trip(m: &Message<'_>) {
    let out = m.to_bytes();
    let again = parse(&out)
        .unwrap_or_else(|e| panic!("re-parse failed: {e}\n{}", String::from_utf8_lossy(&out)));
    assert_eq!(&again, m);
}

/// `valid!(name, |msg| assertions)`: parses, round-trips, then checks.
macro_rules! valid {
    ($name:ident $(, |$m:ident| $body:block)?) => {
        #[test]
        fn $name() {
            let buf = load(stringify!($name));
            let msg = parse(&buf).unwrap_or_else(|e| panic!("{}: {e}", stringify!($name)));
            round_trip(&msg);
            $( let $m = &msg; $body )?
        }
    };
}

/// `invalid!(name, pattern, line, reply)`: rejected with an error matching
/// `pattern` on `line`; `reply` is the status to answer (0 = drop).
macro_rules! invalid {
    ($name:ident, $kind:pat, line $line:expr, reply $reply:expr $(, |$e:ident| $body:block)?) => {
        #[test]
        fn $name() {
            let buf = load(stringify!($name));
            let err = match parse(&buf) {
                Ok(m) => panic!("{} parsed but must be rejected: {m:?}", stringify!($name)),
                Err(e) => e,
            };
            assert!(matches!(err.kind, $kind), "{}: got {:?} ({err})", stringify!($name), err.kind);
            assert_eq!(err.line, $line, "{}: {err}", stringify!($name));
            let status = match wire_reply(&err) {
                Disposition::Reply(r) => r.status,
                Disposition::Drop => 0,
            };
            assert_eq!(status, $reply, "{}: {err}", stringify!($name));
            $( let $e = err; $body )?
        }
    };
}

// ---- 3.1.1 valid messages

valid!(wsinv, |m| {
    let Message::Request(r) = m else { panic!() };
    assert_eq!(r.method(), Method::Invite);
    assert_eq!(m.max_forwards(), Some(68));
    assert_eq!(m.cseq().seq, 9);
    assert_eq!(m.to().tag(), Some("1918181833n"));
    assert_eq!(m.from().tag(), Some("98asjd8"));
    assert_eq!(m.from().display, Some(r#""J Rosenberg \\\"""#));
    let vias: Vec<_> = m.vias().collect::<Result<_, _>>().unwrap();
    assert_eq!(vias.len(), 3);
    assert_eq!(
        (vias[0].transport, vias[0].branch()),
        ("UDP", Some("390skdjuw"))
    );
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    let c = m.contacts().next().unwrap().unwrap();
    assert_eq!(c.q_millis(), Some(330));
    assert_eq!(
        c.address().unwrap().params.value("newparam"),
        Some("newvalue")
    );
    assert_eq!(m.header_value("s"), Some(""));
    assert_eq!(
        m.header_value("NewFangledHeader"),
        Some("newfangled value\r\n continued newfangled value")
    );
    assert_eq!(
        m.header_value("UnknownHeaderWithUnusualValue"),
        Some(";;,,;;,;")
    );
    assert_eq!(m.routes().count(), 1);
    assert_eq!(m.body().len(), 150);
});

valid!(intmeth, |m| {
    let Message::Request(r) = m else { panic!() };
    assert_eq!(
        r.method(),
        Method::Other("!interesting-Method0123456789_*+`.%indeed'~")
    );
    assert_eq!(
        r.uri().user,
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        r.uri().password,
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    assert_eq!(m.call_id(), "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    assert_eq!(m.from().tag(), Some("_token~1'+`*%!-."));
    assert_eq!(m.from().display, Some("token1~` token2'+_ token3*%!.-"));
    assert!(m.to().display.unwrap().contains('\0'));
    assert_eq!(
        m.header_value("extensionHeader-!.%*+_`'~"),
        Some("\u{feff}\u{5927}\u{505c}\u{96fb}")
    );
});

valid!(esc01, |m| {
    let Message::Request(r) = m else { panic!() };
    assert_eq!(r.uri().user, Some("sips%3Auser%40example.com"));
    let to = Uri::parse("sip:user@example.com").unwrap();
    assert!(uri_eq(&m.to().uri, &to));
    let c = m.contacts().next().unwrap().unwrap();
    let want = Uri::parse("sip:caller@host5.example.net;lr;name=value%2541").unwrap();
    assert!(uri_eq(&c.address().unwrap().uri, &want));
});

valid!(escnull, |m| {
    let users: Vec<_> = m
        .contacts()
        .map(|c| {
            sipkit_message::unescape(c.unwrap().address().unwrap().uri.user.unwrap()).into_owned()
        })
        .collect();
    assert_eq!(users, vec![vec![0u8], vec![0u8, 0u8]]);
    assert_eq!(
        &*sipkit_message::unescape(m.to().uri.user.unwrap()),
        b"null-\0-null"
    );
});

valid!(esc02, |m| {
    let Message::Request(r) = m else { panic!() };
    assert_eq!(r.method(), Method::Other("RE%47IST%45R"));
    // C%6Fntact is an unknown header, not Contact.
    assert_eq!(m.contacts().count(), 2);
    assert_eq!(
        m.header_value("C%6Fntact"),
        Some("<sip:alias2@host2.example.com>")
    );
    assert_eq!(m.to().display, Some("\"%Z%45\""));
});

valid!(lwsdisp, |m| {
    assert_eq!(m.from().display, Some("caller"))
});

valid!(longreq, |m| {
    assert_eq!(m.vias().count(), 34);
    assert!(m.to().display.unwrap().len() > 90);
    assert!(m.call_id().len() > 100);
    assert_eq!(m.body().len(), 150);
});

valid!(dblreq, |m| {
    let Message::Request(r) = m else { panic!() };
    assert_eq!(r.method(), Method::Register);
    assert_eq!(m.body(), b"");
});

valid!(semiuri, |m| {
    let Message::Request(r) = m else { panic!() };
    assert_eq!(r.uri().user, Some("user;par=u%40example.net"));
    assert!(r.uri().params.is_empty());
    assert_eq!(m.accept().count(), 6);
});

valid!(transports, |m| {
    let t: Vec<_> = m.vias().map(|v| v.unwrap().transport).collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
});

valid!(mpart01, |m| {
    assert_eq!(m.body().len(), 553);
    let ct = m.content_type().unwrap().unwrap();
    assert!(ct.is("multipart", "mixed"));
    assert_eq!(ct.params.value("boundary"), Some("7a9cbec02ceef655"));
});

valid!(unreason, |m| {
    let Message::Response(r) = m else { panic!() };
    assert_eq!(r.status(), 200);
    assert!(r.reason().starts_with("= 2**3 * 5**2"));
});

valid!(noreason, |m| {
    let Message::Response(r) = m else { panic!() };
    assert_eq!((r.status(), r.reason()), (100, ""));
});

// ---- 3.1.2 invalid messages

invalid!(badinv01, ErrorKind::InvalidHeader { .. }, line 7, reply 400, |e| {
    assert_eq!(e.header, Some(HeaderName::Via));
});
invalid!(clerr, ErrorKind::ContentLengthMismatch { declared: 9999, .. }, line 10, reply 400);
invalid!(ncl, ErrorKind::InvalidContentLength, line 10, reply 400);
invalid!(scalar02, ErrorKind::OutOfRange { max: 2147483647 }, line 5, reply 400, |e| {
    assert_eq!(e.header, Some(HeaderName::CSeq));
});
invalid!(scalarlg, ErrorKind::OutOfRange { .. }, line 5, reply 0, |e| {
    assert_eq!(e.start, StartKind::Response);
});
invalid!(quotbal, ErrorKind::InvalidHeader { .. }, line 2, reply 400, |e| {
    assert_eq!(e.header, Some(HeaderName::To));
    assert!(e.to_string().contains("closing '\"'"), "{e}");
});
invalid!(ltgtruri, ErrorKind::InvalidUri { .. }, line 1, reply 400, |e| { assert_eq!(e.column, 8) });
invalid!(lwsruri, ErrorKind::InvalidRequestLine { .. }, line 1, reply 400, |e| {
    assert!(e.to_string().contains("no whitespace inside the Request-URI"), "{e}");
});
invalid!(lwsstart, ErrorKind::InvalidRequestLine { .. }, line 1, reply 400, |e| {
    assert!(e.to_string().contains("exactly one SP"), "{e}");
});
invalid!(trws, ErrorKind::InvalidRequestLine { .. }, line 1, reply 400, |e| {
    assert!(e.to_string().contains("no whitespace after the SIP-Version"), "{e}");
});
invalid!(escruri, ErrorKind::InvalidUri { .. }, line 1, reply 400, |e| {
    assert!(e.to_string().contains("no '?' headers"), "{e}");
});
invalid!(baddate, ErrorKind::InvalidHeader { .. }, line 8, reply 400, |e| {
    assert_eq!(e.header, Some(HeaderName::Date));
    assert!(e.to_string().contains("GMT"), "{e}");
});
invalid!(regbadct, ErrorKind::InvalidHeader { .. }, line 8, reply 400, |e| {
    assert_eq!(e.header, Some(HeaderName::Contact));
});
invalid!(badaspec, ErrorKind::InvalidHeader { .. }, line 5, reply 400, |e| {
    assert_eq!(e.header, Some(HeaderName::To));
    assert!(e.to_string().contains("no whitespace inside '<' and '>'"), "{e}");
});
invalid!(baddn, ErrorKind::InvalidHeader { .. }, line 4, reply 400, |e| {
    assert_eq!(e.header, Some(HeaderName::From));
    assert!(e.to_string().contains("display name"), "{e}");
});
invalid!(badvers, ErrorKind::UnsupportedVersion { major: 7, minor: 0 }, line 1, reply 505);
invalid!(mismatch01, ErrorKind::CSeqMethodMismatch, line 6, reply 400);
invalid!(mismatch02, ErrorKind::CSeqMethodMismatch, line 6, reply 400);
invalid!(bigcode, ErrorKind::InvalidStatusCode, line 1, reply 0);

// ---- 3.2 transaction layer

valid!(badbranch, |m| {
    let v = m.top_via().unwrap();
    assert_eq!(v.branch(), Some("z9hG4bK"));
    assert!(v.is_rfc3261_branch());
});

// ---- 3.3 application layer: parse, the application decides

invalid!(insuf, ErrorKind::MissingHeader(HeaderName::To), line 6, reply 400, |e| {
    assert!(e.to_string().contains("missing mandatory To header"), "{e}");
});

valid!(unkscm, |m| {
    let Message::Request(r) = m else { panic!() };
    assert_eq!(r.uri().scheme, Scheme::Other("nobodyKnowsThisScheme"));
    assert_eq!(r.uri().opaque(), "totallyopaquecontent");
});

valid!(novelsc, |m| {
    let Message::Request(r) = m else { panic!() };
    assert_eq!(r.uri().scheme, Scheme::Other("soap.beep"));
});

valid!(unksm2, |m| {
    assert_eq!(m.to().uri.scheme, Scheme::Other("isbn"));
    assert_eq!(m.from().uri.scheme, Scheme::Other("http"));
    let c = m.contacts().next().unwrap().unwrap();
    assert_eq!(c.address().unwrap().uri.scheme, Scheme::Other("name"));
});

valid!(bext01, |m| {
    let req: Vec<_> = m.require().collect::<Result<_, _>>().unwrap();
    assert_eq!(req, ["nothingSupportsThis", "nothingSupportsThisEither"]);
    assert_eq!(m.proxy_require().count(), 2);
});

valid!(invut, |m| {
    assert!(m
        .content_type()
        .unwrap()
        .unwrap()
        .is("application", "unknownformat"));
    assert_eq!(m.body().len(), 40);
});

valid!(regaut01, |m| {
    let a = m.authorization().next().unwrap().unwrap();
    assert_eq!(a.scheme, "NoOneKnowsThisScheme");
    assert_eq!(a.param("opaque-data"), Some("here"));
});

invalid!(multi01, ErrorKind::DuplicateHeader(HeaderName::CSeq), line 7, reply 400);
invalid!(mcl01, ErrorKind::DuplicateHeader(HeaderName::ContentLength), line 9, reply 400);

valid!(bcast, |m| {
    let vias: Vec<_> = m.vias().collect::<Result<_, _>>().unwrap();
    assert_eq!(vias[1].host, Host::V4(std::net::Ipv4Addr::BROADCAST));
});

valid!(zeromf, |m| { assert_eq!(m.max_forwards(), Some(0)) });

valid!(cparam01, |m| {
    let c = m.contacts().next().unwrap().unwrap();
    let a = c.address().unwrap();
    assert!(!a.bracketed);
    assert!(a.uri.params.is_empty());
    assert!(a.params.contains("unknownparam"));
});

valid!(cparam02, |m| {
    let c = m.contacts().next().unwrap().unwrap();
    let a = c.address().unwrap();
    assert!(a.uri.params.contains("unknownparam"));
    assert!(a.params.is_empty());
});

valid!(regescrt, |m| {
    let c = m.contacts().next().unwrap().unwrap();
    assert_eq!(
        c.address().unwrap().uri.headers,
        "Route=%3Csip:sip.example.com%3E"
    );
});

valid!(sdp01, |m| {
    let acc: Vec<_> = m.accept().map(|a| a.unwrap().to_string()).collect();
    assert_eq!(acc, ["text/nobodyKnowsThis"]);
});

// ---- 3.4 backward compatibility

valid!(inv2543, |m| {
    assert_eq!(m.max_forwards(), None);
    assert_eq!(m.content_length(), None);
    assert_eq!(m.top_via().unwrap().branch(), None);
    assert!(m.body().starts_with(b"v=0"));
});

// ---- extra

invalid!(test, ErrorKind::InvalidRequestLine { .. }, line 1, reply 400);

#[test]
fn every_fixture_is_covered() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/rfc4475");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "dat") {
            n += 1;
            let buf = std::fs::read(&p).unwrap();
            // Never a panic, in either mode.
            let _ = parse(&buf);
            let _ = parse_with(&buf, &Limits::default(), Mode::Stream);
        }
    }
    assert_eq!(n, 50);
}

#[test]
fn clerr_over_a_stream_waits_for_more() {
    let buf = load("clerr");
    let mut d = sipkit_message::StreamDecoder::new(Limits::default());
    d.push(&buf).unwrap();
    assert!(matches!(d.decode(), Ok(sipkit_message::Event::Partial)));
}

#[test]
fn ncl_over_a_stream_is_fatal() {
    let buf = load("ncl");
    let mut d = sipkit_message::StreamDecoder::new(Limits::default());
    d.push(&buf).unwrap();
    assert!(matches!(d.decode(), Err(e) if e.kind == ErrorKind::InvalidContentLength));
    assert!(d.is_failed());
}

#[test]
fn contact_wildcard() {
    let buf = b"REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n\
To: <sip:a@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: c\r\nCSeq: 2 REGISTER\r\n\
Contact: *\r\nExpires: 0\r\nContent-Length: 0\r\n\r\n";
    let m = parse(buf).unwrap();
    assert!(matches!(m.contacts().next(), Some(Ok(Contact::Wildcard))));
    assert_eq!(m.expires().unwrap(), Some(0));
}
