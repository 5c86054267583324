//! RFC 3261 §12: creating dialogs (UAC from 1xx/2xx, UAS), route sets,
//! sequence numbers, requests inside a dialog, target refresh, BYE.

use sipkit_dialog::{Dialog, DialogId, DialogState, Error, ResponseEffect, Role};

use crate::util::*;

fn uac_confirmed() -> (Vec<u8>, Vec<u8>) {
    (
        crlf(INVITE),
        answer(200, "OK", Some("a6c85cf"), "sip:bob@192.0.2.4"),
    )
}

#[test]
fn s12_1_2_uac_dialog_from_2xx() {
    let (inv, ok) = uac_confirmed();
    let d = Dialog::uac(&req(&inv), &resp(&ok)).unwrap();
    assert_eq!(d.role(), Role::Uac);
    assert_eq!(d.state(), DialogState::Confirmed);
    assert_eq!(
        d.id(),
        &DialogId {
            call_id: "a84b4c76e66710".into(),
            local_tag: "1928301774".into(),
            remote_tag: "a6c85cf".into()
        }
    );
    // "The route set MUST be set to the list of URIs in the Record-Route
    // header field from the response, taken in reverse order."
    let uris: Vec<&str> = d.route_set().iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "sip:p1.atlanta.example.com;lr",
            "sip:p2.biloxi.example.com;lr"
        ]
    );
    assert!(d.route_set().iter().all(|r| r.lr));
    assert_eq!(d.remote_target(), "sip:bob@192.0.2.4");
    assert_eq!(
        d.local_seq(),
        Some(314159),
        "local sequence number = the request's CSeq"
    );
    assert_eq!(d.remote_seq(), None, "remote sequence number MUST be empty");
    assert_eq!(
        d.local_party(),
        "Alice <sip:alice@atlanta.example.com>;tag=1928301774"
    );
    assert_eq!(
        d.remote_party(),
        "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf"
    );
    assert_eq!(d.local_contact(), "sip:alice@pc33.atlanta.example.com");
    assert!(!d.is_secure());
}

#[test]
fn s12_1_early_dialog_from_1xx_with_tag_then_confirmed_by_2xx() {
    let inv = crlf(INVITE);
    let ringing = answer(180, "Ringing", Some("a6c85cf"), "sip:bob@192.0.2.99");
    let mut d = Dialog::uac(&req(&inv), &resp(&ringing)).unwrap();
    assert_eq!(d.state(), DialogState::Early);
    assert_eq!(d.remote_target(), "sip:bob@192.0.2.99");
    // §13.2.2.4: the 2xx confirms it and recomputes route set and target.
    let ok = crlf(
        &String::from_utf8(answer(200, "OK", Some("a6c85cf"), "sip:bob@192.0.2.4"))
            .unwrap()
            .replace("Record-Route: <sip:p1.atlanta.example.com;lr>\r\n", ""),
    );
    d.confirm(&resp(&ok)).unwrap();
    assert_eq!(d.state(), DialogState::Confirmed);
    assert_eq!(d.remote_target(), "sip:bob@192.0.2.4");
    assert_eq!(d.route_set().len(), 1);
    // A 2xx of another fork is another dialog.
    let other = answer(200, "OK", Some("fork2"), "sip:bob@192.0.2.5");
    assert_eq!(d.confirm(&resp(&other)), Err(Error::OtherDialog));
}

#[test]
fn s12_1_no_dialog_without_to_tag_or_from_100_or_failure() {
    let inv = crlf(INVITE);
    let no_tag = answer(180, "Ringing", None, "sip:bob@192.0.2.4");
    assert_eq!(
        Dialog::uac(&req(&inv), &resp(&no_tag)),
        Err(Error::MissingTag("To"))
    );
    let trying = answer(100, "Trying", None, "sip:bob@192.0.2.4");
    assert_eq!(
        Dialog::uac(&req(&inv), &resp(&trying)),
        Err(Error::NoDialogFromStatus(100))
    );
    let busy = answer(486, "Busy Here", Some("x"), "sip:bob@192.0.2.4");
    assert_eq!(
        Dialog::uac(&req(&inv), &resp(&busy)),
        Err(Error::NoDialogFromStatus(486))
    );
}

