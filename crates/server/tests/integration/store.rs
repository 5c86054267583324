//! The `LocationService` contract (RFC 3261 §10.2, §10.3), run against every
//! store, then what only the SQLite store promises.

use sipkit_server::{
    Binding, Change, ConnRef, Counts, LocationService, Plan, SqliteStore, Transport, TransportAddr,
    UnixMs,
};

use crate::util::{binding, q, TempDir, T0};

const ALICE: &str = "sip:alice@example.com";
const BOB: &str = "sip:bob@example.com";

for_each_store!(
    empty_store_knows_nothing,
    every_field_survives_a_round_trip,
    path_user_agent_node_and_connection_round_trip_and_a_refresh_replaces_them,
    expired_bindings_are_never_returned,
    upsert_replaces_a_contact_that_compares_equal,
    remove_matches_by_uri_comparison,
    remove_all_empties_the_aor_and_keeps_it_known,
    purge_expired_counts_and_spares_the_live,
    a_round_of_purge_steps_purges_the_expired,
    counts_are_of_live_bindings_and_aors,
    aors_are_separate,
    lookup_lists_highest_q_then_most_recent_first,
    lookup_replies_is_lookup_through_reply,
    a_batch_keeps_each_update_atomic_and_commits_them_together,
    abort_writes_nothing,
    decide_sees_only_live_bindings,
    update_returns_what_lookup_then_sees,
    a_register_is_all_or_nothing,
    an_upsert_already_expired_is_a_removal,
    empty_commit_changes_nothing,
    hundreds_of_aors,
);

fn empty_store_knows_nothing(store: &dyn LocationService) {
    assert_eq!(store.lookup(ALICE, T0).unwrap(), vec![]);
    assert!(!store.is_known(ALICE).unwrap());
    assert_eq!(store.count(T0).unwrap(), Counts::default());
    assert_eq!(store.purge_expired(T0).unwrap(), 0);
    assert_eq!(store.remove_all(ALICE).unwrap(), 0);
}

fn every_field_survives_a_round_trip(store: &dyn LocationService) {
    let b = Binding {
        contact: "sip:alice@[2001:db8::4]:5070;transport=tcp;ob".into(),
        q: q(250),
        expires_at: UnixMs(T0.0 + 3_600_123),
        updated_at: T0,
        call_id: "843817637684230@998sdasdh09".into(),
        cseq: u32::MAX,
        source: TransportAddr::new(Transport::Tcp, "[2001:db8::4]:49152".parse().unwrap()),
        instance: Some("\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\"".into()),
        reg_id: Some("1".into()),
        path: vec![
            "<sip:p3.example.com;lr>".into(),
            "\"Edge\" <sip:[2001:db8::1]:5061;transport=tls;lr>".into(),
        ],
        user_agent: Some("Softphone/2.1 (\u{e9}t\u{e9})".into()),
        node: Some("node-b.example.net".into()),
        connection: Some(ConnRef {
            worker: 3,
            id: u64::MAX,
        }),
    };
    let after = store
        .apply(ALICE, T0, &[Change::Upsert(b.clone())])
        .unwrap();
    assert_eq!(after, vec![b.clone()]);
    assert_eq!(store.lookup(ALICE, T0).unwrap(), vec![b]);
    assert!(store.is_known(ALICE).unwrap());
}

/// Issue 14: what a binding keeps besides RFC 3261 §10.3 (the Path vector
/// of RFC 3327 §5.3, the User-Agent, the node and the connection) comes
/// back as written, and a later REGISTER of the contact replaces it: a
/// refresh over UDP without Path leaves no path and no connection.
fn path_user_agent_node_and_connection_round_trip_and_a_refresh_replaces_them(
    store: &dyn LocationService,
) {
    let first = Binding {
        path: vec!["<sip:edge-1.example.com;lr>".into()],
        user_agent: Some("A".repeat(sipkit_server::MAX_USER_AGENT)),
        node: Some("node-a".into()),
        connection: Some(ConnRef { worker: 0, id: 1 }),
        ..binding("sip:alice@h1", T0, 600)
    };
    let second = Binding {
        path: vec![
            "<sip:edge-2.example.com;lr>".into(),
            "<sip:core.example.com;lr>".into(),
        ],
        connection: Some(ConnRef { worker: 1, id: 7 }),
        ..binding("sip:alice@h2", T0, 600)
    };
    let after = store
        .apply(
            ALICE,
            T0,
            &[
                Change::Upsert(first.clone()),
                Change::Upsert(second.clone()),
            ],
        )
        .unwrap();
    assert_eq!(store.lookup(ALICE, T0).unwrap(), after);
    let find = |list: &[Binding], c: &str| list.iter().find(|b| b.contact == c).cloned();
    assert_eq!(find(&after, "sip:alice@h1"), Some(first.clone()));
    assert_eq!(find(&after, "sip:alice@h2"), Some(second.clone()));
    let refresh = Binding {
        cseq: 2,
        node: Some("node-b".into()),
        ..binding("sip:alice@h1", T0.plus_secs(10), 600)
    };
    store
        .apply(ALICE, T0.plus_secs(10), &[Change::Upsert(refresh.clone())])
        .unwrap();
    let now = store.lookup(ALICE, T0.plus_secs(10)).unwrap();
    assert_eq!(find(&now, "sip:alice@h1"), Some(refresh));
    assert_eq!(find(&now, "sip:alice@h2"), Some(second));
}

