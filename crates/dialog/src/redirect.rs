//! Following redirects as a UAC (RFC 3261 §8.1.3.4, §21.3).
//!
//! On a 3xx the UAC retries at the Contacts — each as a new client
//! transaction with the Contact as Request-URI, the same Call-ID, From tag
//! and To, and a higher CSeq ([`crate::CallSetup`] builds those requests).
//! This module is the policy: which target to try next (the Contacts in
//! decreasing `q`, equal `q` in the order given), when to stop (a loop, too
//! many redirects, 6xx, nothing left), which 3xx are not followed (305 Use
//! Proxy, 380 Alternative Service), and which URI later requests should use:
//! a 302 is temporary and keeps the original URI (§21.3.3), a 301 is
//! permanent and names the new address (§21.3.2).

use sipkit_message::{uri_eq, Uri};

/// Limits of the redirect follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedirectPolicy {
    /// How many 3xx responses may be followed in one call.
    pub max_redirects: usize,
}

impl Default for RedirectPolicy {
    fn default() -> Self {
        RedirectPolicy { max_redirects: 5 }
    }
}

/// One Contact of a 3xx, as offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The Contact URI.
    pub uri: String,
    /// Its `q` in thousandths (`None` when absent; counted as 1.0).
    pub q: Option<u16>,
}

/// A 3xx response received, and what was done with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The status.
    pub status: u16,
    /// The Request-URI of the request it answered.
    pub from_uri: String,
    /// Its Contacts in the order given.
    pub contacts: Vec<Choice>,
    /// The Contacts added to the targets, in the order they will be tried.
    pub queued: Vec<String>,
    /// Contacts skipped because they were tried or queued already (a loop).
    pub looped: Vec<String>,
    /// False for 305 and 380, which are reported and not followed, and
    /// for a redirect beyond the limit.
    pub followed: bool,
}

/// Why the follower stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// A 2xx.
    Answered,
    /// A final failure and nothing left to try.
    Failed,
    /// A 6xx: a global failure, no other target is tried (RFC 3261 §21.6).
    GlobalFailure,
    /// Every Contact of the last redirect was tried already: a redirect loop.
    Loop,
    /// More redirects than [`RedirectPolicy::max_redirects`].
    MaxRedirects,
    /// A 305 or 380 with nothing left to try: reported, not followed.
    NotFollowed,
    /// A 3xx without any usable Contact.
    NoContact,
}

impl Stop {
    /// `answered`, `failed`, `global_failure`, `loop`, `max_redirects`, `not_followed`, `no_contact`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::Answered => "answered",
            Stop::Failed => "failed",
            Stop::GlobalFailure => "global_failure",
            Stop::Loop => "loop",
            Stop::MaxRedirects => "max_redirects",
            Stop::NotFollowed => "not_followed",
            Stop::NoContact => "no_contact",
        }
    }
}

/// What to do after a final response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Send a new INVITE to this URI.
    Try(String),
    /// Stop.
    Stop(Stop),
}

/// One request sent: its Request-URI, the redirect it came from, and its final status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The Request-URI.
    pub uri: String,
    /// Index of the attempt whose 3xx offered this target (`None` for the original).
    pub parent: Option<usize>,
    /// The status of that 3xx.
    pub via_status: Option<u16>,
    /// The final status (408 for a timeout), once known.
    pub status: Option<u16>,
}

#[derive(Debug, Clone)]
struct Queued {
    uri: String,
    parent: usize,
    via_status: u16,
}

/// The redirect follower of one call.
///
/// ```
/// use sipkit_dialog::{Choice, Next, RedirectFollower, RedirectPolicy, Stop};
/// let mut f = RedirectFollower::new("sip:bob@example.com", RedirectPolicy::default());
/// assert_eq!(f.current(), "sip:bob@example.com");
/// let next = f.on_final(302, vec![Choice { uri: "sip:bob@192.0.2.4".into(), q: None }]);
/// assert_eq!(next, Next::Try("sip:bob@192.0.2.4".into()));
/// assert_eq!(f.on_final(200, vec![]), Next::Stop(Stop::Answered));
/// // 302 is temporary: later calls still go to the original URI.
/// assert_eq!(f.future_uri(), "sip:bob@example.com");
/// ```
#[derive(Debug, Clone)]
pub struct RedirectFollower {
    policy: RedirectPolicy,
    attempts: Vec<Attempt>,
    queue: Vec<Queued>,
    redirects: Vec<Redirect>,
    followed: usize,
    stop: Option<Stop>,
    loop_seen: bool,
}

fn same_uri(a: &str, b: &str) -> bool {
    match (Uri::parse(a), Uri::parse(b)) {
        (Ok(x), Ok(y)) => uri_eq(&x, &y),
        _ => a.eq_ignore_ascii_case(b),
    }
}

impl RedirectFollower {
    /// Starts with the original Request-URI as the first attempt.
    pub fn new(original: &str, policy: RedirectPolicy) -> RedirectFollower {
        RedirectFollower {
            policy,
            attempts: vec![Attempt {
                uri: original.to_owned(),
                parent: None,
                via_status: None,
                status: None,
            }],
            queue: Vec::new(),
            redirects: Vec::new(),
            followed: 0,
            stop: None,
            loop_seen: false,
        }
    }