#[test]
fn s12_1_1_uas_dialog() {
    let inv = crlf(INVITE_AT_BOB);
    let d = Dialog::uas(&req(&inv), "a6c85cf", "sip:bob@192.0.2.4").unwrap();
    assert_eq!(d.role(), Role::Uas);
    assert_eq!(d.state(), DialogState::Early);
    // "The route set MUST be set to the list of URIs in the Record-Route
    // header field from the request, taken in order".
    let uris: Vec<&str> = d.route_set().iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "sip:p2.biloxi.example.com;lr",
            "sip:p1.atlanta.example.com;lr"
        ]
    );
    assert_eq!(d.remote_target(), "sip:alice@pc33.atlanta.example.com");
    assert_eq!(d.remote_seq(), Some(314159));
    assert_eq!(d.local_seq(), None, "local sequence number MUST be empty");
    assert_eq!(d.id().local_tag, "a6c85cf");
    assert_eq!(d.id().remote_tag, "1928301774");
    assert_eq!(
        d.local_party(),
        "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf"
    );
}

#[test]
fn s12_1_1_uas_response_carries_tag_and_contact() {
    let inv = crlf(INVITE_AT_BOB);
    let r = req(&inv);
    let mut d = Dialog::uas(&r, "a6c85cf", "sip:bob@192.0.2.4").unwrap();
    let ok = d.response(&r, 200, "OK").build();
    d.set_confirmed();
    assert_eq!(d.state(), DialogState::Confirmed);
    assert_eq!(resp(&ok).to().tag(), Some("a6c85cf"));
    assert_eq!(
        header(&ok, "Contact").as_deref(),
        Some("<sip:bob@192.0.2.4>")
    );
    assert_eq!(headers(&ok, "Via").len(), 3, "every Via copied (§8.2.6.2)");
    // A 200 to BYE needs no Contact.
    let bye = crlf(
        &INVITE_AT_BOB
            .replace("INVITE sip", "BYE sip")
            .replace("314159 INVITE", "314160 BYE"),
    );
    let ok_bye = d.response(&req(&bye), 200, "OK").build();
    assert_eq!(header(&ok_bye, "Contact"), None);
}

#[test]
fn s12_2_1_1_request_with_loose_routes() {
    let (inv, ok) = uac_confirmed();
    let mut d = Dialog::uac(&req(&inv), &resp(&ok)).unwrap();
    assert_eq!(d.next_hop(), "sip:p1.atlanta.example.com;lr");
    let (b, seq) = d
        .request(
            "BYE",
            "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKbye",
        )
        .unwrap();
    let bye = b.build_checked().unwrap();
    assert_eq!(seq, 314160, "one higher than the last local CSeq");
    assert_eq!(d.local_seq(), Some(314160));
    assert_eq!(
        first_line(&bye),
        "BYE sip:bob@192.0.2.4 SIP/2.0",
        "Request-URI = remote target"
    );
    assert_eq!(
        headers(&bye, "Route"),
        [
            "<sip:p1.atlanta.example.com;lr>",
            "<sip:p2.biloxi.example.com;lr>"
        ]
    );
    assert_eq!(header(&bye, "CSeq").as_deref(), Some("314160 BYE"));
    assert_eq!(
        header(&bye, "To").as_deref(),
        Some("Bob <sip:bob@biloxi.example.com>;tag=a6c85cf")
    );
    assert_eq!(
        header(&bye, "From").as_deref(),
        Some("Alice <sip:alice@atlanta.example.com>;tag=1928301774")
    );
    assert_eq!(header(&bye, "Call-ID").as_deref(), Some("a84b4c76e66710"));
    assert_eq!(header(&bye, "Contact"), None, "BYE is not a target refresh");
    // A re-INVITE carries Contact.
    let (b, seq) = d
        .request(
            "INVITE",
            "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKre",
        )
        .unwrap();
    assert_eq!(seq, 314161);
    assert_eq!(
        header(&b.build(), "Contact").as_deref(),
        Some("<sip:alice@pc33.atlanta.example.com>")
    );
}

