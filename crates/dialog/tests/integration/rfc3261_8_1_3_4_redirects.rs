//! RFC 3261 §8.1.3.4 and §21.3: following 3xx as a UAC — q order, equal q
//! in the order given, loops, the redirect limit, 301 vs 302 for future
//! requests, 300's list, 305 and 380 not followed.

use sipkit_dialog::{Choice, Next, RedirectFollower, RedirectPolicy, Stop};

fn c(uri: &str, q: Option<u16>) -> Choice {
    Choice { uri: uri.into(), q }
}

fn follower(max: usize) -> RedirectFollower {
    RedirectFollower::new("sip:bob@example.com", RedirectPolicy { max_redirects: max })
}

fn try_(uri: &str) -> Next {
    Next::Try(uri.into())
}

#[test]
fn contacts_in_decreasing_q_and_equal_q_in_given_order() {
    let mut f = follower(5);
    let next = f.on_final(
        302,
        vec![
            c("sip:a@192.0.2.1", Some(500)),
            c("sip:b@192.0.2.2", Some(1000)),
            c("sip:c@192.0.2.3", None),
            c("sip:d@192.0.2.4", Some(1000)),
        ],
    );
    // q absent counts as 1.0; b, c, d share q = 1.0 and keep their order.
    assert_eq!(next, try_("sip:b@192.0.2.2"));
    assert_eq!(
        f.redirects()[0].queued,
        [
            "sip:b@192.0.2.2",
            "sip:c@192.0.2.3",
            "sip:d@192.0.2.4",
            "sip:a@192.0.2.1"
        ]
    );
    // Each failure moves on to the next target (408 stands for a timeout).
    assert_eq!(f.on_final(486, vec![]), try_("sip:c@192.0.2.3"));
    assert_eq!(f.on_final(408, vec![]), try_("sip:d@192.0.2.4"));
    assert_eq!(f.on_final(404, vec![]), try_("sip:a@192.0.2.1"));
    assert_eq!(f.on_final(480, vec![]), Next::Stop(Stop::Failed));
    assert_eq!(f.stopped(), Some(Stop::Failed));
    let statuses: Vec<Option<u16>> = f.attempts().iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [Some(302), Some(486), Some(408), Some(404), Some(480)]
    );
    // Nothing more after a stop.
    assert_eq!(f.on_final(200, vec![]), Next::Stop(Stop::Failed));
}

#[test]
fn q_with_three_decimals_and_zero() {
    let mut f = follower(5);
    let next = f.on_final(
        300,
        vec![
            c("sip:z@192.0.2.9", Some(0)),
            c("sip:x@192.0.2.7", Some(1)),
            c("sip:y@192.0.2.8", Some(999)),
        ],
    );
    assert_eq!(next, try_("sip:y@192.0.2.8"));
    assert_eq!(
        f.redirects()[0].queued,
        ["sip:y@192.0.2.8", "sip:x@192.0.2.7", "sip:z@192.0.2.9"]
    );
}

#[test]
fn s21_3_3_302_keeps_the_original_uri_for_future_requests() {
    let mut f = follower(5);
    assert_eq!(
        f.on_final(302, vec![c("sip:bob@192.0.2.4:5080", None)]),
        try_("sip:bob@192.0.2.4:5080")
    );
    assert_eq!(f.on_final(200, vec![]), Next::Stop(Stop::Answered));
    assert_eq!(f.current(), "sip:bob@192.0.2.4:5080");
    assert_eq!(f.future_uri(), "sip:bob@example.com");
    assert_eq!(f.permanent_address(), None);
}

#[test]
fn s21_3_2_301_names_the_new_permanent_address() {
    let mut f = follower(5);
    assert_eq!(
        f.on_final(301, vec![c("sip:robert@biloxi.example.org", None)]),
        try_("sip:robert@biloxi.example.org")
    );
    assert_eq!(f.on_final(200, vec![]), Next::Stop(Stop::Answered));
    assert_eq!(f.future_uri(), "sip:robert@biloxi.example.org");
    assert_eq!(f.permanent_address(), Some("sip:robert@biloxi.example.org"));
}

#[test]
fn a_301_then_a_302_gives_the_301_address() {
    let mut f = follower(5);
    f.on_final(301, vec![c("sip:new@example.org", None)]);
    f.on_final(302, vec![c("sip:new@192.0.2.50", None)]);
    assert_eq!(f.on_final(200, vec![]), Next::Stop(Stop::Answered));
    assert_eq!(f.future_uri(), "sip:new@example.org");
    // And a 302 then a 301: the 301 moved the temporary address, not the original.
    let mut f = follower(5);
    f.on_final(302, vec![c("sip:tmp@example.org", None)]);
    f.on_final(301, vec![c("sip:tmp2@example.org", None)]);
    f.on_final(200, vec![]);
    assert_eq!(f.future_uri(), "sip:bob@example.com");
}

#[test]
fn a_301_learnt_is_kept_when_the_call_then_fails() {
    let mut f = follower(5);
    f.on_final(301, vec![c("sip:new@example.org", None)]);
    assert_eq!(f.on_final(486, vec![]), Next::Stop(Stop::Failed));
    assert_eq!(f.permanent_address(), Some("sip:new@example.org"));
}

