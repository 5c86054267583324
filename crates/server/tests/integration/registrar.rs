//! The registrar (RFC 3261 §10.3), run against every store.

use sipkit_server::{
    register, ContactEntry, Directory, LocationService, RegisterContact, RegisterOutcome,
    RegistrarConfig, Transport,
};

use crate::util::{c, ce, q, reg, FailingStore, T0};

const ALICE: &str = "sip:alice@example.com";

for_each_store!(
    first_register_answers_200_with_the_binding,
    the_200_lists_every_binding_with_remaining_expires,
    refresh_with_same_call_id_and_higher_cseq_updates,
    same_call_id_and_equal_cseq_fails_500_and_changes_nothing,
    same_call_id_and_lower_cseq_aborts_the_whole_request,
    different_call_id_updates_whatever_its_cseq,
    different_call_id_with_expires_0_removes,
    expires_param_0_removes_one_binding,
    expires_header_0_removes_every_listed_contact,
    expires_0_for_an_unknown_contact_is_a_harmless_200,
    wildcard_with_expires_0_removes_everything,
    wildcard_with_other_contacts_is_400,
    wildcard_without_expires_0_is_400,
    wildcard_obeys_the_cseq_rule_too,
    expires_below_min_is_423_and_nothing_is_stored,
    expires_header_below_min_is_423,
    expires_above_max_is_shortened,
    contact_param_beats_expires_header_which_beats_default,
    a_query_lists_without_changing,
    the_200_orders_by_q_then_most_recent,
    q_is_kept_and_missing_q_is_1,
    the_aor_is_canonicalized_from_to,
    source_and_outbound_params_are_stored,
    unknown_user_is_404_when_users_are_listed,
    foreign_domain_is_404_when_domains_are_listed,
    invalid_to_or_empty_contact_is_400,
    a_contact_listed_twice_is_one_binding,
);

fn cfg() -> RegistrarConfig {
    RegistrarConfig::default()
}

fn contacts(out: &RegisterOutcome) -> Vec<String> {
    match out {
        RegisterOutcome::Ok { contacts } => contacts.iter().map(ToString::to_string).collect(),
        other => panic!("expected 200, got {other:?}"),
    }
}

fn first_register_answers_200_with_the_binding(store: &dyn LocationService) {
    let out = register(
        T0,
        &reg(
            ALICE,
            "c1",
            1,
            vec![c("sip:alice@192.0.2.10:5060")],
            Some(3600),
        ),
        store,
        &cfg(),
    );
    assert_eq!((out.status(), out.reason_phrase().as_ref()), (200, "OK"));
    assert_eq!(
        contacts(&out),
        ["<sip:alice@192.0.2.10:5060>;expires=3600;q=1"]
    );
    assert_eq!(store.lookup(ALICE, T0).unwrap().len(), 1);
}

fn the_200_lists_every_binding_with_remaining_expires(store: &dyn LocationService) {
    register(
        T0,
        &reg(ALICE, "desk", 1, vec![c("sip:alice@desk")], Some(600)),
        store,
        &cfg(),
    );
    let later = T0.plus_millis(100_500);
    let out = register(
        later,
        &reg(ALICE, "mobile", 1, vec![c("sip:alice@mobile")], Some(3600)),
        store,
        &cfg(),
    );
    // Remaining time is rounded up: 499.5 s left shows as 500.
    assert_eq!(
        contacts(&out),
        [
            "<sip:alice@mobile>;expires=3600;q=1",
            "<sip:alice@desk>;expires=500;q=1"
        ]
    );
}

fn refresh_with_same_call_id_and_higher_cseq_updates(store: &dyn LocationService) {
    register(
        T0,
        &reg(ALICE, "c1", 1, vec![c("sip:alice@h1")], Some(600)),
        store,
        &cfg(),
    );
    let later = T0.plus_secs(300);
    let out = register(
        later,
        &reg(ALICE, "c1", 2, vec![c("sip:alice@h1")], Some(600)),
        store,
        &cfg(),
    );
    assert_eq!(contacts(&out), ["<sip:alice@h1>;expires=600;q=1"]);
    let b = &store.lookup(ALICE, later).unwrap()[0];
    assert_eq!(
        (b.cseq, b.expires_at, b.updated_at),
        (2, later.plus_secs(600), later)
    );
}

