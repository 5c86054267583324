//! The dialog layer of sipkit: SIP dialogs (RFC 3261 §12) and what user
//! agents do above the transaction layer — the 2xx retransmission and its
//! ACK (§13.2.2.4, §13.3.1.4), REFER with its implicit subscription and the
//! `message/sipfrag` NOTIFYs (RFC 3515, RFC 6665, RFC 3420), Referred-By
//! (RFC 3892), `Refer-Sub: false` (RFC 4488), and the redirect-following
//! policy of a UAC (§8.1.3.4, §21.3).
//!
//! What it does not do: no sockets, no clock, no randomness
//! (ARCHITECTURE.md, "The sans-IO contract"). Every input that depends on
//! time takes `now: Instant`; every state machine tells its next deadline
//! with `poll_timeout()` and is driven by `handle_timeout(now)`. Tags,
//! Call-IDs and branches are inputs (the transaction layer's seeded
//! generator makes them). The driver — `sipkit-ua` — owns the sockets and
//! the clock and runs the loop of the transaction layer's crate docs: feed
//! one input, drain the outputs, wait for the earliest deadline.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sipkit_dialog::{Dialog, DialogState, Outcome, ReferNotifier, ReferSubscriber, NotifierConfig};
//! use sipkit_message::{parse, Message};
//!
//! // Alice's INVITE and Bob's 200 create a dialog on each side (§12.1).
//! let invite = b"INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
//! Max-Forwards: 70\r\nFrom: <sip:alice@192.0.2.1>;tag=a1\r\nTo: <sip:bob@192.0.2.2>\r\n\
//! Call-ID: c1\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.1>\r\nContent-Length: 0\r\n\r\n";
//! let Ok(Message::Request(inv)) = parse(invite) else { unreachable!() };
//! let mut bob = Dialog::uas(&inv, "b1", "sip:bob@192.0.2.2")?;
//! let ok = bob.response(&inv, 200, "OK").build();
//! bob.set_confirmed();
//! let Ok(Message::Response(ok)) = parse(&ok) else { unreachable!() };
//! let mut alice = Dialog::uac(&inv, &ok)?;
//! assert_eq!(alice.state(), DialogState::Confirmed);
//! assert_eq!(alice.remote_target(), "sip:bob@192.0.2.2");
//!
//! // Alice refers Bob to Carol; Bob accepts and reports the new call.
//! # #[allow(clippy::disallowed_methods)]
//! let t0 = Instant::now(); // the driver's clock; the layer never reads it
//! let (refer, seq) = alice.request("REFER", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK2")?;
//! let refer = refer.header(sipkit_message::HeaderName::ReferTo, "<sip:carol@192.0.2.3>").build();
//! let mut sub = ReferSubscriber::new(t0, seq, Duration::from_secs(32), false);
//! let Ok(Message::Request(refer)) = parse(&refer) else { unreachable!() };
//! bob.on_request(&refer)?;
//! let (mut notifier, accepted) = ReferNotifier::accept(t0, &refer, NotifierConfig::default()).unwrap();
//! let resp = bob.response(&refer, accepted.status, accepted.reason).build();
//! let Ok(Message::Response(resp)) = parse(&resp) else { unreachable!() };
//! sub.on_refer_response(t0, &resp);
//! let content = notifier.notify(t0 + Duration::from_secs(1), 200, "OK").unwrap();
//! let (notify, _) = bob.request("NOTIFY", "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK3")?;
//! let notify = notify
//!     .header(sipkit_message::HeaderName::Event, &content.event)
//!     .header(sipkit_message::HeaderName::SubscriptionState, &content.subscription_state)
//!     .body(content.content_type, content.body)
//!     .build();
//! let Ok(Message::Request(notify)) = parse(&notify) else { unreachable!() };
//! assert_eq!(sub.on_notify(t0 + Duration::from_secs(1), &notify).status, 200);
//! assert_eq!(sub.outcome(), Some(Outcome::Transferred));
//! # Ok::<(), sipkit_dialog::Error>(())
//! ```

mod dialog;
mod error;
mod invite;
mod redirect;
mod refer;

pub use dialog::{
    is_target_refresh, Dialog, DialogId, DialogState, ResponseEffect, Role, RouteEntry,
    TARGET_REFRESH,
};
pub use error::Error;
pub use invite::{AckFor2xx, CallSetup, Timers, TwoXxAction, TwoXxRetransmit};
pub use redirect::{Attempt, Choice, Next, Redirect, RedirectFollower, RedirectPolicy, Stop};
pub use refer::{
    is_refer_sub_false, lenient_status, sipfrag_body, AcceptStatus, Diagnosis, Notification,
    NotifierConfig, NotifyAnswer, NotifyContent, Outcome, ReferAccepted, ReferNotifier,
    ReferRefusal, ReferSubscriber, SubscriberState, SIPFRAG,
};