#[test]
fn s8_1_3_4_a_redirect_loop_stops() {
    // A at example.com redirects to B, which redirects back to A.
    let mut f = follower(5);
    assert_eq!(
        f.on_final(302, vec![c("sip:b@192.0.2.2", None)]),
        try_("sip:b@192.0.2.2")
    );
    assert_eq!(
        f.on_final(302, vec![c("sip:bob@EXAMPLE.COM", None)]),
        Next::Stop(Stop::Loop),
        "hosts compare case-insensitively"
    );
    assert!(f.loop_seen());
    assert_eq!(f.redirects()[1].looped, ["sip:bob@EXAMPLE.COM"]);
    assert_eq!(f.attempts().len(), 2, "the original is not retried");
}

#[test]
fn a_redirect_to_itself_is_a_loop() {
    let mut f = follower(5);
    assert_eq!(
        f.on_final(302, vec![c("sip:bob@example.com", None)]),
        Next::Stop(Stop::Loop)
    );
}

#[test]
fn looped_contacts_are_skipped_and_fresh_ones_tried() {
    let mut f = follower(5);
    f.on_final(302, vec![c("sip:b@192.0.2.2", None)]);
    assert_eq!(
        f.on_final(
            302,
            vec![
                c("sip:bob@example.com", None),
                c("sip:c@192.0.2.3", Some(100))
            ]
        ),
        try_("sip:c@192.0.2.3")
    );
    assert_eq!(f.redirects()[1].looped, ["sip:bob@example.com"]);
    assert!(!f.loop_seen());
}

#[test]
fn max_redirects_stops() {
    let mut f = follower(2);
    assert_eq!(
        f.on_final(302, vec![c("sip:a@192.0.2.1", None)]),
        try_("sip:a@192.0.2.1")
    );
    assert_eq!(
        f.on_final(302, vec![c("sip:b@192.0.2.2", None)]),
        try_("sip:b@192.0.2.2")
    );
    assert_eq!(
        f.on_final(302, vec![c("sip:c@192.0.2.3", None)]),
        Next::Stop(Stop::MaxRedirects)
    );
    assert!(!f.redirects()[2].followed);
    // Zero means: report the first 3xx, follow none.
    let mut f = follower(0);
    assert_eq!(
        f.on_final(302, vec![c("sip:a@192.0.2.1", None)]),
        Next::Stop(Stop::MaxRedirects)
    );
}

#[test]
fn s21_3_1_300_lists_the_choices() {
    let mut f = follower(5);
    let choices = vec![
        c("sip:bob@office.example.com", Some(700)),
        c("sip:bob@mobile.example.com", Some(900)),
    ];
    assert_eq!(
        f.on_final(300, choices.clone()),
        try_("sip:bob@mobile.example.com")
    );
    assert_eq!(f.redirects()[0].status, 300);
    assert_eq!(
        f.redirects()[0].contacts,
        choices,
        "every choice is reported as given"
    );
}

#[test]
fn s21_3_5_and_21_3_6_305_and_380_are_not_followed() {
    for status in [305, 380] {
        let mut f = follower(5);
        assert_eq!(
            f.on_final(status, vec![c("sip:proxy@192.0.2.9", None)]),
            Next::Stop(Stop::NotFollowed)
        );
        assert!(!f.redirects()[0].followed);
        assert!(f.redirects()[0].queued.is_empty());
        assert_eq!(f.attempts().len(), 1);
    }
    // With other targets queued, they are tried instead.
    let mut f = follower(5);
    f.on_final(
        302,
        vec![c("sip:a@192.0.2.1", None), c("sip:b@192.0.2.2", None)],
    );
    assert_eq!(
        f.on_final(305, vec![c("sip:proxy@192.0.2.9", None)]),
        try_("sip:b@192.0.2.2")
    );
}

#[test]
fn s21_6_6xx_is_global_and_stops() {
    let mut f = follower(5);
    f.on_final(
        302,
        vec![c("sip:a@192.0.2.1", None), c("sip:b@192.0.2.2", None)],
    );
    assert_eq!(f.on_final(603, vec![]), Next::Stop(Stop::GlobalFailure));
}

#[test]
fn a_3xx_without_contact_stops() {
    let mut f = follower(5);
    assert_eq!(f.on_final(302, vec![]), Next::Stop(Stop::NoContact));
}

#[test]
fn the_chain_of_the_answered_attempt() {
    let mut f = follower(5);
    f.on_final(
        302,
        vec![c("sip:a@192.0.2.1", None), c("sip:b@192.0.2.2", None)],
    );
    f.on_final(302, vec![c("sip:a2@192.0.2.11", None)]);
    // The newest targets go first: a2 before the older sibling b.
    assert_eq!(f.current(), "sip:a2@192.0.2.11");
    assert_eq!(f.on_final(404, vec![]), try_("sip:b@192.0.2.2"));
    f.on_final(200, vec![]);
    let chain: Vec<&str> = f.chain().iter().map(|a| a.uri.as_str()).collect();
    assert_eq!(chain, ["sip:bob@example.com", "sip:b@192.0.2.2"]);
}