/// RFC 3261 §10.3 step 7: same Call-ID, CSeq not higher → "the update MUST
/// be aborted and the request fails".
fn same_call_id_and_equal_cseq_fails_500_and_changes_nothing(store: &dyn LocationService) {
    register(
        T0,
        &reg(ALICE, "c1", 5, vec![c("sip:alice@h1")], Some(600)),
        store,
        &cfg(),
    );
    let before = store.lookup(ALICE, T0).unwrap();
    let out = register(
        T0.plus_secs(1),
        &reg(ALICE, "c1", 5, vec![c("sip:alice@h1")], Some(0)),
        store,
        &cfg(),
    );
    assert_eq!(
        out,
        RegisterOutcome::CSeqOutOfOrder {
            call_id: "c1".into(),
            stored: 5,
            received: 5
        }
    );
    assert_eq!(
        (out.status(), out.reason_phrase().as_ref()),
        (500, "CSeq Out Of Order")
    );
    assert_eq!(store.lookup(ALICE, T0).unwrap(), before);
}

fn same_call_id_and_lower_cseq_aborts_the_whole_request(store: &dyn LocationService) {
    register(
        T0,
        &reg(ALICE, "c1", 7, vec![c("sip:alice@h1")], Some(600)),
        store,
        &cfg(),
    );
    register(
        T0,
        &reg(ALICE, "other", 1, vec![c("sip:alice@h2")], Some(600)),
        store,
        &cfg(),
    );
    let before = store.lookup(ALICE, T0).unwrap();
    // h3 is new and h2's Call-ID differs, so alone they would pass; h1 is out
    // of order, so none of the three changes is made.
    let out = register(
        T0.plus_secs(1),
        &reg(
            ALICE,
            "c1",
            6,
            vec![
                c("sip:alice@h3"),
                ce(ContactEntry::new("sip:alice@h2").with_expires(0)),
                c("sip:alice@h1"),
            ],
            Some(900),
        ),
        store,
        &cfg(),
    );
    assert_eq!(out.status(), 500);
    assert!(matches!(
        out,
        RegisterOutcome::CSeqOutOfOrder {
            stored: 7,
            received: 6,
            ..
        }
    ));
    assert_eq!(store.lookup(ALICE, T0).unwrap(), before);
}

fn different_call_id_updates_whatever_its_cseq(store: &dyn LocationService) {
    register(
        T0,
        &reg(ALICE, "c1", 100, vec![c("sip:alice@h1")], Some(600)),
        store,
        &cfg(),
    );
    let out = register(
        T0.plus_secs(1),
        &reg(ALICE, "rebooted", 1, vec![c("sip:alice@h1")], Some(1200)),
        store,
        &cfg(),
    );
    assert_eq!(contacts(&out), ["<sip:alice@h1>;expires=1200;q=1"]);
    let b = &store.lookup(ALICE, T0.plus_secs(1)).unwrap()[0];
    assert_eq!((b.call_id.as_str(), b.cseq), ("rebooted", 1));
}

fn different_call_id_with_expires_0_removes(store: &dyn LocationService) {
    register(
        T0,
        &reg(ALICE, "c1", 100, vec![c("sip:alice@h1")], Some(600)),
        store,
        &cfg(),
    );
    let out = register(
        T0,
        &reg(ALICE, "c2", 1, vec![c("sip:alice@h1")], Some(0)),
        store,
        &cfg(),
    );
    assert_eq!(contacts(&out), Vec::<String>::new());
}

fn expires_param_0_removes_one_binding(store: &dyn LocationService) {
    register(
        T0,
        &reg(
            ALICE,
            "c1",
            1,
            vec![c("sip:alice@h1"), c("sip:alice@h2")],
            Some(600),
        ),
        store,
        &cfg(),
    );
    let out = register(
        T0,
        &reg(
            ALICE,
            "c1",
            2,
            vec![ce(ContactEntry::new("sip:alice@H1").with_expires(0))],
            Some(600),
        ),
        store,
        &cfg(),
    );
    assert_eq!(contacts(&out), ["<sip:alice@h2>;expires=600;q=1"]);
}

