//! `describe`: one description of a parsed message, for people (text) and
//! for programs (`Node` data), with every error positioned in the input.

use sipkit_message::{
    describe, describe_value, parse, Disposition, Frames, HeaderName, Limits, Node, Position,
    StartDescription,
};

use crate::{fixtures, testdata};

/// Field `key` of a map node.
fn field<'n>(n: &'n Node<'_>, key: &str) -> &'n Node<'n> {
    let Node::Map(fields) = n else {
        panic!("not a map: {n:?}")
    };
    &fields.iter().rev().find(|(k, _)| k == key).unwrap().1
}

fn str_of(n: &Node<'_>) -> String {
    match n {
        Node::Str(s) => s.to_string(),
        other => panic!("not a string: {other:?}"),
    }
}

#[test]
fn a_302_described_for_people_and_programs() {
    let buf = testdata("messages/302-two-contacts.sip");
    let m = parse(&buf).unwrap();
    let d = describe(&m, Position::START);
    assert!(matches!(
        d.start,
        StartDescription::Response { status: 302, .. }
    ));
    let via = &d.headers[0];
    assert_eq!(via.name, HeaderName::Via);
    assert!(
        via.values[0]
            .text
            .starts_with("transport UDP, sent-by proxy.atlanta.example.com:5060, branch"),
        "{}",
        via.values[0].text
    );
    assert_eq!(str_of(field(&via.values[0].data, "received")), "192.0.2.10");
    let contacts: Vec<_> = d
        .headers
        .iter()
        .filter(|h| h.name == HeaderName::Contact)
        .collect();
    let c = &contacts[0].values[0];
    assert!(c.text.contains(", q 0.700, expires 3600s"), "{}", c.text);
    assert_eq!(field(&c.data, "q"), &Node::Float(0.7));
    assert_eq!(field(&c.data, "expires"), &Node::Int(3600));
    assert_eq!(d.problems().count(), 0);
    let data = d.data();
    assert_eq!(str_of(field(&data, "kind")), "response");
    assert_eq!(field(&data, "status"), &Node::Int(302));
    let Node::List(hs) = field(&data, "headers") else {
        panic!()
    };
    assert_eq!(hs.len(), d.headers.len());
}

#[test]
fn every_typed_value_of_every_fixture_is_described() {
    for buf in fixtures() {
        let Ok(m) = parse(&buf) else { continue };
        for i in 0..m.header_count() {
            for v in m.typed_values(i).flatten() {
                let d = describe_value(&v);
                assert!(!d.text.is_empty() || m.header_at(i).unwrap().value.is_empty());
                assert_ne!(d.data, Node::Null);
            }
        }
        let d = describe(&m, Position::START);
        assert_eq!(d.headers.len(), m.header_count());
        for p in d.problems() {
            let at = Position::of(&buf, p.error.offset);
            assert_eq!((p.error.line, p.error.column), (at.line, at.column));
        }
    }
}

#[test]
fn errors_read_later_are_positioned_in_the_stream_and_named() {
    // A Warning value that only fails when read, in the second frame.
    let first = testdata("messages/register.sip");
    let bad = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\
Max-Forwards: 70\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: c\r\n\
CSeq: 1 OPTIONS\r\nWarning: 99 x y\r\nContent-Length: 0\r\n\r\n";
    let mut stream = first.clone();
    stream.extend(bad);
    let frames: Vec<_> = Frames::new(&stream, Limits::default()).collect();
    let m = frames[1].parse().unwrap();
    let d = describe(&m, frames[1].at);
    assert_eq!(d.at.offset, first.len());
    let problems: Vec<_> = d.problems().collect();
    assert_eq!(problems.len(), 1);
    let e = problems[0];
    assert_eq!(
        e.what,
        "invalid Warning header: expected a three-digit warn-code then SP"
    );
    assert_eq!(&stream[e.error.offset..e.error.offset + 2], b"99");
    let at = Position::of(&stream, e.error.offset);
    assert_eq!((e.error.line, e.error.column), (at.line, at.column));
    assert_eq!(e.error.column, 10);
    // The reply is the one the frame's receiver sends, positioned in the frame.
    let Disposition::Reply(r) = &e.reply else {
        panic!()
    };
    assert_eq!(r.status, 400);
    assert!(r.warn_text.contains("line 8, column 10"), "{}", r.warn_text);
    let data = e.data();
    assert_eq!(field(&data, "line"), &Node::Int(at.line.into()));
    assert_eq!(str_of(field(&data, "header")), "Warning");
}

#[test]
fn a_sipfrag_body_and_its_error_positioned_in_the_message() {
    let buf = testdata("messages/notify-sipfrag.sip");
    let d = describe(&parse(&buf).unwrap(), Position::START);
    let Some(Ok(f)) = &d.body.sipfrag else {
        panic!("{:?}", d.body)
    };
    assert_eq!((f.start.as_str(), f.status), ("SIP/2.0 200 OK", Some(200)));
    let head = "NOTIFY sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
Max-Forwards: 70\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: a\r\n\
CSeq: 1 NOTIFY\r\nContent-Type: message/sipfrag\r\n\r\n";
    let buf = format!("{head}SIP/2.0 999 Bad\r\n");
    let d = describe(&parse(buf.as_bytes()).unwrap(), Position::START);
    let Some(Err(e)) = &d.body.sipfrag else {
        panic!("{:?}", d.body)
    };
    assert_eq!(e.error.offset, head.len() + 8);
    assert_eq!((e.error.line, e.error.column), (10, 9));
    assert_eq!(d.problems().count(), 1);
}
