//! SIP messages for sipkit: parse bytes into a request or response that
//! borrows the buffer, check it as RFC 3261 asks of a receiver, read its
//! headers through typed accessors, serialize it back, build new messages,
//! and frame messages out of a TCP byte stream.
//!
//! What it does not do: no sockets, no clocks, no files — transports feed it
//! bytes (see `ARCHITECTURE.md`). Application checks that need policy
//! (416 for an unknown URI scheme, 420 for Require, 415, 406, 483) are not
//! parse errors: the parser accepts those messages (RFC 4475 §3.3) and offers
//! what the application needs to decide.
//!
//! Parsing a typical message does not allocate: headers live in an inline
//! array of slots ([`INLINE_HEADERS`]) and every value borrows the input.
//!
//! Two levels of parsing share one splitter:
//!
//! * [`parse`] is what a receiver runs (RFC 3261 §8.2, §18.3, RFC 4475): the
//!   headers the stack relies on (Via, From, To, Call-ID, CSeq, Max-Forwards,
//!   Content-Length, Contact, Route, Record-Route, Expires, Content-Type,
//!   Date) are checked, every value, with mandatory headers, single headers
//!   and the CSeq method; the result's From, To, Call-ID and CSeq are plain
//!   values.
//! * [`parse_raw`] only splits: start line, header lines, body framing
//!   (Content-Length), UTF-8, limits. Header values are checked when read,
//!   so its accessors return `Result`. It suits a capture indexer or anything
//!   that reads a few headers of many messages; [`RawMessage::validate`]
//!   turns it into exactly what [`parse`] would have returned.
//!
//! Other typed values are parsed from the raw header text when read, at both
//! levels, so an unknown or unused header costs nothing.
//!
//! Over a TCP stream, [`StreamDecoder`] frames messages as bytes arrive and
//! [`Frames`] frames a stream held whole in memory, saying where each frame
//! starts. [`describe`] gives one description of a parsed message — each
//! header's typed values for people and for programs, errors positioned —
//! for tools that show messages.
//!
//! ```
//! use sipkit_message::{parse, wire_reply, Disposition, ErrorKind, Message, Method};
//!
//! let buf = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
//! Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport\r\n\
//! v: SIP/2.0/TCP proxy.example.com;branch=z9hG4bK77ef4c\r\n\
//! Max-Forwards: 70\r\n\
//! To: Bob <sip:bob@biloxi.example.com>\r\n\
//! f: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
//! Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
//! CSeq: 314159 INVITE\r\n\
//! Contact: <sip:alice@pc33.atlanta.example.com>;expires=3600\r\n\
//! Content-Length: 0\r\n\r\n";
//! let msg = parse(buf)?;
//! let Message::Request(req) = &msg else { unreachable!() };
//! assert_eq!(req.method(), Method::Invite);
//! assert_eq!(req.uri().user, Some("bob"));
//! assert_eq!(msg.from().tag(), Some("1928301774"));
//! let vias: Vec<_> = msg.vias().collect::<Result<_, _>>()?;
//! assert_eq!(vias[1].transport, "TCP");
//! assert_eq!(vias[0].rport(), Some(None));
//! let contact = msg.contacts().next().unwrap()?;
//! assert_eq!(contact.expires(), Some(3600));
//!
//! // A broken message gives a positioned error and the reply to send.
//! let err = parse(b"OPTIONS sip:a@b SIP/7.0\r\n\r\n").unwrap_err();
//! assert!(matches!(err.kind, ErrorKind::UnsupportedVersion { major: 7, minor: 0 }));
//! assert_eq!((err.line, err.column), (1, 17));
//! let Disposition::Reply(reply) = wire_reply(&err) else { unreachable!() };
//! assert_eq!(reply.status, 505);
//! # Ok::<(), sipkit_message::ParseError>(())
//! ```

mod builder;
mod describe;
mod error;
mod frames;
mod head;
mod headers;
mod limits;
mod message;
mod name;
mod params;
mod parser;
mod raw;
mod routing;
mod scan;
mod sipfrag;
mod split;
mod stream;
mod transport;
pub mod typed;
mod typed_value;
mod uri;
mod validate;

pub use builder::{response_from_request, RequestBuilder, ResponseBuilder};
pub use describe::{
    describe, describe_uri, describe_value, BodyDescription, Description, ErrorDescription,
    FragmentDescription, HeaderDescription, Node, StartDescription, ValueDescription,
};
pub use error::{
    wire_reply, Disposition, ErrorKind, Limit, ParseError, Position, StartKind, WireReply,
};
pub use frames::{Frame, FrameKind, Frames};
pub use head::{Head, Values};
pub use headers::{Header, Headers, INLINE_HEADERS};
pub use limits::{Limits, Mode};
pub use message::{Message, Method, Parts, Request, Response};
pub use name::HeaderName;
pub use params::{unquote, Param, ParamIter, Params};
pub use parser::{parse, parse_raw, parse_raw_with, parse_with};
pub use raw::RawMessage;
pub use routing::{is_forbidden_destination, response_destination, stamp_received, ViaRoute};
pub use scan::{is_token, unescape, Unescaped};
pub use sipfrag::{parse_fragment, Fragment};
pub use split::StartLine;
pub use stream::{Event, StreamDecoder};
pub use transport::{Transport, UnknownTransport};
pub use typed::{
    qvalue, Auth, CSeq, Contact, Event as EventHeader, MediaType, NameAddr, RetryAfter,
    SubscriptionState, Via, Warning,
};
pub use typed_value::TypedValue;
pub use uri::{uri_eq, Host, Scheme, Uri};