fn expires_header_0_removes_every_listed_contact(store: &dyn LocationService) {
    register(
        T0,
        &reg(
            ALICE,
            "c1",
            1,
            vec![c("sip:alice@h1"), c("sip:alice@h2"), c("sip:alice@h3")],
            Some(600),
        ),
        store,
        &cfg(),
    );
    let out = register(
        T0,
        &reg(
            ALICE,
            "c1",
            2,
            vec![c("sip:alice@h1"), c("sip:alice@h3")],
            Some(0),
        ),
        store,
        &cfg(),
    );
    assert_eq!(contacts(&out), ["<sip:alice@h2>;expires=600;q=1"]);
}

fn expires_0_for_an_unknown_contact_is_a_harmless_200(store: &dyn LocationService) {
    let out = register(
        T0,
        &reg(ALICE, "c1", 1, vec![c("sip:alice@nowhere")], Some(0)),
        store,
        &cfg(),
    );
    assert_eq!(contacts(&out), Vec::<String>::new());
    assert_eq!(store.count(T0).unwrap().bindings, 0);
}

/// RFC 3261 §10.2.2: `Contact: *` with `Expires: 0` removes all bindings.
fn wildcard_with_expires_0_removes_everything(store: &dyn LocationService) {
    register(
        T0,
        &reg(ALICE, "c1", 1, vec![c("sip:alice@h1")], Some(600)),
        store,
        &cfg(),
    );
    register(
        T0,
        &reg(ALICE, "c2", 1, vec![c("sip:alice@h2")], Some(600)),
        store,
        &cfg(),
    );
    let out = register(
        T0,
        &reg(ALICE, "c3", 1, vec![RegisterContact::Wildcard], Some(0)),
        store,
        &cfg(),
    );
    assert_eq!(contacts(&out), Vec::<String>::new());
    assert_eq!(store.lookup(ALICE, T0).unwrap(), vec![]);
}

/// RFC 3261 §10.3 step 6: "If the request has additional Contact fields or
/// an expiration time other than zero, the request is invalid, and the
/// server MUST return a 400".
fn wildcard_with_other_contacts_is_400(store: &dyn LocationService) {
    register(
        T0,
        &reg(ALICE, "c1", 1, vec![c("sip:alice@h1")], Some(600)),
        store,
        &cfg(),
    );
    let out = register(
        T0,
        &reg(
            ALICE,
            "c1",
            2,
            vec![RegisterContact::Wildcard, c("sip:alice@h2")],
            Some(0),
        ),
        store,
        &cfg(),
    );
    assert_eq!(
        (out.status(), out.reason_phrase().as_ref()),
        (400, "Wildcard Contact Must Be Alone")
    );
    assert_eq!(store.lookup(ALICE, T0).unwrap().len(), 1);
}

fn wildcard_without_expires_0_is_400(store: &dyn LocationService) {
    register(
        T0,
        &reg(ALICE, "c1", 1, vec![c("sip:alice@h1")], Some(600)),
        store,
        &cfg(),
    );
    for expires in [None, Some(3600), Some(1)] {
        let out = register(
            T0,
            &reg(ALICE, "c1", 2, vec![RegisterContact::Wildcard], expires),
            store,
            &cfg(),
        );
        assert_eq!(
            (out.status(), out.reason_phrase().as_ref()),
            (400, "Wildcard Contact Requires Expires 0")
        );
    }
    assert_eq!(store.lookup(ALICE, T0).unwrap().len(), 1);
}