fn expired_bindings_are_never_returned(store: &dyn LocationService) {
    store
        .apply(
            ALICE,
            T0,
            &[Change::Upsert(binding("sip:alice@h1", T0, 10))],
        )
        .unwrap();
    assert_eq!(store.lookup(ALICE, UnixMs(T0.0 + 9_999)).unwrap().len(), 1);
    // It expires at T0 + 10 s exactly.
    assert_eq!(store.lookup(ALICE, T0.plus_secs(10)).unwrap(), vec![]);
    assert_eq!(store.count(T0.plus_secs(10)).unwrap(), Counts::default());
    // An update sees nothing either.
    let mut seen = None;
    store
        .update(ALICE, T0.plus_secs(11), &mut |cur| {
            seen = Some(cur.len());
            Plan::Abort
        })
        .unwrap();
    assert_eq!(seen, Some(0));
}

fn upsert_replaces_a_contact_that_compares_equal(store: &dyn LocationService) {
    store
        .apply(
            ALICE,
            T0,
            &[Change::Upsert(binding(
                "sip:alice@PC33.example.com;transport=UDP",
                T0,
                60,
            ))],
        )
        .unwrap();
    let later = T0.plus_secs(5);
    let mut b = binding("sip:alice@pc33.example.com;transport=udp", later, 600);
    b.cseq = 2;
    let after = store
        .apply(ALICE, later, &[Change::Upsert(b.clone())])
        .unwrap();
    assert_eq!(after, vec![b.clone()]);
    assert_eq!(store.lookup(ALICE, later).unwrap(), vec![b]);
    assert_eq!(store.count(later).unwrap().bindings, 1);
}

fn remove_matches_by_uri_comparison(store: &dyn LocationService) {
    store
        .apply(
            ALICE,
            T0,
            &[
                Change::Upsert(binding("sip:alice@h1;lr;transport=tcp", T0, 60)),
                Change::Upsert(binding("sip:alice@h2", T0, 60)),
            ],
        )
        .unwrap();
    let after = store
        .apply(
            ALICE,
            T0,
            &[Change::Remove("<SIP:alice@H1;transport=TCP;lr>".into())],
        )
        .unwrap();
    assert_eq!(
        after.iter().map(|b| b.contact.as_str()).collect::<Vec<_>>(),
        ["sip:alice@h2"]
    );
    assert_eq!(store.lookup(ALICE, T0).unwrap(), after);
}

fn remove_all_empties_the_aor_and_keeps_it_known(store: &dyn LocationService) {
    store
        .apply(
            ALICE,
            T0,
            &[
                Change::Upsert(binding("sip:alice@h1", T0, 60)),
                Change::Upsert(binding("sip:alice@h2", T0, 60)),
            ],
        )
        .unwrap();
    store
        .apply(BOB, T0, &[Change::Upsert(binding("sip:bob@h1", T0, 60))])
        .unwrap();
    assert_eq!(store.remove_all(ALICE).unwrap(), 2);
    assert_eq!(store.lookup(ALICE, T0).unwrap(), vec![]);
    assert!(store.is_known(ALICE).unwrap());
    assert_eq!(store.lookup(BOB, T0).unwrap().len(), 1);
    // Change::RemoveAll inside a transaction does the same.
    assert_eq!(store.apply(BOB, T0, &[Change::RemoveAll]).unwrap(), vec![]);
    assert_eq!(store.count(T0).unwrap(), Counts::default());
}

