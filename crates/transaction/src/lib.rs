//! The SIP transaction layer of sipkit (RFC 3261 §17, with RFC 6026's
//! Accepted state): the four state machines, their timers, retransmission
//! and its absorption, the ACK for non-2xx responses, and the matching of
//! messages to transactions (§17.1.3, §17.2.3, with the RFC 2543 fallback).
//!
//! What it does not do: no sockets, no clock, no randomness (ARCHITECTURE.md,
//! "The sans-IO contract"). Time comes in as `now: Instant` with every input;
//! branch ids come from the caller or from a generator seeded by
//! [`Config::seed`]. Dialogs, 2xx retransmission by the UAS core and the ACK
//! for a 2xx (§13) belong to the layer above; DNS (RFC 3263) and connection
//! handling to the driver.
//!
//! # The driver loop
//!
//! One [`Transactions`] per endpoint. The driver — the only code that owns
//! sockets and sleeps — repeats:
//!
//! 1. feed one input, with the current time: a received message
//!    ([`Transactions::handle_datagram`]), a request or response from the TU
//!    ([`Transactions::send_request`], [`Transactions::send_response`]), a
//!    failed send ([`Transactions::handle_transport_error`]), or an expired
//!    deadline ([`Transactions::handle_timeout`]);
//! 2. drain every output: [`Transactions::poll_transmit`] (send each
//!    [`Transmit`]; on failure report it), [`Transactions::poll_event`]
//!    (hand each [`Event`] to the TU, which may feed new inputs);
//! 3. wait for the earliest of [`Transactions::poll_timeout`], a socket, or a
//!    command from the TU.
//!
//! In a tokio driver that is a `select!` over the socket, the TU's channel
//! and `sleep_until(poll_timeout)`. Here the same loop runs two endpoints
//! over a perfect in-memory network, with a clock that jumps straight to
//! the next deadline:
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//! use sipkit_transaction::{Config, Event, Transactions, Transport};
//!
//! let alice: SocketAddr = "192.0.2.1:5060".parse()?;
//! let bob: SocketAddr = "192.0.2.2:5060".parse()?;
//! let mut client = Transactions::new(Config::default());
//! let mut server = Transactions::new(Config { seed: 2, ..Config::default() });
//! let start = Instant::now(); // the driver's clock; the layer never reads it
//! let mut now = start;
//!
//! // The TU sends an OPTIONS: input.
//! let branch = client.new_branch();
//! let options = format!(
//!     "OPTIONS sip:bob@192.0.2.2 SIP/2.0\r\n\
//!      Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch}\r\n\
//!      Max-Forwards: 70\r\nTo: <sip:bob@192.0.2.2>\r\n\
//!      From: <sip:alice@192.0.2.1>;tag=a1\r\nCall-ID: c1@192.0.2.1\r\n\
//!      CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
//! );
//! client.send_request(now, options.as_bytes(), bob, Transport::Udp)?;
//!
//! let mut final_status = None;
//! loop {
//!     // Drain every output of both sides; the network delivers at once.
//!     loop {
//!         let mut idle = true;
//!         while let Some(t) = client.poll_transmit() {
//!             server.handle_datagram(now, &t.bytes, alice, bob, t.transport);
//!             idle = false;
//!         }
//!         while let Some(t) = server.poll_transmit() {
//!             client.handle_datagram(now, &t.bytes, bob, alice, t.transport);
//!             idle = false;
//!         }
//!         while let Some(event) = server.poll_event() {
//!             idle = false;
//!             if let Event::Request { key, request, .. } = event {
//!                 // The server's TU answers 200 OK.
//!                 let Ok(sipkit_message::Message::Request(req)) = sipkit_message::parse(&request) else {
//!                     unreachable!("the transaction layer passes only parsed requests")
//!                 };
//!                 let ok = sipkit_message::response_from_request(&req, 200, "OK").to_tag("b1").build();
//!                 server.send_response(now, &key, &ok)?;
//!             }
//!         }
//!         while let Some(event) = client.poll_event() {
//!             idle = false;
//!             if let Event::Response { status, .. } = event {
//!                 final_status = Some(status);
//!             }
//!         }
//!         if idle {
//!             break;
//!         }
//!     }
//!     // Wait for the earliest deadline (a real driver also waits on sockets).
//!     let Some(deadline) = [client.poll_timeout(), server.poll_timeout()].into_iter().flatten().min() else {
//!         break;
//!     };
//!     now = deadline;
//!     client.handle_timeout(now);
//!     server.handle_timeout(now);
//! }
//! assert_eq!(final_status, Some(200));
//! // Timer K (T4 = 5 s) ended the client, Timer J (64·T1 = 32 s) the server.
//! assert!(client.is_empty() && server.is_empty());
//! assert_eq!(now - start, Duration::from_secs(32));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod adapter;
mod bytes;
mod error;
mod fsm;
mod key;
mod manager;
mod rng;
mod timer;
mod transport;

pub use adapter::ParseError;
pub use bytes::SharedBytes;
pub use error::Error;
pub use fsm::State;
pub use key::{Role, TransactionKey};
pub use manager::{Arrival, Event, Transactions, Transmit};
pub use timer::{Config, ReliableTransports, Timer};
pub use transport::{ConnId, Transport};