fn wildcard_obeys_the_cseq_rule_too(store: &dyn LocationService) {
    register(
        T0,
        &reg(ALICE, "c1", 9, vec![c("sip:alice@h1")], Some(600)),
        store,
        &cfg(),
    );
    register(
        T0,
        &reg(ALICE, "c2", 1, vec![c("sip:alice@h2")], Some(600)),
        store,
        &cfg(),
    );
    let out = register(
        T0,
        &reg(ALICE, "c1", 9, vec![RegisterContact::Wildcard], Some(0)),
        store,
        &cfg(),
    );
    assert_eq!(out.status(), 500);
    assert_eq!(store.lookup(ALICE, T0).unwrap().len(), 2);
    let out = register(
        T0,
        &reg(ALICE, "c1", 10, vec![RegisterContact::Wildcard], Some(0)),
        store,
        &cfg(),
    );
    assert_eq!(contacts(&out), Vec::<String>::new());
}

/// RFC 3261 §10.3 step 6: a non-zero expiration below the minimum → 423
/// with Min-Expires.
fn expires_below_min_is_423_and_nothing_is_stored(store: &dyn LocationService) {
    let out = register(
        T0,
        &reg(
            ALICE,
            "c1",
            1,
            vec![
                c("sip:alice@fine"),
                ce(ContactEntry::new("sip:alice@brief").with_expires(59)),
            ],
            Some(600),
        ),
        store,
        &cfg(),
    );
    assert_eq!(out, RegisterOutcome::IntervalTooBrief { min_expires: 60 });
    assert_eq!(out.status(), 423);
    assert_eq!(store.count(T0).unwrap().bindings, 0);
    let out = register(
        T0,
        &reg(
            ALICE,
            "c1",
            2,
            vec![ce(ContactEntry::new("sip:alice@ok").with_expires(60))],
            None,
        ),
        store,
        &cfg(),
    );
    assert_eq!(out.status(), 200);
}

fn expires_header_below_min_is_423(store: &dyn LocationService) {
    let cfg = RegistrarConfig {
        min_expires: 300,
        ..cfg()
    };
    let out = register(
        T0,
        &reg(ALICE, "c1", 1, vec![c("sip:alice@h1")], Some(120)),
        store,
        &cfg,
    );
    assert_eq!(out, RegisterOutcome::IntervalTooBrief { min_expires: 300 });
}

fn expires_above_max_is_shortened(store: &dyn LocationService) {
    let out = register(
        T0,
        &reg(ALICE, "c1", 1, vec![c("sip:alice@h1")], Some(u32::MAX)),
        store,
        &cfg(),
    );
    assert_eq!(contacts(&out), ["<sip:alice@h1>;expires=3600;q=1"]);
}

fn contact_param_beats_expires_header_which_beats_default(store: &dyn LocationService) {
    let cfg = RegistrarConfig {
        default_expires: 1800,
        ..cfg()
    };
    let out = register(
        T0,
        &reg(
            ALICE,
            "c1",
            1,
            vec![
                ce(ContactEntry::new("sip:alice@a").with_expires(120)),
                c("sip:alice@b"),
            ],
            Some(240),
        ),
        store,
        &cfg,
    );
    assert_eq!(
        contacts(&out),
        [
            "<sip:alice@a>;expires=120;q=1",
            "<sip:alice@b>;expires=240;q=1"
        ]
    );
    let out = register(
        T0,
        &reg(ALICE, "c2", 1, vec![c("sip:alice@c")], None),
        store,
        &cfg,
    );
    assert!(contacts(&out).contains(&"<sip:alice@c>;expires=1800;q=1".to_owned()));
}

/// RFC 3261 §10.2.3: a REGISTER without Contact lists the bindings.
fn a_query_lists_without_changing(store: &dyn LocationService) {
    let out = register(T0, &reg(ALICE, "q", 1, vec![], None), store, &cfg());
    assert_eq!(contacts(&out), Vec::<String>::new());
    assert!(!store.is_known(ALICE).unwrap());
    register(
        T0,
        &reg(ALICE, "c1", 1, vec![c("sip:alice@h1")], Some(600)),
        store,
        &cfg(),
    );
    let before = store.lookup(ALICE, T0).unwrap();
    // Even an old CSeq of the same Call-ID may query: nothing is updated.
    let out = register(
        T0.plus_secs(10),
        &reg(ALICE, "c1", 1, vec![], Some(0)),
        store,
        &cfg(),
    );
    assert_eq!(contacts(&out), ["<sip:alice@h1>;expires=590;q=1"]);
    assert_eq!(store.lookup(ALICE, T0).unwrap(), before);
}