/// Issue 14: purge steps with a small budget, repeated until a round is
/// done, purge what `purge_expired` would (on a cluster: every master).
fn a_round_of_purge_steps_purges_the_expired(store: &dyn LocationService) {
    for i in 0..40 {
        let secs = if i % 4 == 0 { 60 } else { 3600 };
        store
            .apply(
                &format!("sip:u{i}@example.com"),
                T0,
                &[Change::Upsert(binding(&format!("sip:u{i}@h"), T0, secs))],
            )
            .unwrap();
    }
    let round = |now: UnixMs| {
        let mut purged = 0;
        for _ in 0..1000 {
            let p = store.purge_step(now, 3).unwrap();
            purged += p.purged;
            if p.round_done {
                return purged;
            }
        }
        panic!("the round never ends");
    };
    assert_eq!(round(T0.plus_secs(59)), 0);
    assert_eq!(round(T0.plus_secs(60)), 10);
    assert_eq!(round(T0.plus_secs(60)), 0);
    assert_eq!(store.count(T0.plus_secs(60)).unwrap().aors, 30);
}

fn purge_expired_counts_and_spares_the_live(store: &dyn LocationService) {
    store
        .apply(
            ALICE,
            T0,
            &[
                Change::Upsert(binding("sip:alice@short", T0, 60)),
                Change::Upsert(binding("sip:alice@long", T0, 3600)),
            ],
        )
        .unwrap();
    store
        .apply(BOB, T0, &[Change::Upsert(binding("sip:bob@short", T0, 60))])
        .unwrap();
    assert_eq!(store.purge_expired(T0.plus_secs(59)).unwrap(), 0);
    assert_eq!(store.purge_expired(T0.plus_secs(60)).unwrap(), 2);
    assert_eq!(store.purge_expired(T0.plus_secs(60)).unwrap(), 0);
    let left = store.lookup(ALICE, T0.plus_secs(60)).unwrap();
    assert_eq!(
        left.iter().map(|b| b.contact.as_str()).collect::<Vec<_>>(),
        ["sip:alice@long"]
    );
    // Expired rows were removed, and even looking in the past shows nothing.
    assert_eq!(store.lookup(BOB, T0).unwrap(), vec![]);
    assert!(store.is_known(BOB).unwrap());
}

fn counts_are_of_live_bindings_and_aors(store: &dyn LocationService) {
    store
        .apply(
            ALICE,
            T0,
            &[
                Change::Upsert(binding("sip:alice@h1", T0, 60)),
                Change::Upsert(binding("sip:alice@h2", T0, 120)),
            ],
        )
        .unwrap();
    store
        .apply(BOB, T0, &[Change::Upsert(binding("sip:bob@h1", T0, 60))])
        .unwrap();
    assert_eq!(
        store.count(T0).unwrap(),
        Counts {
            bindings: 3,
            aors: 2
        }
    );
    assert_eq!(
        store.count(T0.plus_secs(60)).unwrap(),
        Counts {
            bindings: 1,
            aors: 1
        }
    );
    assert_eq!(
        store.count(T0.plus_secs(120)).unwrap(),
        Counts {
            bindings: 0,
            aors: 0
        }
    );
}

fn aors_are_separate(store: &dyn LocationService) {
    // The same contact under two AORs is two bindings.
    store
        .apply(
            ALICE,
            T0,
            &[Change::Upsert(binding("sip:shared@h", T0, 60))],
        )
        .unwrap();
    store
        .apply(BOB, T0, &[Change::Upsert(binding("sip:shared@h", T0, 120))])
        .unwrap();
    assert_eq!(
        store.lookup(ALICE, T0).unwrap()[0].expires_at,
        T0.plus_secs(60)
    );
    assert_eq!(
        store.lookup(BOB, T0).unwrap()[0].expires_at,
        T0.plus_secs(120)
    );
    assert!(!store.is_known("sip:carol@example.com").unwrap());
    // AOR keys are exact: canonicalizing is the caller's (the registrar's).
    assert_eq!(store.lookup("sip:ALICE@example.com", T0).unwrap(), vec![]);
}

/// Group commit: inside a batch each update is all or nothing and visible
/// at once; after `end_batch` they stay.
fn a_batch_keeps_each_update_atomic_and_commits_them_together(store: &dyn LocationService) {
    store.begin_batch().unwrap();
    store
        .apply(ALICE, T0, &[Change::Upsert(binding("sip:a@one", T0, 600))])
        .unwrap();
    let aborted = store.update(BOB, T0, &mut |_| Plan::Abort).unwrap();
    assert!(aborted.is_empty());
    store
        .apply(BOB, T0, &[Change::Upsert(binding("sip:b@one", T0, 600))])
        .unwrap();
    assert_eq!(
        store.lookup(ALICE, T0).unwrap().len(),
        1,
        "visible inside the batch"
    );
    store.end_batch().unwrap();
    assert_eq!(store.lookup(ALICE, T0).unwrap().len(), 1);
    assert_eq!(store.lookup(BOB, T0).unwrap().len(), 1);
    // Ending twice, or without a batch, is harmless.
    store.end_batch().unwrap();
}