#[test]
fn s12_2_1_1_request_through_a_strict_router() {
    let inv = crlf(INVITE);
    let ok = crlf(
        &String::from_utf8(answer(200, "OK", Some("t"), "sip:bob@192.0.2.4"))
            .unwrap()
            .replace(
                "<sip:p1.atlanta.example.com;lr>",
                "<sip:p1.atlanta.example.com>",
            ),
    );
    let mut d = Dialog::uac(&req(&inv), &resp(&ok)).unwrap();
    // "the UAC MUST place the first URI from the route set into the
    // Request-URI ... then the remote target URI as the last value".
    let (ruri, routes) = d.request_target();
    assert_eq!(ruri, "sip:p1.atlanta.example.com");
    assert_eq!(
        routes,
        ["<sip:p2.biloxi.example.com;lr>", "<sip:bob@192.0.2.4>"]
    );
    let (b, _) = d.request("BYE", "SIP/2.0/UDP h;branch=z9hG4bKs").unwrap();
    assert_eq!(
        first_line(&b.build()),
        "BYE sip:p1.atlanta.example.com SIP/2.0"
    );
    assert_eq!(d.next_hop(), "sip:p1.atlanta.example.com");
}

#[test]
fn s12_2_1_1_no_routes_goes_to_the_remote_target() {
    let inv = crlf(INVITE);
    let ok = crlf(
        &String::from_utf8(answer(200, "OK", Some("t"), "sip:bob@192.0.2.4:5070"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("Record-Route"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let mut d = Dialog::uac(&req(&inv), &resp(&ok)).unwrap();
    assert!(d.route_set().is_empty());
    assert_eq!(d.next_hop(), "sip:bob@192.0.2.4:5070");
    let (b, _) = d.request("INFO", "SIP/2.0/UDP h;branch=z9hG4bKi").unwrap();
    assert!(headers(&b.build(), "Route").is_empty());
}

#[test]
fn s12_2_1_1_uas_starts_its_own_cseq() {
    let inv = crlf(INVITE_AT_BOB);
    let mut d = Dialog::uas(&req(&inv), "b", "sip:bob@192.0.2.4").unwrap();
    d.set_confirmed();
    let (b, seq) = d
        .request("BYE", "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKb")
        .unwrap();
    assert_eq!(seq, 1);
    let bye = b.build_checked().unwrap();
    assert_eq!(
        first_line(&bye),
        "BYE sip:alice@pc33.atlanta.example.com SIP/2.0"
    );
    assert_eq!(
        header(&bye, "From").as_deref(),
        Some("Bob <sip:bob@biloxi.example.com>;tag=b")
    );
    assert_eq!(
        header(&bye, "To").as_deref(),
        Some("Alice <sip:alice@atlanta.example.com>;tag=1928301774")
    );
    assert_eq!(
        headers(&bye, "Route"),
        [
            "<sip:p2.biloxi.example.com;lr>",
            "<sip:p1.atlanta.example.com;lr>"
        ]
    );
}

fn in_dialog(method: &str, cseq: u32, contact: Option<&str>) -> Vec<u8> {
    let contact = contact
        .map(|c| format!("Contact: <{c}>\n"))
        .unwrap_or_default();
    crlf(&format!(
        "{method} sip:bob@192.0.2.4 SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK{method}{cseq}
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>;tag=b
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: {cseq} {method}
{contact}Content-Length: 0

"
    ))
}

#[test]
fn s12_2_2_uas_checks_cseq_and_refreshes_target() {
    let inv = crlf(INVITE_AT_BOB);
    let mut d = Dialog::uas(&req(&inv), "b", "sip:bob@192.0.2.4").unwrap();
    d.set_confirmed();
    // "If the remote sequence number was not empty, but the sequence number
    // of the request is lower ... the UAS SHOULD reject the request with a 500".
    let old = in_dialog("INFO", 314158, None);
    assert_eq!(
        d.on_request(&req(&old)),
        Err(Error::CSeqOutOfOrder {
            got: 314158,
            last: 314159
        })
    );
    let info = in_dialog("INFO", 314160, Some("sip:alice@198.51.100.1"));
    d.on_request(&req(&info)).unwrap();
    assert_eq!(d.remote_seq(), Some(314160));
    assert_eq!(
        d.remote_target(),
        "sip:alice@pc33.atlanta.example.com",
        "INFO is no target refresh"
    );
    let reinvite = in_dialog("INVITE", 314161, Some("sip:alice@198.51.100.1"));
    d.on_request(&req(&reinvite)).unwrap();
    assert_eq!(
        d.remote_target(),
        "sip:alice@198.51.100.1",
        "re-INVITE refreshes the target"
    );
    // ACK carries the INVITE's number and is not checked against it.
    let ack = in_dialog("ACK", 314161, None);
    d.on_request(&req(&ack)).unwrap();
    // Another dialog's request.
    let other = crlf(
        &String::from_utf8(in_dialog("BYE", 314170, None))
            .unwrap()
            .replace("tag=b", "tag=zz"),
    );
    assert_eq!(d.on_request(&req(&other)), Err(Error::OtherDialog));
    // BYE ends the dialog.
    let bye = in_dialog("BYE", 314162, None);
    d.on_request(&req(&bye)).unwrap();
    assert_eq!(d.state(), DialogState::Terminated);
    assert!(matches!(
        d.request("BYE", "SIP/2.0/UDP h;branch=z9hG4bKx"),
        Err(Error::Terminated)
    ));
}

fn reply_to(request: &[u8], status: u16, reason: &str, contact: Option<&str>) -> Vec<u8> {
    let r = req(request);
    let mut b = sipkit_message::response_from_request(&r, status, reason);
    if let Some(c) = contact {
        b = b.header(sipkit_message::HeaderName::Contact, format!("<{c}>"));
    }
    b.build()
}

#[test]
fn s12_2_1_2_uac_target_refresh_and_termination() {
    let (inv, ok) = uac_confirmed();
    let mut d = Dialog::uac(&req(&inv), &resp(&ok)).unwrap();
    let (b, _) = d
        .request("INVITE", "SIP/2.0/UDP h;branch=z9hG4bKre")
        .unwrap();
    let reinvite = b.build();
    let ok2 = reply_to(&reinvite, 200, "OK", Some("sip:bob@203.0.113.9"));
    assert_eq!(
        d.on_response(&resp(&ok2)),
        ResponseEffect::TargetRefreshed("sip:bob@203.0.113.9".into())
    );
    assert_eq!(d.remote_target(), "sip:bob@203.0.113.9");
    // A 200 to INFO does not touch the target.
    let (b, _) = d
        .request("INFO", "SIP/2.0/UDP h;branch=z9hG4bKinfo")
        .unwrap();
    let ok3 = reply_to(&b.build(), 200, "OK", Some("sip:elsewhere@192.0.2.77"));
    assert_eq!(d.on_response(&resp(&ok3)), ResponseEffect::None);
    assert_eq!(d.remote_target(), "sip:bob@203.0.113.9");
    // "If the response for a request within a dialog is a 481 ... or a 408
    // ... the UAC SHOULD terminate the dialog."
    let (b, _) = d
        .request("INFO", "SIP/2.0/UDP h;branch=z9hG4bKinfo2")
        .unwrap();
    let gone = reply_to(&b.build(), 481, "Call/Transaction Does Not Exist", None);
    assert_eq!(d.on_response(&resp(&gone)), ResponseEffect::Terminated(481));
    assert_eq!(d.state(), DialogState::Terminated);
}

#[test]
fn s15_1_any_final_response_to_bye_ends_the_dialog() {
    let (inv, ok) = uac_confirmed();
    let mut d = Dialog::uac(&req(&inv), &resp(&ok)).unwrap();
    let (b, _) = d.request("BYE", "SIP/2.0/UDP h;branch=z9hG4bKbye").unwrap();
    let bye = b.build();
    let trying = reply_to(&bye, 100, "Trying", None);
    assert_eq!(d.on_response(&resp(&trying)), ResponseEffect::None);
    assert_eq!(d.state(), DialogState::Confirmed);
    let err = reply_to(&bye, 500, "Server Internal Error", None);
    assert_eq!(d.on_response(&resp(&err)), ResponseEffect::Terminated(500));
    assert_eq!(d.state(), DialogState::Terminated);
}

#[test]
fn s13_2_2_4_ack_for_2xx() {
    let (inv, ok) = uac_confirmed();
    let d = Dialog::uac(&req(&inv), &resp(&ok)).unwrap();
    let ack = d
        .ack(
            314159,
            "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKack",
        )
        .build_checked()
        .unwrap();
    // "The header fields of the ACK are constructed in the same way as for
    // any request sent within a dialog ... with the exception of the CSeq".
    assert_eq!(first_line(&ack), "ACK sip:bob@192.0.2.4 SIP/2.0");
    assert_eq!(header(&ack, "CSeq").as_deref(), Some("314159 ACK"));
    assert_eq!(headers(&ack, "Route").len(), 2);
    assert_eq!(
        d.local_seq(),
        Some(314159),
        "the ACK does not use up a CSeq"
    );
}