fn the_200_orders_by_q_then_most_recent(store: &dyn LocationService) {
    register(
        T0,
        &reg(
            ALICE,
            "a",
            1,
            vec![ce(ContactEntry::new("sip:alice@old").with_q(q(500)))],
            Some(600),
        ),
        store,
        &cfg(),
    );
    register(
        T0.plus_secs(1),
        &reg(
            ALICE,
            "b",
            1,
            vec![ce(ContactEntry::new("sip:alice@new").with_q(q(500)))],
            Some(600),
        ),
        store,
        &cfg(),
    );
    let out = register(
        T0.plus_secs(2),
        &reg(
            ALICE,
            "c",
            1,
            vec![ce(ContactEntry::new("sip:alice@best").with_q(q(800)))],
            Some(600),
        ),
        store,
        &cfg(),
    );
    assert_eq!(
        contacts(&out),
        [
            "<sip:alice@best>;expires=600;q=0.8",
            "<sip:alice@new>;expires=599;q=0.5",
            "<sip:alice@old>;expires=598;q=0.5"
        ]
    );
}

fn q_is_kept_and_missing_q_is_1(store: &dyn LocationService) {
    register(
        T0,
        &reg(
            ALICE,
            "c",
            1,
            vec![
                ce(ContactEntry::new("sip:alice@h1").with_q(q(0))),
                c("sip:alice@h2"),
            ],
            Some(600),
        ),
        store,
        &cfg(),
    );
    let b = store.lookup(ALICE, T0).unwrap();
    assert_eq!(
        (b[0].contact.as_str(), b[0].q.thousandths()),
        ("sip:alice@h2", 1000)
    );
    assert_eq!(
        (b[1].contact.as_str(), b[1].q.thousandths()),
        ("sip:alice@h1", 0)
    );
}

/// RFC 3261 §10.3 step 5: the AOR is the To URI without parameters,
/// unescaped, scheme and host in lowercase.
fn the_aor_is_canonicalized_from_to(store: &dyn LocationService) {
    let out = register(
        T0,
        &reg(
            "<SIP:%61lice@EXAMPLE.com;user=phone>",
            "c",
            1,
            vec![c("sip:alice@h1")],
            Some(600),
        ),
        store,
        &cfg(),
    );
    assert_eq!(out.status(), 200);
    assert_eq!(store.lookup(ALICE, T0).unwrap().len(), 1);
}

fn source_and_outbound_params_are_stored(store: &dyn LocationService) {
    let mut r = reg(
        ALICE,
        "c",
        1,
        vec![ce(ContactEntry {
            instance: Some("\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\"".into()),
            reg_id: Some("1".into()),
            ..ContactEntry::new("sip:alice@[2001:db8::9]:5070;transport=tcp;ob")
        })],
        Some(600),
    );
    r.source = "tcp:[2001:db8::9]:40000".parse().unwrap();
    register(T0, &r, store, &cfg());
    let b = &store.lookup(ALICE, T0).unwrap()[0];
    assert_eq!(b.contact, "sip:alice@[2001:db8::9]:5070;transport=tcp;ob");
    assert_eq!(b.source.transport, Transport::Tcp);
    assert_eq!(b.source.addr, "[2001:db8::9]:40000".parse().unwrap());
    assert_eq!(
        b.instance.as_deref(),
        Some("\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\"")
    );
    assert_eq!(b.reg_id.as_deref(), Some("1"));
}

fn unknown_user_is_404_when_users_are_listed(store: &dyn LocationService) {
    let cfg = RegistrarConfig {
        directory: Directory::new(Vec::<String>::new(), ["alice"]).unwrap(),
        ..cfg()
    };
    let out = register(
        T0,
        &reg(
            "sip:mallory@example.com",
            "c",
            1,
            vec![c("sip:m@h")],
            Some(600),
        ),
        store,
        &cfg,
    );
    assert_eq!(
        (out.status(), out.reason_phrase().as_ref()),
        (404, "Unknown User")
    );
    assert!(!store.is_known("sip:mallory@example.com").unwrap());
    assert_eq!(
        register(
            T0,
            &reg(ALICE, "c", 1, vec![c("sip:alice@h")], Some(600)),
            store,
            &cfg
        )
        .status(),
        200
    );
}