/// The 302's contact list equals the live bindings, in reply order, each as
/// its reply (q and remaining expires); expired ones are left out.
fn lookup_replies_is_lookup_through_reply(store: &dyn LocationService) {
    let mut changes = Vec::new();
    for (contact, qv, at, life) in [
        ("sip:a@one", 300, 0, 600),
        ("sip:a@two", 900, 2, 600),
        ("sip:a@gone", 1000, 0, 5),
    ] {
        let mut b = binding(contact, T0.plus_secs(at), life);
        b.q = q(qv);
        changes.push(Change::Upsert(b));
    }
    store.apply(ALICE, T0.plus_secs(2), &changes).unwrap();
    let now = T0.plus_secs(10);
    let via_lookup: Vec<_> = store
        .lookup(ALICE, now)
        .unwrap()
        .iter()
        .map(|b| b.reply(now))
        .collect();
    let replies = store.lookup_replies(ALICE, now).unwrap();
    assert_eq!(replies, via_lookup);
    let uris: Vec<&str> = replies.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(uris, ["sip:a@two", "sip:a@one"]);
    assert!(store.lookup_replies(BOB, now).unwrap().is_empty());
}

fn lookup_lists_highest_q_then_most_recent_first(store: &dyn LocationService) {
    let mut changes = Vec::new();
    for (contact, qv, at) in [
        ("sip:a@low", 100, 0),
        ("sip:a@old-high", 900, 0),
        ("sip:a@new-high", 900, 5),
        ("sip:a@tie-b", 500, 3),
        ("sip:a@tie-a", 500, 3),
    ] {
        let mut b = binding(contact, T0.plus_secs(at), 600);
        b.q = q(qv);
        changes.push(Change::Upsert(b));
    }
    let now = T0.plus_secs(10);
    let after = store.apply(ALICE, now, &changes).unwrap();
    let order: Vec<_> = store
        .lookup(ALICE, now)
        .unwrap()
        .into_iter()
        .map(|b| b.contact)
        .collect();
    assert_eq!(
        order,
        [
            "sip:a@new-high",
            "sip:a@old-high",
            "sip:a@tie-a",
            "sip:a@tie-b",
            "sip:a@low"
        ]
    );
    assert_eq!(
        after.into_iter().map(|b| b.contact).collect::<Vec<_>>(),
        order
    );
}

fn abort_writes_nothing(store: &dyn LocationService) {
    store
        .apply(
            ALICE,
            T0,
            &[Change::Upsert(binding("sip:alice@h1", T0, 60))],
        )
        .unwrap();
    let before = store.lookup(ALICE, T0).unwrap();
    let returned = store.update(ALICE, T0, &mut |_| Plan::Abort).unwrap();
    assert_eq!(returned, before);
    assert_eq!(store.lookup(ALICE, T0).unwrap(), before);
    // Aborting on a new AOR does not make it known.
    store.update(BOB, T0, &mut |_| Plan::Abort).unwrap();
    assert!(!store.is_known(BOB).unwrap());
}

fn decide_sees_only_live_bindings(store: &dyn LocationService) {
    store
        .apply(
            ALICE,
            T0,
            &[
                Change::Upsert(binding("sip:alice@short", T0, 10)),
                Change::Upsert(binding("sip:alice@long", T0, 100)),
            ],
        )
        .unwrap();
    let mut seen = Vec::new();
    store
        .update(ALICE, T0.plus_secs(50), &mut |cur| {
            seen = cur.iter().map(|b| b.contact.clone()).collect();
            Plan::Commit(vec![])
        })
        .unwrap();
    assert_eq!(seen, ["sip:alice@long"]);
}

fn update_returns_what_lookup_then_sees(store: &dyn LocationService) {
    store
        .apply(
            ALICE,
            T0,
            &[
                Change::Upsert(binding("sip:alice@h1", T0, 60)),
                Change::Upsert(binding("sip:alice@h2", T0, 600)),
            ],
        )
        .unwrap();
    let now = T0.plus_secs(61);
    let after = store
        .update(ALICE, now, &mut |cur| {
            assert_eq!(cur.len(), 1);
            Plan::Commit(vec![
                Change::Upsert(binding("sip:alice@h3", now, 60)),
                Change::Remove("sip:alice@h2".into()),
            ])
        })
        .unwrap();
    assert_eq!(after, store.lookup(ALICE, now).unwrap());
    assert_eq!(
        after.iter().map(|b| b.contact.as_str()).collect::<Vec<_>>(),
        ["sip:alice@h3"]
    );
}

