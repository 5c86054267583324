//! `Frames`: a whole byte stream cut into messages and keep-alives as a
//! receiver frames it (RFC 3261 §18.3, RFC 5626 §3.5.1); errors positioned
//! in their frame and, through `Frame::locate`, in the stream.

use sipkit_message::{
    ErrorKind, Event, Frame, FrameKind, Frames, HeaderName, Limits, Position, StreamDecoder,
};

use crate::{fixtures, testdata};

fn frames(stream: &[u8]) -> Vec<Frame<'_>> {
    Frames::new(stream, Limits::default()).collect()
}

/// A frame's kind and, for a message, the method or status it parses to.
fn verdicts(stream: &[u8]) -> Vec<String> {
    frames(stream)
        .iter()
        .map(|f| match f.kind {
            FrameKind::Message => match f.parse() {
                Ok(m) => match m.as_request() {
                    Some(r) => format!("msg {}", r.method()),
                    None => format!("msg {}", m.as_response().unwrap().status()),
                },
                Err(e) => format!("invalid {:?}", e.kind),
            },
            FrameKind::Ping => "ping".into(),
            FrameKind::Pong => "pong".into(),
            FrameKind::Truncated(e) => format!("truncated {:?}", e.kind),
            FrameKind::Lost(e) => format!("lost {:?}", e.kind),
        })
        .collect()
}

/// Every error's line and column are those of its offset in the stream.
fn assert_positioned(stream: &[u8], e: &sipkit_message::ParseError) {
    let p = Position::of(stream, e.offset);
    assert_eq!((e.line, e.column), (p.line, p.column), "{e:?}");
}

#[test]
fn several_messages_in_one_buffer() {
    let parts = [
        testdata("messages/invite-sdp.sip"),
        testdata("messages/302-two-contacts.sip"),
        testdata("messages/register.sip"),
        testdata("messages/notify-sipfrag.sip"),
    ];
    let stream = parts.concat();
    let fs = frames(&stream);
    assert_eq!(fs.len(), 4);
    let mut offset = 0;
    for (f, part) in fs.iter().zip(&parts) {
        assert_eq!(f.kind, FrameKind::Message);
        assert_eq!(f.at, Position::of(&stream, offset));
        assert_eq!(f.bytes, &part[..]);
        f.parse().unwrap();
        offset += part.len();
    }
    assert_eq!(fs[1].at.line, 1 + newlines(&parts[0]));
    assert_eq!(
        verdicts(&stream),
        ["msg INVITE", "msg 302", "msg REGISTER", "msg NOTIFY"]
    );
}

fn newlines(b: &[u8]) -> u32 {
    b.iter().filter(|&&c| c == b'\n').count() as u32
}

#[test]
fn crlf_keep_alives_between_and_around_messages() {
    let msg = testdata("messages/register.sip");
    let mut stream = b"\r\n\r\n".to_vec();
    stream.extend(&msg);
    stream.extend(b"\r\n");
    stream.extend(&msg);
    stream.extend(b"\r\n\r\n\r\n");
    let want = [
        "ping",
        "msg REGISTER",
        "pong",
        "msg REGISTER",
        "ping",
        "pong",
    ];
    assert_eq!(verdicts(&stream), want);
    let fs = frames(&stream);
    assert_eq!((fs[1].at.offset, fs[1].at.line, fs[1].at.column), (4, 3, 1));
    assert_eq!(fs[2].bytes, b"\r\n");
    // CRLF CR at the end may be a ping cut short: the stream ends in it.
    stream.push(b'\r');
    let fs = frames(&stream);
    assert_eq!(fs[fs.len() - 2].kind, FrameKind::Ping);
    let FrameKind::Truncated(_) = fs.last().unwrap().kind else {
        panic!("{:?}", fs.last());
    };
    assert_eq!(fs.last().unwrap().bytes, b"\r\n\r");
}