fn foreign_domain_is_404_when_domains_are_listed(store: &dyn LocationService) {
    let cfg = RegistrarConfig {
        directory: Directory::new(["example.com"], Vec::<String>::new()).unwrap(),
        ..cfg()
    };
    let out = register(
        T0,
        &reg(
            "sip:alice@elsewhere.example",
            "c",
            1,
            vec![c("sip:a@h")],
            Some(600),
        ),
        store,
        &cfg,
    );
    assert_eq!(
        (out.status(), out.reason_phrase().as_ref()),
        (404, "Domain Not Served")
    );
    assert_eq!(
        register(
            T0,
            &reg(ALICE, "c", 1, vec![c("sip:alice@h")], Some(600)),
            store,
            &cfg
        )
        .status(),
        200
    );
}

fn invalid_to_or_empty_contact_is_400(store: &dyn LocationService) {
    for to in ["", "alice", "tel:+15551234", "sip:@example.com"] {
        let out = register(
            T0,
            &reg(to, "c", 1, vec![c("sip:a@h")], Some(600)),
            store,
            &cfg(),
        );
        assert_eq!(
            (out.status(), out.reason_phrase().as_ref()),
            (400, "Invalid Address-of-Record in To"),
            "{to:?}"
        );
    }
    let out = register(
        T0,
        &reg(ALICE, "c", 1, vec![c("  ")], Some(600)),
        store,
        &cfg(),
    );
    assert_eq!(
        (out.status(), out.reason_phrase().as_ref()),
        (400, "Empty Contact URI")
    );
    assert_eq!(store.count(T0).unwrap().bindings, 0);
}

fn a_contact_listed_twice_is_one_binding(store: &dyn LocationService) {
    let out = register(
        T0,
        &reg(
            ALICE,
            "c",
            1,
            vec![
                ce(ContactEntry::new("sip:alice@h1").with_expires(600)),
                ce(ContactEntry::new("sip:alice@H1").with_expires(0)),
            ],
            None,
        ),
        store,
        &cfg(),
    );
    assert_eq!(contacts(&out), Vec::<String>::new());
}

#[test]
fn a_failing_store_is_500_location_service_failure() {
    for r in [
        reg(ALICE, "c", 1, vec![c("sip:alice@h1")], Some(600)),
        reg(ALICE, "c", 1, vec![], None),
        reg(ALICE, "c", 1, vec![RegisterContact::Wildcard], Some(0)),
    ] {
        let out = register(T0, &r, &FailingStore, &cfg());
        assert_eq!(
            (out.status(), out.reason_phrase().as_ref()),
            (500, "Location Service Failure")
        );
        assert!(
            matches!(out, RegisterOutcome::StoreFailed { ref error } if error.contains("always fails"))
        );
    }
}

#[test]
fn a_corrupt_sqlite_row_is_500_not_a_panic() {
    let dir = crate::util::TempDir::new("reg-corrupt");
    let path = dir.file("location.db");
    let store = sipkit_server::SqliteStore::open(&path).unwrap();
    register(
        T0,
        &reg(ALICE, "c", 1, vec![c("sip:alice@h1")], Some(600)),
        &store,
        &cfg(),
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE bindings SET q = 5000", []).ok();
    conn.execute("UPDATE bindings SET source = 'not an address'", [])
        .unwrap();
    let out = register(
        T0,
        &reg(ALICE, "c", 2, vec![c("sip:alice@h2")], Some(600)),
        &store,
        &cfg(),
    );
    assert_eq!(out.status(), 500);
    assert_eq!(
        store.lookup(ALICE, T0).unwrap_err().to_string(),
        "location service holds an invalid source address: \"not an address\""
    );
}