/// RFC 3261 §10.3: "The binding updates MUST be committed ... if and only if
/// all binding updates and additions succeed." A change the SQLite store
/// cannot write (a timestamp beyond its range) after one it can: either all
/// are applied (the memory store has no such limit) or none.
fn a_register_is_all_or_nothing(store: &dyn LocationService) {
    store
        .apply(
            ALICE,
            T0,
            &[Change::Upsert(binding("sip:alice@old", T0, 60))],
        )
        .unwrap();
    let mut unwritable = binding("sip:alice@far", T0, 60);
    unwritable.expires_at = UnixMs(u64::MAX);
    let result = store.apply(
        ALICE,
        T0,
        &[
            Change::Remove("sip:alice@old".into()),
            Change::Upsert(binding("sip:alice@new", T0, 60)),
            Change::Upsert(unwritable),
        ],
    );
    let now: Vec<_> = store
        .lookup(ALICE, T0)
        .unwrap()
        .into_iter()
        .map(|b| b.contact)
        .collect();
    match result {
        Ok(after) => {
            assert_eq!(after.len(), 2);
            assert_eq!(now.len(), 2);
            assert!(!now.contains(&"sip:alice@old".to_owned()));
        }
        Err(_) => assert_eq!(now, ["sip:alice@old"], "a failed transaction left a trace"),
    }
}

fn an_upsert_already_expired_is_a_removal(store: &dyn LocationService) {
    store
        .apply(
            ALICE,
            T0,
            &[Change::Upsert(binding("sip:alice@h1", T0, 60))],
        )
        .unwrap();
    let now = T0.plus_secs(10);
    let mut dead = binding("sip:alice@h1", now, 0);
    dead.cseq = 2;
    assert_eq!(
        store.apply(ALICE, now, &[Change::Upsert(dead)]).unwrap(),
        vec![]
    );
    assert_eq!(store.lookup(ALICE, now).unwrap(), vec![]);
    assert_eq!(store.count(T0).unwrap(), Counts::default());
}

fn empty_commit_changes_nothing(store: &dyn LocationService) {
    let after = store.apply(ALICE, T0, &[]).unwrap();
    assert_eq!(after, vec![]);
    assert!(!store.is_known(ALICE).unwrap());
}

fn hundreds_of_aors(store: &dyn LocationService) {
    for i in 0..300u32 {
        let aor = format!("sip:user{i}@example.com");
        store
            .apply(
                &aor,
                T0,
                &[
                    Change::Upsert(binding(
                        &format!("sip:user{i}@10.0.0.1:{}", 5000 + i),
                        T0,
                        60 + i,
                    )),
                    Change::Upsert(binding(&format!("sip:user{i}@10.0.0.2"), T0, 3600)),
                ],
            )
            .unwrap();
    }
    assert_eq!(
        store.count(T0).unwrap(),
        Counts {
            bindings: 600,
            aors: 300
        }
    );
    assert_eq!(
        store.lookup("sip:user123@example.com", T0).unwrap().len(),
        2
    );
    assert_eq!(store.purge_expired(T0.plus_secs(159)).unwrap(), 100);
    assert_eq!(
        store.count(T0.plus_secs(159)).unwrap(),
        Counts {
            bindings: 500,
            aors: 300
        }
    );
}

// ---- what only the SQLite store promises --------------------------------

fn open(dir: &TempDir) -> SqliteStore {
    SqliteStore::open(dir.file("location.db")).unwrap()
}

#[test]
fn sqlite_bindings_survive_reopening() {
    let dir = TempDir::new("reopen");
    let b = binding("sip:alice@h1;transport=tcp", T0, 600);
    {
        let store = open(&dir);
        store
            .apply(ALICE, T0, &[Change::Upsert(b.clone())])
            .unwrap();
    }
    let store = open(&dir);
    assert_eq!(store.lookup(ALICE, T0).unwrap(), vec![b]);
    assert!(store.is_known(ALICE).unwrap());
}

#[test]
fn sqlite_runs_in_wal_with_synchronous_full() {
    let dir = TempDir::new("pragmas");
    let store = open(&dir);
    assert_eq!(store.pragma("journal_mode").unwrap(), "wal");
    // 2 = FULL: the WAL is fsynced at every commit.
    assert_eq!(store.pragma("synchronous").unwrap(), "2");
    assert_eq!(
        store.pragma("user_version").unwrap(),
        SqliteStore::SCHEMA_VERSION.to_string()
    );
}