    /// The original URI.
    pub fn original(&self) -> &str {
        &self.attempts[0].uri
    }

    /// The Request-URI of the attempt in progress (or the last one).
    pub fn current(&self) -> &str {
        &self.attempts[self.attempts.len() - 1].uri
    }

    /// Every attempt so far.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// Every 3xx received.
    pub fn redirects(&self) -> &[Redirect] {
        &self.redirects
    }

    /// Why it stopped, once it has.
    pub fn stopped(&self) -> Option<Stop> {
        self.stop
    }

    /// True if some redirect offered only targets already tried.
    pub fn loop_seen(&self) -> bool {
        self.loop_seen
    }

    fn seen(&self, uri: &str) -> bool {
        self.attempts.iter().any(|a| same_uri(&a.uri, uri))
            || self.queue.iter().any(|q| same_uri(&q.uri, uri))
    }

    /// The final response of the current attempt (408 for a timeout) and, for
    /// a 3xx, its Contacts. Returns the next target or why to stop.
    pub fn on_final(&mut self, status: u16, contacts: Vec<Choice>) -> Next {
        if let Some(s) = self.stop {
            return Next::Stop(s);
        }
        let cur = self.attempts.len() - 1;
        self.attempts[cur].status = Some(status);
        let from_uri = self.attempts[cur].uri.clone();
        match status {
            200..=299 => self.finish(Stop::Answered),
            600..=699 => self.finish(Stop::GlobalFailure),
            300..=399 => {
                let follow = !matches!(status, 305 | 380);
                let mut rec = Redirect {
                    status,
                    from_uri,
                    contacts: contacts.clone(),
                    queued: Vec::new(),
                    looped: Vec::new(),
                    followed: follow,
                };
                if follow && self.followed >= self.policy.max_redirects {
                    rec.followed = false;
                    self.redirects.push(rec);
                    return self.finish(Stop::MaxRedirects);
                }
                if !follow {
                    self.redirects.push(rec);
                    return self.next_or(Stop::NotFollowed);
                }
                self.followed += 1;
                // §8.1.3.4: higher q first; a stable sort keeps equal q in the order given.
                let mut sorted: Vec<&Choice> = contacts.iter().collect();
                sorted.sort_by_key(|c| std::cmp::Reverse(c.q.unwrap_or(1000)));
                let mut fresh = Vec::new();
                for c in sorted {
                    if self.seen(&c.uri) || fresh.iter().any(|q: &Queued| same_uri(&q.uri, &c.uri))
                    {
                        rec.looped.push(c.uri.clone());
                    } else {
                        fresh.push(Queued {
                            uri: c.uri.clone(),
                            parent: cur,
                            via_status: status,
                        });
                    }
                }
                rec.queued = fresh.iter().map(|q| q.uri.clone()).collect();
                let no_contact = contacts.is_empty();
                if !rec.looped.is_empty() && fresh.is_empty() {
                    self.loop_seen = true;
                }
                self.redirects.push(rec);
                // The newest targets go first (depth first), ahead of older siblings.
                self.queue.splice(0..0, fresh);
                let why = if no_contact {
                    Stop::NoContact
                } else if self.loop_seen {
                    Stop::Loop
                } else {
                    Stop::Failed
                };
                self.next_or(why)
            }
            _ => self.next_or(Stop::Failed),
        }
    }

    fn next_or(&mut self, why: Stop) -> Next {
        if self.queue.is_empty() {
            return self.finish(why);
        }
        let q = self.queue.remove(0);
        self.attempts.push(Attempt {
            uri: q.uri.clone(),
            parent: Some(q.parent),
            via_status: Some(q.via_status),
            status: None,
        });
        Next::Try(q.uri)
    }

    fn finish(&mut self, why: Stop) -> Next {
        self.stop = Some(why);
        Next::Stop(why)
    }

    /// The chain of attempts that led to the current one, original first.
    pub fn chain(&self) -> Vec<&Attempt> {
        let mut out = Vec::new();
        let mut i = Some(self.attempts.len() - 1);
        while let Some(k) = i {
            out.push(&self.attempts[k]);
            i = self.attempts[k].parent;
        }
        out.reverse();
        out
    }

    /// The URI to use for future requests to the original target: the
    /// original for 302 and the other temporary redirects (RFC 3261
    /// §21.3.3), the new address where a 301 moved the address in use
    /// (§21.3.2) — along the chain of the current attempt, so a 301 to A
    /// then a 302 to B gives A.
    pub fn future_uri(&self) -> &str {
        let chain = self.chain();
        let mut future = chain[0].uri.as_str();
        for w in chain.windows(2) {
            let (parent, child) = (w[0], w[1]);
            if child.via_status == Some(301) && same_uri(&parent.uri, future) {
                future = child.uri.as_str();
            }
        }
        future
    }

    /// The new permanent address when a 301 moved the original (`None` otherwise).
    pub fn permanent_address(&self) -> Option<&str> {
        let f = self.future_uri();
        (!same_uri(f, self.original())).then_some(f)
    }
}
