//! The redirect server's decision (RFC 3261 §8.3, §21.3), run against every
//! store.

use sipkit_server::{
    redirect, register, ContactEntry, Directory, LocationService, RedirectConfig, RedirectOutcome,
    RegistrarConfig,
};

use crate::util::{c, ce, q, reg, FailingStore, T0};

const ALICE: &str = "sip:alice@example.com";

for_each_store!(
    a_registered_aor_gets_302_with_its_contact,
    the_302_lists_every_contact_highest_q_first_then_most_recent,
    every_method_but_register_ack_cancel_is_redirected,
    the_request_uri_is_canonicalized,
    moved_for_good_is_301_even_with_bindings,
    a_listed_user_without_binding_is_480,
    a_user_who_registered_once_is_480_after_expiry,
    a_user_who_unregistered_is_480,
    a_name_never_seen_is_404,
    an_unlisted_user_is_404,
    a_foreign_domain_is_404,
);

fn registrar() -> RegistrarConfig {
    RegistrarConfig::default()
}

fn contacts(out: &RedirectOutcome) -> Vec<String> {
    match out {
        RedirectOutcome::MovedTemporarily { contacts } => {
            contacts.iter().map(ToString::to_string).collect()
        }
        other => panic!("expected 302, got {other:?}"),
    }
}

fn a_registered_aor_gets_302_with_its_contact(store: &dyn LocationService) {
    register(
        T0,
        &reg(
            ALICE,
            "c",
            1,
            vec![c("sip:alice@192.0.2.4:5060;transport=udp")],
            Some(3600),
        ),
        store,
        &registrar(),
    );
    let out = redirect(
        T0.plus_secs(600),
        "INVITE",
        ALICE,
        store,
        &RedirectConfig::default(),
    );
    assert_eq!(
        (out.status(), out.reason_phrase().as_ref()),
        (Some(302), "Moved Temporarily")
    );
    assert_eq!(
        contacts(&out),
        ["<sip:alice@192.0.2.4:5060;transport=udp>;expires=3000;q=1"]
    );
    // Once expired, never offered again.
    let out = redirect(
        T0.plus_secs(3600),
        "INVITE",
        ALICE,
        store,
        &RedirectConfig::default(),
    );
    assert_eq!(out, RedirectOutcome::TemporarilyUnavailable);
}

fn the_302_lists_every_contact_highest_q_first_then_most_recent(store: &dyn LocationService) {
    let cfg = registrar();
    register(
        T0,
        &reg(
            ALICE,
            "desk",
            1,
            vec![ce(ContactEntry::new("sip:alice@desk").with_q(q(500)))],
            Some(3600),
        ),
        store,
        &cfg,
    );
    register(
        T0.plus_secs(10),
        &reg(
            ALICE,
            "laptop",
            1,
            vec![ce(ContactEntry::new("sip:alice@laptop").with_q(q(500)))],
            Some(3600),
        ),
        store,
        &cfg,
    );
    register(
        T0.plus_secs(20),
        &reg(
            ALICE,
            "voicemail",
            1,
            vec![ce(ContactEntry::new("sip:alice@vm").with_q(q(100)))],
            Some(3600),
        ),
        store,
        &cfg,
    );
    register(
        T0.plus_secs(30),
        &reg(
            ALICE,
            "mobile",
            1,
            vec![ce(ContactEntry::new("sip:alice@mobile").with_q(q(1000)))],
            Some(600),
        ),
        store,
        &cfg,
    );
    let out = redirect(
        T0.plus_secs(100),
        "INVITE",
        ALICE,
        store,
        &RedirectConfig::default(),
    );
    assert_eq!(
        contacts(&out),
        [
            "<sip:alice@mobile>;expires=530;q=1",
            "<sip:alice@laptop>;expires=3510;q=0.5",
            "<sip:alice@desk>;expires=3500;q=0.5",
            "<sip:alice@vm>;expires=3520;q=0.1",
        ]
    );
}

fn every_method_but_register_ack_cancel_is_redirected(store: &dyn LocationService) {
    register(
        T0,
        &reg(ALICE, "c", 1, vec![c("sip:alice@h")], Some(600)),
        store,
        &registrar(),
    );
    for m in [
        "INVITE",
        "OPTIONS",
        "MESSAGE",
        "SUBSCRIBE",
        "NOTIFY",
        "REFER",
        "INFO",
        "BYE",
        "PUBLISH",
        "FOOBAR",
    ] {
        assert_eq!(
            redirect(T0, m, ALICE, store, &RedirectConfig::default()).status(),
            Some(302),
            "{m}"
        );
    }
    for m in ["REGISTER", "ACK", "CANCEL"] {
        assert_eq!(
            redirect(T0, m, ALICE, store, &RedirectConfig::default()),
            RedirectOutcome::NotApplicable,
            "{m}"
        );
    }
}

fn the_request_uri_is_canonicalized(store: &dyn LocationService) {
    register(
        T0,
        &reg(ALICE, "c", 1, vec![c("sip:alice@h")], Some(600)),
        store,
        &registrar(),
    );
    let out = redirect(
        T0,
        "INVITE",
        "sip:alice@EXAMPLE.COM;transport=tcp;user=phone",
        store,
        &RedirectConfig::default(),
    );
    assert_eq!(out.status(), Some(302));
    assert_eq!(
        redirect(
            T0,
            "INVITE",
            "sip:Alice@example.com",
            store,
            &RedirectConfig::default()
        )
        .status(),
        Some(404)
    );
}