#[test]
fn sqlite_batch_is_durable_only_when_it_ends() {
    let dir = TempDir::new("batch");
    let path = dir.path().join("b.db");
    let store = SqliteStore::open(&path).unwrap();
    let other = SqliteStore::open(&path).unwrap();
    store.begin_batch().unwrap();
    store
        .apply(ALICE, T0, &[Change::Upsert(binding("sip:a@one", T0, 600))])
        .unwrap();
    assert!(
        other.lookup(ALICE, T0).unwrap().is_empty(),
        "not committed yet"
    );
    store.end_batch().unwrap();
    assert_eq!(
        other.lookup(ALICE, T0).unwrap().len(),
        1,
        "committed by end_batch"
    );
    // A batch that never ends (the process died) leaves nothing behind.
    store.begin_batch().unwrap();
    store
        .apply(BOB, T0, &[Change::Upsert(binding("sip:b@one", T0, 600))])
        .unwrap();
    drop(store);
    let reopened = SqliteStore::open(&path).unwrap();
    assert!(reopened.lookup(BOB, T0).unwrap().is_empty());
    assert_eq!(reopened.lookup(ALICE, T0).unwrap().len(), 1);
}

#[test]
fn sqlite_db_sync_normal_is_synchronous_normal_in_wal() {
    let dir = TempDir::new("pragmas-normal");
    let store =
        SqliteStore::open_with(dir.path().join("n.db"), sipkit_server::DbSync::Normal).unwrap();
    assert_eq!(store.pragma("journal_mode").unwrap(), "wal");
    // 1 = NORMAL: commits reach the WAL file (kill -9 safe) without an fsync each.
    assert_eq!(store.pragma("synchronous").unwrap(), "1");
}

#[test]
fn sqlite_lookup_is_an_index_search_not_a_scan() {
    let dir = TempDir::new("plan");
    let store = open(&dir);
    let plan = store.explain_lookup().unwrap();
    assert!(
        plan.iter().any(|l| l.starts_with("SEARCH bindings USING")),
        "{plan:?}"
    );
    assert!(!plan.iter().any(|l| l.starts_with("SCAN")), "{plan:?}");
}

#[test]
fn sqlite_refuses_a_schema_from_the_future() {
    let dir = TempDir::new("future");
    let path = dir.file("location.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(err, sipkit_server::Error::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("schema version 99 is newer"),
        "{err}"
    );
}

/// A file of schema version 1 (before issue 14's fields) opens, is
/// migrated to the current version, keeps its bindings (read with no path,
/// User-Agent, node or connection) and then stores the new fields.
#[test]
fn sqlite_migrates_a_version_1_file_and_keeps_its_bindings() {
    let dir = TempDir::new("migrate-v1");
    let path = dir.file("location.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE aors (aor TEXT NOT NULL PRIMARY KEY, first_seen_ms INTEGER NOT NULL) WITHOUT ROWID;
         CREATE TABLE bindings (
             aor TEXT NOT NULL, contact_key TEXT NOT NULL, contact TEXT NOT NULL,
             q INTEGER NOT NULL CHECK (q BETWEEN 0 AND 1000), expires_ms INTEGER NOT NULL,
             updated_ms INTEGER NOT NULL, call_id TEXT NOT NULL, cseq INTEGER NOT NULL,
             transport TEXT NOT NULL, source TEXT NOT NULL, instance TEXT, reg_id TEXT,
             PRIMARY KEY (aor, contact_key)) WITHOUT ROWID;
         CREATE INDEX bindings_by_aor_expiry ON bindings (aor, expires_ms);
         CREATE INDEX bindings_by_expiry ON bindings (expires_ms);
         PRAGMA user_version = 1;",
    )
    .unwrap();
    let old = binding("sip:alice@h1", T0, 600);
    conn.execute(
        "INSERT INTO aors VALUES (?1, ?2)",
        rusqlite::params![ALICE, T0.0 as i64],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO bindings VALUES (?1, 'sip:alice@h1', ?2, 1000, ?3, ?4, ?5, 1, 'udp', ?6, NULL, NULL)",
        rusqlite::params![
            ALICE,
            old.contact,
            old.expires_at.0 as i64,
            old.updated_at.0 as i64,
            old.call_id,
            old.source.addr.to_string()
        ],
    )
    .unwrap();
    drop(conn);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(SqliteStore::SCHEMA_VERSION, 2);
    assert_eq!(store.pragma("user_version").unwrap(), "2");
    assert_eq!(store.lookup(ALICE, T0).unwrap(), vec![old]);
    let new = Binding {
        path: vec!["<sip:edge.example.com;lr>".into()],
        user_agent: Some("Phone/2".into()),
        node: Some("node-a".into()),
        connection: Some(ConnRef { worker: 1, id: 9 }),
        ..binding("sip:alice@h2", T0, 600)
    };
    store
        .apply(ALICE, T0, &[Change::Upsert(new.clone())])
        .unwrap();
    drop(store);
    // Reopening a current file migrates nothing and reads both.
    let store = SqliteStore::open(&path).unwrap();
    let got = store.lookup(ALICE, T0).unwrap();
    assert_eq!(got.len(), 2);
    assert!(got.contains(&new), "{got:?}");
}

