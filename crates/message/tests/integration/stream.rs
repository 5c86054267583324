//! Stream framing for TCP (RFC 3261 §18.3) with CRLF keep-alives (RFC 5626 §3.5.1).

use sipkit_message::{ErrorKind, Event, Limits, StreamDecoder};

use crate::testdata;

fn collect(d: &mut StreamDecoder) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        match d.decode() {
            Ok(Event::Partial) => return out,
            Ok(Event::Message(m)) => out.push(format!("msg {}", m.cseq().method)),
            Ok(Event::Invalid { error, .. }) => out.push(format!("invalid {:?}", error.kind)),
            Ok(Event::Ping) => out.push("ping".into()),
            Ok(Event::Pong) => out.push("pong".into()),
            Err(e) => {
                out.push(format!("error {:?}", e.kind));
                return out;
            }
        }
    }
}

fn stream_bytes() -> Vec<u8> {
    let mut all = b"\r\n\r\n".to_vec();
    all.extend(testdata("messages/invite-sdp.sip"));
    all.extend(b"\r\n");
    all.extend(testdata("messages/register.sip"));
    all.extend(testdata("rfc4475/mismatch01.dat"));
    all.extend(testdata("messages/notify-sipfrag.sip"));
    all
}

const WANT: [&str; 6] = [
    "ping",
    "msg INVITE",
    "pong",
    "msg REGISTER",
    "invalid CSeqMethodMismatch",
    "msg NOTIFY",
];

#[test]
fn frames_whole_buffer() {
    let mut d = StreamDecoder::new(Limits::default());
    d.push(&stream_bytes()).unwrap();
    assert_eq!(collect(&mut d), WANT);
    assert_eq!(d.buffered(), 0);
}

#[test]
fn frames_byte_by_byte_and_in_any_chunks() {
    let all = stream_bytes();
    for chunk in [1, 2, 3, 5, 17, 64, 333] {
        let mut d = StreamDecoder::new(Limits::default());
        let mut got = Vec::new();
        for c in all.chunks(chunk) {
            d.push(c).unwrap();
            got.extend(collect(&mut d));
        }
        // A ping split across pushes may read as two pongs; everything else is exact.
        let got: Vec<_> = got
            .into_iter()
            .skip_while(|e| e == "pong" || e == "ping")
            .collect();
        assert_eq!(got, WANT[1..], "chunk {chunk}");
    }
}

#[test]
fn missing_content_length_is_fatal_on_a_stream() {
    let mut d = StreamDecoder::new(Limits::default());
    d.push(&testdata("rfc4475/inv2543.dat")).unwrap();
    assert_eq!(collect(&mut d), ["error MissingContentLength"]);
    assert!(d.is_failed());
    assert!(d.push(b"x").is_err());
}

#[test]
fn ambiguous_content_length_is_fatal() {
    let mut d = StreamDecoder::new(Limits::default());
    d.push(&testdata("rfc4475/mcl01.dat")).unwrap();
    assert!(
        matches!(d.decode(), Err(e) if e.kind == ErrorKind::DuplicateHeader(sipkit_message::HeaderName::ContentLength))
    );
}

#[test]
fn oversized_messages_are_bounded() {
    let limits = Limits {
        max_message_size: 300,
        ..Limits::default()
    };
    // Header section never ends.
    let mut d = StreamDecoder::new(limits);
    d.push(b"INVITE sip:a@b SIP/2.0\r\n").unwrap();
    for _ in 0..40 {
        if d.push(b"X-Filler: aaaaaaaa\r\n").is_err() {
            break;
        }
        if let Err(e) = d.decode() {
            assert!(matches!(e.kind, ErrorKind::TooLarge { .. }));
            return;
        }
    }
    panic!("no limit hit");
}

#[test]
fn huge_declared_body_is_rejected_before_buffering() {
    let mut d = StreamDecoder::new(Limits::default());
    d.push(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 99999999\r\n\r\n")
        .unwrap();
    assert!(matches!(d.decode(), Err(e) if matches!(e.kind, ErrorKind::TooLarge { .. })));
}

#[test]
fn push_is_bounded() {
    let mut d = StreamDecoder::new(Limits {
        max_message_size: 100,
        ..Limits::default()
    });
    assert!(d.push(&[b'a'; 150]).is_ok());
    assert!(d.push(&[b'a'; 100]).is_err());
}