#[test]
fn partial_tail_is_the_last_frame() {
    let msg = testdata("messages/register.sip");
    // The header section never ends.
    let mut stream = msg.clone();
    stream.extend(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n");
    let fs = frames(&stream);
    assert_eq!(fs.len(), 2);
    let tail = fs[1];
    assert_eq!(tail.at.offset, msg.len());
    assert_eq!(tail.bytes, &stream[msg.len()..]);
    let FrameKind::Truncated(e) = tail.kind else {
        panic!("{tail:?}")
    };
    let e = tail.locate(e);
    assert_eq!(e.kind, ErrorKind::Truncated);
    assert_eq!(e.offset, stream.len());
    assert_positioned(&stream, &e);
    // The body is shorter than its Content-Length says.
    let invite = testdata("messages/invite-sdp.sip");
    let mut stream = msg.clone();
    stream.extend(&invite[..invite.len() - 10]);
    let fs = frames(&stream);
    let FrameKind::Truncated(e) = fs[1].kind else {
        panic!("{:?}", fs[1])
    };
    let e = fs[1].locate(e);
    assert!(matches!(
        e.kind,
        ErrorKind::ContentLengthMismatch {
            declared: 266,
            actual: 256
        }
    ));
    assert_eq!(e.header, Some(HeaderName::ContentLength));
    assert_positioned(&stream, &e);
    assert_eq!(&stream[e.offset..e.offset + 3], b"266");
}

#[test]
fn garbage_between_messages_is_one_invalid_frame_and_the_stream_goes_on() {
    let reg = testdata("messages/register.sip");
    let mut stream = reg.clone();
    stream.extend(b"garbage line\r\nmore junk\r\n");
    stream.extend(testdata("messages/302-two-contacts.sip"));
    stream.extend(b"<>");
    stream.extend(testdata("messages/notify-sipfrag.sip"));
    stream.extend(&reg);
    // A receiver frames the garbage with the message after it (the empty
    // line and Content-Length are that message's); that frame is invalid.
    assert_eq!(
        verdicts(&stream),
        [
            "msg REGISTER",
            "invalid InvalidRequestLine { expected: \"SP then SIP-Version after the Request-URI\" }",
            "invalid InvalidRequestLine { expected: \"a method (token) at the start of the line\" }",
            "msg REGISTER",
        ]
    );
    let fs = frames(&stream);
    let e = fs[1].parse().unwrap_err();
    assert_eq!((e.offset, e.line, e.column), (12, 1, 13), "in the frame");
    let e = fs[1].locate(e);
    assert_eq!((e.offset, e.line, e.column), (reg.len() + 12, 15, 13));
    assert_positioned(&stream, &e);
    let e = fs[2].locate(fs[2].parse().unwrap_err());
    assert_positioned(&stream, &e);
    assert_eq!(&stream[e.offset..e.offset + 4], b"<>NO");
}

#[test]
fn lost_framing_ends_the_frames() {
    let reg = testdata("messages/register.sip");
    for (tail, kind) in [
        (
            &b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n"[..],
            ErrorKind::MissingContentLength,
        ),
        (
            b"INVITE sip:a@b SIP/2.0\r\nl: 12\r\nContent-Length: 13\r\n\r\n",
            ErrorKind::DuplicateHeader(HeaderName::ContentLength),
        ),
        (
            b"INVITE sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n",
            ErrorKind::InvalidContentLength,
        ),
    ] {
        let mut stream = reg.clone();
        stream.extend(tail);
        stream.extend(&reg);
        let fs = frames(&stream);
        assert_eq!(fs.len(), 2);
        let FrameKind::Lost(e) = fs[1].kind else {
            panic!("{:?}", fs[1])
        };
        let e = fs[1].locate(e);
        assert_eq!(e.kind, kind);
        assert_eq!(fs[1].bytes, &stream[reg.len()..]);
        assert!(e.offset > reg.len());
        assert_positioned(&stream, &e);
    }
    // Over the size limit.
    let small = Limits {
        max_message_size: 300,
        ..Limits::default()
    };
    let fs: Vec<_> = Frames::new(&reg, small).collect();
    assert!(
        matches!(fs[0].kind, FrameKind::Lost(e) if matches!(e.kind, ErrorKind::TooLarge { .. }))
    );
}

#[test]
fn every_error_is_positioned_in_the_stream() {
    // Every fixture, valid or not, one after another; keep-alives between.
    let mut stream = Vec::new();
    for f in fixtures() {
        stream.extend(f);
        stream.extend(b"\r\n");
    }
    let mut errors = 0;
    let mut end = 0;
    for f in Frames::new(&stream, Limits::default()) {
        assert_eq!(f.at, Position::of(&stream, f.at.offset));
        assert_eq!(f.at.offset, end, "frames are contiguous");
        end += f.bytes.len();
        let e = match f.kind {
            FrameKind::Message => match f.parse() {
                Ok(m) => {
                    // An error read later from the message, located by its frame.
                    for i in 0..m.header_count() {
                        if let Some(Err(e)) = m.typed_values(i).find(Result::is_err) {
                            let e = f.locate(e);
                            assert_positioned(&stream, &e);
                        }
                    }
                    continue;
                }
                Err(e) => e,
            },
            FrameKind::Truncated(e) | FrameKind::Lost(e) => e,
            FrameKind::Ping | FrameKind::Pong => continue,
        };
        assert!(e.offset <= f.bytes.len());
        let e = f.locate(e);
        assert_positioned(&stream, &e);
        errors += 1;
    }
    assert_eq!(end, stream.len(), "the frames cover the stream");
    assert!(errors > 0);
}

#[test]
fn frames_agree_with_the_stream_decoder() {
    let mut stream = b"\r\n\r\n".to_vec();
    stream.extend(testdata("messages/invite-sdp.sip"));
    stream.extend(b"\r\n");
    stream.extend(testdata("messages/register.sip"));
    stream.extend(testdata("rfc4475/mismatch01.dat"));
    stream.extend(testdata("messages/notify-sipfrag.sip"));
    stream.extend(testdata("rfc4475/inv2543.dat"));
    let mut d = StreamDecoder::new(Limits::default());
    d.push(&stream).unwrap();
    let mut fs = Frames::new(&stream, Limits::default());
    loop {
        let f = fs.next().unwrap();
        match d.decode() {
            Ok(Event::Ping) => assert_eq!(f.kind, FrameKind::Ping),
            Ok(Event::Pong) => assert_eq!(f.kind, FrameKind::Pong),
            Ok(Event::Message(m)) => {
                assert_eq!(f.kind, FrameKind::Message);
                assert_eq!(m.source(), f.bytes);
                assert_eq!(f.parse().unwrap(), m);
            }
            Ok(Event::Invalid { error, bytes }) => {
                assert_eq!(bytes, f.bytes);
                assert_eq!(f.parse().unwrap_err(), error);
            }
            Err(e) => {
                assert_eq!(f.kind, FrameKind::Lost(e));
                break;
            }
            Ok(Event::Partial) => panic!("the decoder holds the whole stream"),
        }
    }
    assert!(fs.next().is_none());
}

/// A stream built from whole fixtures, pieces of them, keep-alives and junk.
fn stream_strategy() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let n = fixtures_cached().len();
    let piece = prop_oneof![
        4 => (0..n).prop_map(move |i| fixtures_cached()[i].clone()),
        2 => (0..n, 0usize..400).prop_map(|(i, k)| {
            let f = &fixtures_cached()[i];
            f[..k.min(f.len())].to_vec()
        }),
        2 => prop_oneof![Just(b"\r\n".to_vec()), Just(b"\r\n\r\n".to_vec()), Just(b"\r".to_vec())],
        1 => proptest::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(b':'), Just(b' '), any::<u8>()],
            0..40
        ),
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