#[test]
fn sqlite_reports_a_corrupt_row_instead_of_panicking() {
    let dir = TempDir::new("corrupt");
    let path = dir.file("location.db");
    let store = SqliteStore::open(&path).unwrap();
    store
        .apply(
            ALICE,
            T0,
            &[Change::Upsert(binding("sip:alice@h1", T0, 60))],
        )
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE bindings SET transport = 'carrier-pigeon'", [])
        .unwrap();
    let err = store.lookup(ALICE, T0).unwrap_err();
    assert!(
        matches!(
            err,
            sipkit_server::Error::Corrupt {
                what: "transport",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn sqlite_open_fails_cleanly_on_a_directory() {
    let dir = TempDir::new("dir");
    assert!(SqliteStore::open(dir.path()).is_err());
}

#[test]
fn open_store_picks_memory_or_sqlite() {
    let dir = TempDir::new("open-store");
    let mem = sipkit_server::open_store(":memory:").unwrap();
    assert!(format!("{mem:?}").starts_with("MemoryStore"));
    let path = dir.file("x.db");
    let file = sipkit_server::open_store(path.to_str().unwrap()).unwrap();
    assert!(format!("{file:?}").starts_with("SqliteStore"));
    assert!(path.exists());
}

// ---- several workers on one location service (issue 14 point 1) ---------

/// `threads` workers, each registering `per` AORs of its own through
/// `store_for(worker)` in batches of 4 (as a worker's turn does); then
/// every binding is there.
fn workers_register_concurrently(
    threads: u32,
    per: u32,
    store_for: impl Fn(u32) -> std::sync::Arc<dyn LocationService>,
) -> std::sync::Arc<dyn LocationService> {
    let handles: Vec<_> = (0..threads)
        .map(|w| {
            let store = store_for(w);
            std::thread::spawn(move || {
                for chunk in (0..per).collect::<Vec<_>>().chunks(4) {
                    store.begin_batch().unwrap();
                    for i in chunk {
                        let aor = format!("sip:w{w}u{i}@example.com");
                        let contact = format!("sip:w{w}u{i}@10.0.{w}.1");
                        store
                            .apply(&aor, T0, &[Change::Upsert(binding(&contact, T0, 600))])
                            .unwrap();
                    }
                    store.end_batch().unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a worker panicked");
    }
    store_for(0)
}

#[test]
fn memory_store_shared_by_four_workers_loses_nothing() {
    let shared: std::sync::Arc<dyn LocationService> =
        std::sync::Arc::new(sipkit_server::MemoryStore::new());
    let store = workers_register_concurrently(4, 250, |_| shared.clone());
    assert_eq!(
        store.count(T0).unwrap(),
        Counts {
            bindings: 1000,
            aors: 1000
        }
    );
    assert_eq!(store.lookup("sip:w3u249@example.com", T0).unwrap().len(), 1);
    assert_eq!(store.purge_expired(T0.plus_secs(600)).unwrap(), 1000);
}

/// Issue 14: workers sharing one writer ([`SqliteStore::share`]). The
/// first to end its batch commits every worker's writes made so far in one
/// transaction; the other's batch then ends at once, committed; each reads
/// its own uncommitted writes; a third connection sees nothing before the
/// commit.
#[test]
fn sqlite_shared_writer_group_commits_the_batches_of_every_worker() {
    let dir = TempDir::new("shared-writer");
    let path = dir.file("location.db");
    let a = SqliteStore::open(&path).unwrap();
    let b = a.share().unwrap();
    let outsider = SqliteStore::open(&path).unwrap();
    a.begin_batch().unwrap();
    b.begin_batch().unwrap();
    a.apply(ALICE, T0, &[Change::Upsert(binding("sip:a@one", T0, 600))])
        .unwrap();
    b.apply(BOB, T0, &[Change::Upsert(binding("sip:b@one", T0, 600))])
        .unwrap();
    assert_eq!(b.lookup(BOB, T0).unwrap().len(), 1, "b sees its own write");
    assert!(
        outsider.lookup(BOB, T0).unwrap().is_empty(),
        "not committed yet"
    );
    a.end_batch().unwrap();
    // a's commit carried b's write.
    assert_eq!(outsider.lookup(BOB, T0).unwrap().len(), 1);
    assert_eq!(outsider.lookup(ALICE, T0).unwrap().len(), 1);
    b.end_batch().unwrap();
    assert_eq!(a.lookup(BOB, T0).unwrap().len(), 1, "a's reader sees it");
    // b writes again after a's commit: its batch ends with its own commit.
    b.begin_batch().unwrap();
    b.apply(BOB, T0, &[Change::Upsert(binding("sip:b@two", T0, 600))])
        .unwrap();
    assert_eq!(outsider.lookup(BOB, T0).unwrap().len(), 1);
    b.end_batch().unwrap();
    assert_eq!(outsider.lookup(BOB, T0).unwrap().len(), 2);
    // Outside a batch an update is committed before it returns.
    a.apply(ALICE, T0, &[Change::Remove("sip:a@one".into())])
        .unwrap();
    assert!(outsider.lookup(ALICE, T0).unwrap().is_empty());
}

/// A failed group commit fails the batch of every worker whose writes it
/// held (none of their 200s may go), and nothing of it is stored; the
/// writer then works again.
#[test]
fn sqlite_shared_writer_failed_commit_fails_every_batch_in_it() {
    let dir = TempDir::new("shared-writer-fail");
    let path = dir.file("location.db");
    let a = SqliteStore::open(&path).unwrap();
    let b = a.share().unwrap();
    let idle = a.share().unwrap();
    a.begin_batch().unwrap();
    b.begin_batch().unwrap();
    idle.begin_batch().unwrap();
    a.apply(ALICE, T0, &[Change::Upsert(binding("sip:a@one", T0, 600))])
        .unwrap();
    b.apply(BOB, T0, &[Change::Upsert(binding("sip:b@one", T0, 600))])
        .unwrap();
    a.fail_next_commit();
    let err = b.end_batch().unwrap_err();
    assert!(
        matches!(err, sipkit_server::Error::CommitFailed { .. }),
        "{err}"
    );
    assert!(matches!(
        a.end_batch(),
        Err(sipkit_server::Error::CommitFailed { .. })
    ));
    idle.end_batch().unwrap();
    let fresh = SqliteStore::open(&path).unwrap();
    assert_eq!(fresh.count(T0).unwrap(), Counts::default());
    assert!(a.lookup(ALICE, T0).unwrap().is_empty());
    a.begin_batch().unwrap();
    a.apply(ALICE, T0, &[Change::Upsert(binding("sip:a@two", T0, 600))])
        .unwrap();
    a.end_batch().unwrap();
    assert_eq!(fresh.lookup(ALICE, T0).unwrap().len(), 1);
}

/// Four workers sharing one writer, group-committing concurrently: no
/// commit is lost.
#[test]
fn sqlite_workers_sharing_one_writer_lose_nothing() {
    let dir = TempDir::new("shared-writer-four");
    let path = dir.file("location.db");
    let first = SqliteStore::open_with(&path, sipkit_server::DbSync::Normal).unwrap();
    let handles: Vec<std::sync::Arc<dyn LocationService>> = (0..4)
        .map(|_| std::sync::Arc::new(first.share().unwrap()) as _)
        .collect();
    let store = workers_register_concurrently(4, 100, |w| handles[w as usize].clone());
    assert_eq!(
        store.count(T0).unwrap(),
        Counts {
            bindings: 400,
            aors: 400
        }
    );
    let fresh = SqliteStore::open(&path).unwrap();
    assert_eq!(fresh.count(T0).unwrap().bindings, 400);
}

/// Two workers, each with its own connection to one SQLite file, each
/// group-committing its own turns: the writers take turns on the file lock
/// (no busy error within the 5 s timeout) and no commit is lost.
#[test]
fn sqlite_file_written_by_two_workers_loses_nothing() {
    let dir = TempDir::new("two-writers");
    let path = dir.file("location.db");
    let store = workers_register_concurrently(2, 100, |_| {
        std::sync::Arc::new(SqliteStore::open_with(&path, sipkit_server::DbSync::Normal).unwrap())
    });
    assert_eq!(
        store.count(T0).unwrap(),
        Counts {
            bindings: 200,
            aors: 200
        }
    );
    assert_eq!(store.lookup("sip:w1u99@example.com", T0).unwrap().len(), 1);
}
