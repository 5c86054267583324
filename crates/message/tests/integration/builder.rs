//! Builders and responses built from requests (RFC 3261 §8.2.6).

use sipkit_message::{
    parse, response_from_request, HeaderName, Message, RequestBuilder, ResponseBuilder,
};

use crate::testdata;

#[test]
fn response_copies_vias_in_order_and_the_dialog_headers() {
    let buf = testdata("rfc4475/longreq.dat");
    let Message::Request(req) = parse(&buf).unwrap() else {
        panic!()
    };
    let bytes = response_from_request(&req, 486, "Busy Here")
        .to_tag("t-1")
        .build_checked()
        .unwrap();
    let resp = parse(&bytes).unwrap();
    let Message::Response(r) = &resp else {
        panic!()
    };
    assert_eq!((r.status(), r.reason()), (486, "Busy Here"));
    let a: Vec<_> = req.vias().map(|v| v.unwrap().raw).collect();
    let b: Vec<_> = resp.vias().map(|v| v.unwrap().raw).collect();
    assert_eq!(a, b);
    assert_eq!(resp.call_id(), req.call_id());
    assert_eq!(resp.cseq(), req.cseq());
    assert_eq!(resp.from().raw, req.from().raw);
    assert_eq!(resp.to().tag(), Some("t-1"));
    assert_eq!(resp.to().uri.as_str(), req.to().uri.as_str());
    // Headers that §8.2.6 does not copy are not copied.
    assert!(resp.header(HeaderName::ContentType).is_none());
    assert!(resp.body().is_empty());
}

#[test]
fn existing_to_tag_is_kept() {
    let buf = testdata("messages/refer.sip");
    let Message::Request(req) = parse(&buf).unwrap() else {
        panic!()
    };
    let bytes = response_from_request(&req, 202, "Accepted")
        .to_tag("other")
        .build();
    let resp = parse(&bytes).unwrap();
    assert_eq!(resp.to().tag(), Some("a6c85cf"));
}

#[test]
fn trying_copies_timestamp() {
    let buf = b"INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n\
To: <sip:b@x>\r\nFrom: <sip:a@x>;tag=1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nTimestamp: 54\r\nContent-Length: 0\r\n\r\n";
    let Message::Request(req) = parse(buf).unwrap() else {
        panic!()
    };
    let resp = response_from_request(&req, 100, "Trying").build();
    assert!(parse(&resp).unwrap().header_value("Timestamp") == Some("54"));
    let resp = response_from_request(&req, 180, "Ringing").build();
    assert!(parse(&resp).unwrap().header_value("Timestamp").is_none());
}

#[test]
fn request_builder_with_body() {
    let sdp = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n";
    let bytes = RequestBuilder::new("INVITE", "sip:bob@example.com")
        .header(HeaderName::Via, "SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKx")
        .header(HeaderName::MaxForwards, "70")
        .header(HeaderName::To, "<sip:bob@example.com>")
        .header(HeaderName::From, "<sip:alice@example.com>;tag=9")
        .header(HeaderName::CallId, "id@192.0.2.1")
        .header(HeaderName::CSeq, "1 INVITE")
        .body("application/sdp", &sdp[..])
        .build_checked()
        .unwrap();
    let m = sipkit_message::parse_with(&bytes, &Default::default(), sipkit_message::Mode::Stream)
        .unwrap();
    assert_eq!(m.body(), sdp);
    assert_eq!(m.content_length(), Some(sdp.len()));
    assert!(m.content_type().unwrap().unwrap().is("application", "sdp"));
}

#[test]
fn build_checked_reports_missing_headers() {
    let e = RequestBuilder::new("OPTIONS", "sip:b@x")
        .build_checked()
        .unwrap_err();
    assert!(matches!(
        e.kind,
        sipkit_message::ErrorKind::MissingHeader(_)
    ));
    let e = ResponseBuilder::new(1000, "Nope")
        .build_checked()
        .unwrap_err();
    assert!(matches!(
        e.kind,
        sipkit_message::ErrorKind::InvalidStatusCode
    ));
}