fn fixtures_cached() -> &'static [Vec<u8>] {
    static F: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    F.get_or_init(fixtures)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

    #[test]
    fn frames_cover_the_stream_and_agree_with_the_decoder(stream in stream_strategy()) {
        let fs: Vec<_> = Frames::new(&stream, Limits::default()).collect();
        let mut d = StreamDecoder::new(Limits::default());
        d.push(&stream).unwrap();
        let mut end = 0;
        for (i, f) in fs.iter().enumerate() {
            proptest::prop_assert_eq!(f.at, Position::of(&stream, end));
            end += f.bytes.len();
            let last = i + 1 == fs.len();
            let ev = d.decode();
            match (f.kind, ev) {
                (FrameKind::Ping, Ok(Event::Ping)) | (FrameKind::Pong, Ok(Event::Pong)) => {}
                (FrameKind::Message, Ok(Event::Message(m))) => {
                    proptest::prop_assert_eq!(m.source(), f.bytes);
                }
                (FrameKind::Message, Ok(Event::Invalid { error, bytes })) => {
                    proptest::prop_assert_eq!(bytes, f.bytes);
                    let e = f.parse().unwrap_err();
                    proptest::prop_assert_eq!(e, error);
                    assert_positioned(&stream, &f.locate(e));
                }
                (FrameKind::Truncated(e), Ok(Event::Partial)) => {
                    proptest::prop_assert!(last);
                    assert_positioned(&stream, &f.locate(e));
                }
                (FrameKind::Lost(e), Err(de)) => {
                    proptest::prop_assert!(last);
                    proptest::prop_assert_eq!(e, de);
                    assert_positioned(&stream, &f.locate(e));
                }
                (k, ev) => proptest::prop_assert!(false, "frame {:?} decoder {:?}", k, ev),
            }
        }
        proptest::prop_assert_eq!(end, stream.len());
        if fs.last().is_none_or(|f| matches!(f.kind, FrameKind::Message | FrameKind::Ping | FrameKind::Pong)) {
            proptest::prop_assert!(matches!(d.decode(), Ok(Event::Partial)));
            proptest::prop_assert_eq!(d.buffered(), 0);
        }
    }
}