fn moved_for_good_is_301_even_with_bindings(store: &dyn LocationService) {
    register(
        T0,
        &reg(ALICE, "c", 1, vec![c("sip:alice@h")], Some(600)),
        store,
        &registrar(),
    );
    let cfg = RedirectConfig::default()
        .with_moved(ALICE, "sip:alice@new.example")
        .unwrap();
    let out = redirect(
        T0,
        "INVITE",
        "sip:alice@example.com;user=phone",
        store,
        &cfg,
    );
    assert_eq!(
        out,
        RedirectOutcome::MovedPermanently {
            uri: "sip:alice@new.example".into()
        }
    );
    assert_eq!(
        (out.status(), out.reason_phrase().as_ref()),
        (Some(301), "Moved Permanently")
    );
    // Even with no binding and a user list that omits it.
    let cfg = RedirectConfig::new(Directory::new(Vec::<String>::new(), ["bob"]).unwrap())
        .with_moved("sip:gone@example.com", "sip:gone@elsewhere.example")
        .unwrap();
    assert_eq!(
        redirect(T0, "INVITE", "sip:gone@example.com", store, &cfg).status(),
        Some(301)
    );
}

fn a_listed_user_without_binding_is_480(store: &dyn LocationService) {
    let cfg = RedirectConfig::new(Directory::new(Vec::<String>::new(), ["alice"]).unwrap());
    let out = redirect(T0, "INVITE", ALICE, store, &cfg);
    assert_eq!(
        (out.status(), out.reason_phrase().as_ref()),
        (Some(480), "Temporarily Unavailable")
    );
}

fn a_user_who_registered_once_is_480_after_expiry(store: &dyn LocationService) {
    register(
        T0,
        &reg(ALICE, "c", 1, vec![c("sip:alice@h")], Some(60)),
        store,
        &registrar(),
    );
    store.purge_expired(T0.plus_secs(61)).unwrap();
    assert_eq!(
        redirect(
            T0.plus_secs(61),
            "INVITE",
            ALICE,
            store,
            &RedirectConfig::default()
        ),
        RedirectOutcome::TemporarilyUnavailable
    );
}

fn a_user_who_unregistered_is_480(store: &dyn LocationService) {
    register(
        T0,
        &reg(ALICE, "c", 1, vec![c("sip:alice@h")], Some(600)),
        store,
        &registrar(),
    );
    register(
        T0,
        &reg(
            ALICE,
            "c",
            2,
            vec![sipkit_server::RegisterContact::Wildcard],
            Some(0),
        ),
        store,
        &registrar(),
    );
    assert_eq!(
        redirect(T0, "INVITE", ALICE, store, &RedirectConfig::default()),
        RedirectOutcome::TemporarilyUnavailable
    );
}

fn a_name_never_seen_is_404(store: &dyn LocationService) {
    let out = redirect(
        T0,
        "INVITE",
        "sip:nobody@example.com",
        store,
        &RedirectConfig::default(),
    );
    assert_eq!(
        (out.status(), out.reason_phrase().as_ref()),
        (Some(404), "Unknown User")
    );
    // A query REGISTER does not make a name known.
    register(
        T0,
        &reg("sip:nobody@example.com", "c", 1, vec![], None),
        store,
        &registrar(),
    );
    assert_eq!(
        redirect(
            T0,
            "INVITE",
            "sip:nobody@example.com",
            store,
            &RedirectConfig::default()
        )
        .status(),
        Some(404)
    );
}

fn an_unlisted_user_is_404(store: &dyn LocationService) {
    let cfg = RedirectConfig::new(Directory::new(Vec::<String>::new(), ["alice"]).unwrap());
    assert_eq!(
        redirect(T0, "INVITE", "sip:eve@example.com", store, &cfg).status(),
        Some(404)
    );
}

fn a_foreign_domain_is_404(store: &dyn LocationService) {
    register(
        T0,
        &reg(
            "sip:alice@other.example",
            "c",
            1,
            vec![c("sip:alice@h")],
            Some(600),
        ),
        store,
        &registrar(),
    );
    let cfg = RedirectConfig::new(Directory::new(["example.com"], Vec::<String>::new()).unwrap());
    let out = redirect(T0, "INVITE", "sip:alice@other.example", store, &cfg);
    assert_eq!(
        (out.status(), out.reason_phrase().as_ref()),
        (Some(404), "Domain Not Served")
    );
}

#[test]
fn a_failing_store_is_500() {
    let out = redirect(
        T0,
        "INVITE",
        ALICE,
        &FailingStore,
        &RedirectConfig::default(),
    );
    assert_eq!(
        (out.status(), out.reason_phrase().as_ref()),
        (Some(500), "Location Service Failure")
    );
}

#[test]
fn a_non_sip_request_uri_is_416() {
    let out = redirect(
        T0,
        "INVITE",
        "tel:+15551234",
        &sipkit_server::MemoryStore::new(),
        &RedirectConfig::default(),
    );
    assert_eq!(
        (out.status(), out.reason_phrase().as_ref()),
        (Some(416), "Unsupported URI Scheme")
    );
}
