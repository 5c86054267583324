//! The challenge-or-pass decision (RFC 3261 §22.1–22.4, RFC 7616 §3.3–3.5,
//! RFC 8760 §2.3) as a plain function of (now, request, source, users),
//! with the replay table, the rate limiter and the bans it updates.

use std::net::IpAddr;

use sipkit_digest::{verify, Algorithm, Challenge, Credentials};

use super::bans::{Ban, BanSection, BanTarget, Bans};
use super::cidr::Cidr;
use super::config::AuthSection;
use super::limiter::{Admit, RateLimitSection, RateLimiter};
use super::nonce::{NonceKey, NonceState};
use super::replay::{NcCheck, ReplayTable};
use super::users::Users;
use crate::error::Result;
use crate::time::UnixMs;

/// The settings of an [`Authenticator`], checked.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthSettings {
    /// The realm.
    pub realm: String,
    /// Challenges sent, in order.
    pub algorithms: Vec<Algorithm>,
    /// Nonce lifetime.
    pub nonce_lifetime_ms: u64,
    /// Clock skew allowed for nonces issued in the future.
    pub nonce_max_future_ms: u64,
    /// Sources never challenged nor limited.
    pub trust: Vec<Cidr>,
    /// Replay table size.
    pub replay_table_size: usize,
    /// The rate limit.
    pub rate_limit: RateLimitSection,
    /// The bans.
    pub ban: BanSection,
    /// Challenge even with no user (`enabled = true`); otherwise the
    /// authenticator lets everything through while there is no user.
    pub always: bool,
}

impl AuthSettings {
    /// From the configuration section.
    ///
    /// # Errors
    /// As [`AuthSection::validate`].
    pub fn from_section(s: &AuthSection) -> Result<AuthSettings> {
        s.validate()?;
        Ok(AuthSettings {
            realm: s.realm.clone(),
            algorithms: s.algorithm_list()?,
            nonce_lifetime_ms: u64::from(s.nonce_lifetime_s) * 1000,
            nonce_max_future_ms: u64::from(s.nonce_max_future_s) * 1000,
            trust: s.trust.clone(),
            replay_table_size: s.replay_table_size,
            rate_limit: s.rate_limit,
            ban: s.ban,
            always: s.enabled == Some(true),
        })
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        // The default section is valid.
        AuthSettings::from_section(&AuthSection::default()).unwrap_or(AuthSettings {
            realm: super::config::DEFAULT_REALM.into(),
            algorithms: super::config::DEFAULT_ALGORITHMS.to_vec(),
            nonce_lifetime_ms: 300_000,
            nonce_max_future_ms: 3000,
            trust: Vec::new(),
            replay_table_size: 100_000,
            rate_limit: RateLimitSection::default(),
            ban: BanSection::default(),
            always: false,
        })
    }
}

/// What the server does with a request, as far as authentication goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go on: authenticated as `user`, or not challenged (`None`: a trusted
    /// source).
    Pass {
        /// The authenticated user name.
        user: Option<String>,
    },
    /// 401 (REGISTER, `proxy == false`) or 407 with one fresh challenge
    /// per algorithm; `stale=true` when only the nonce was old.
    Challenge {
        /// 407 + Proxy-Authenticate rather than 401 + WWW-Authenticate.
        proxy: bool,
        /// Mark the challenges stale.
        stale: bool,
    },
    /// 400: the credentials do not parse; the reason goes in a Warning.
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// 403: authenticated, but not as the user whose AOR the REGISTER is for.
    Forbidden {
        /// Why.
        reason: &'static str,
    },
    /// 503 with this Retry-After: the source is over its rate.
    Busy {
        /// Seconds.
        retry_after: u32,
    },
}

/// One structured log event (names are stable: `auth.challenge`,
/// `auth.ok`, `auth.fail`, `ban.add`, `ban.expire`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthEvent {
    /// The event's name.
    pub name: &'static str,
    /// The source address ("-" style `None` for a user ban's expiry).
    pub source: Option<IpAddr>,
    /// The user name given (empty when none).
    pub user: String,
    /// The realm.
    pub realm: String,
    /// Why: `no_credentials`, `stale_nonce`, `bad_nonce`, `replay`,
    /// `other_realm`, `unsupported_algorithm`, `no_qop`, `wrong_credentials`,
    /// `malformed`, `identity_mismatch`, `ok`, `failures`, `manual`,
    /// `rate_limit`, `expired`.
    pub reason: &'static str,
}

/// One request's authentication input.
#[derive(Debug, Clone, Copy)]
pub struct AuthInput<'a> {
    /// The method (for HA2).
    pub method: &'a str,
    /// A REGISTER: challenged with 401, and the identity must be the To's user.
    pub register: bool,
    /// The user part of the To URI (REGISTER only).
    pub to_user: Option<&'a str>,
    /// The Authorization (REGISTER) or Proxy-Authorization values, in order.
    pub credentials: &'a [&'a str],
    /// The source address.
    pub source: IpAddr,
}

/// The server side of digest authentication and abuse control for one
/// node. Sans-IO: `now` and the random seed are inputs.
#[derive(Debug)]
pub struct Authenticator {
    settings: AuthSettings,
    key: NonceKey,
    users: Users,
    replay: ReplayTable,
    limiter: RateLimiter,
    bans: Bans,
    rng: u64,
    events: Vec<AuthEvent>,
    new_bans: Vec<Ban>,
    /// Credentials checked when a request has none, so that a challenge
    /// costs what a failed check costs (no timing oracle).
    dummy_credentials: String,
    /// Each challenge as printed, split around the nonce: (before, after,
    /// after when stale).
    templates: Vec<(String, String, String)>,
    /// Whether to record `auth.challenge` and `auth.ok` (logged at debug
    /// level only).
    routine_events: bool,
}

impl Authenticator {
    /// A node with `settings`, the nonce secret's key, its users, and a
    /// seed for the nonces' random bytes (from the caller's RNG).
    pub fn new(settings: AuthSettings, key: NonceKey, users: Users, seed: u64) -> Authenticator {
        let alg = settings
            .algorithms
            .first()
            .copied()
            .unwrap_or(Algorithm::Md5);
        let dummy_credentials = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"sip:{}\", \
             response=\"{}\", algorithm={alg}, cnonce=\"{}\", qop=auth, nc=00000001",
            "u".repeat(8),
            settings.realm,
            key.issue(UnixMs::from_millis(0), [0; 8]),
            "h".repeat(16),
            "0".repeat(alg.hex_len()),
            "c".repeat(16),
        );
        // Challenge's own printing, with a marker where the nonce goes.
        let templates = settings
            .algorithms
            .iter()
            .map(|a| {
                let mut c = Challenge::new(&settings.realm, "\u{0}", *a);
                let plain = c.to_string();
                c.stale = true;
                let stale = c.to_string();
                let (before, after) = plain.split_once('\u{0}').unwrap_or((&plain, ""));
                let after_stale = stale.split_once('\u{0}').map_or("", |(_, s)| s);
                (before.to_owned(), after.to_owned(), after_stale.to_owned())
            })
            .collect();
        Authenticator {
            dummy_credentials,
            templates,
            routine_events: true,
            replay: ReplayTable::new(settings.replay_table_size),
            limiter: RateLimiter::new(settings.rate_limit),
            bans: Bans::new(settings.ban),
            settings,
            key,
            users,
            rng: seed,
            events: Vec::new(),
            new_bans: Vec::new(),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// The users.
    pub fn users(&self) -> &Users {
        &self.users
    }

    /// Replaces the users (after `sipkit user add` changed the database).
    pub fn set_users(&mut self, users: Users) {
        self.users = users;
    }

    /// The bans, to list or change them.
    pub fn bans_mut(&mut self) -> &mut Bans {
        &mut self.bans
    }

    /// The bans.
    pub fn bans(&self) -> &Bans {
        &self.bans
    }

    /// Takes the events recorded since the last call.
    pub fn take_events(&mut self) -> Vec<AuthEvent> {
        std::mem::take(&mut self.events)
    }

    /// Takes the bans made since the last call (to persist them).
    pub fn take_new_bans(&mut self) -> Vec<Ban> {
        std::mem::take(&mut self.new_bans)
    }

    /// Whether `ip` is exempt: in a trusted range, or authentication is
    /// dormant because there is no user (and `enabled` is not `true`).
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        !self.is_active() || self.settings.trust.iter().any(|c| c.contains(ip))
    }

    /// Whether requests are challenged: at least one user exists (in any
    /// realm: users stored for another realm cannot authenticate, but must
    /// not open the server to everyone), or authentication is forced on.
    pub fn is_active(&self) -> bool {
        self.settings.always || !self.users.is_empty() || self.users.other_realm() > 0
    }

    /// Whether a message from `ip` is handled at all: not from a banned
    /// source, and within its rate (checked before parsing, per packet).
    pub fn admit(&mut self, now: UnixMs, ip: IpAddr) -> Admit {
        if self.is_trusted(ip) {
            return Admit::Pass;
        }
        if self.bans.source_banned(now, ip) {
            return Admit::Drop;
        }
        let (admit, started) = self.limiter.admit(now, ip);
        if started {
            self.event("auth.fail", Some(ip), "", "rate_limit");
        }
        admit
    }

    /// Ends the bans that are over; records a `ban.expire` for each.
    pub fn expire(&mut self, now: UnixMs) -> Vec<Ban> {
        let gone = self.bans.expire(now);
        for b in &gone {
            let (source, user) = match &b.target {
                BanTarget::Source(ip) => (Some(*ip), String::new()),
                BanTarget::User(u) => (None, u.clone()),
            };
            self.events.push(AuthEvent {
                name: "ban.expire",
                source,
                user,
                realm: self.settings.realm.clone(),
                reason: "expired",
            });
        }
        gone
    }

    /// The challenge header values for a 401/407: one per configured
    /// algorithm, in order, sharing one fresh nonce, all with
    /// `qop="auth"`.
    pub fn challenges(&mut self, now: UnixMs, stale: bool) -> Vec<String> {
        let random = self.next_random();
        let nonce = self.key.issue(now, random);
        self.templates
            .iter()
            .map(|(before, after, after_stale)| {
                let after = if stale { after_stale } else { after };
                let mut v = String::with_capacity(before.len() + nonce.len() + after.len());
                v.push_str(before);
                v.push_str(&nonce);
                v.push_str(after);
                v
            })
            .collect()
    }

    /// Whether to record the routine events `auth.challenge` and `auth.ok`
    /// (on by default; a server whose log hides debug events turns them off
    /// to save the work).
    pub fn set_routine_events(&mut self, on: bool) {
        self.routine_events = on;
    }

    /// Decides whether `input` passes, at `now`. A trusted source always
    /// passes; a source in its 503 period (`over = "busy"`) is busy;
    /// otherwise the credentials for our realm must parse, use an
    /// offered algorithm with `qop=auth`, carry a nonce of ours that is
    /// fresh with a growing `nc`, and answer correctly for a known user who
    /// is not banned. Unknown users, wrong passwords and missing
    /// credentials all get the same fresh challenge, after the same work.
    pub fn check(&mut self, now: UnixMs, input: &AuthInput<'_>) -> Verdict {
        let ip = input.source;
        let proxy = !input.register;
        if self.is_trusted(ip) {
            return Verdict::Pass { user: None };
        }
        if let Some(retry_after) = self.limiter.busy_for(now, ip) {
            return Verdict::Busy { retry_after };
        }
        let challenge = |stale| Verdict::Challenge { proxy, stale };
        if input.credentials.is_empty() {
            self.dummy_check(now, input.method);
            self.event("auth.challenge", Some(ip), "", "no_credentials");
            return challenge(false);
        }
        let mut ours = None;
        for value in input.credentials {
            match Credentials::parse(value) {
                Ok(c) => {
                    if ours.is_none() && c.realm == self.settings.realm {
                        ours = Some(c);
                    }
                }
                Err(e) => {
                    self.event("auth.fail", Some(ip), "", "malformed");
                    let header = if input.register {
                        "Authorization"
                    } else {
                        "Proxy-Authorization"
                    };
                    return Verdict::Malformed {
                        reason: format!("malformed {header}: {e}"),
                    };
                }
            }
        }
        let Some(creds) = ours else {
            self.event("auth.challenge", Some(ip), "", "other_realm");
            return challenge(false);
        };
        let user = creds.username.as_str();
        let alg = match creds.algorithm() {
            Some(a) if self.settings.algorithms.contains(&a) => a,
            _ => {
                self.event("auth.challenge", Some(ip), user, "unsupported_algorithm");
                return challenge(false);
            }
        };
        if !creds
            .qop
            .as_deref()
            .is_some_and(|q| q.eq_ignore_ascii_case("auth"))
        {
            self.event("auth.challenge", Some(ip), user, "no_qop");
            return challenge(false);
        }
        // The same work for every name: a lookup, a verification against a
        // real or dummy HA1, a constant-time comparison.
        let (ha1, known) = self.users.ha1_or_dummy(user, alg);
        let right = verify(&creds, input.method, ha1);
        let banned = self.bans.user_banned_for(now, user, ip);
        let ok = right && known && !banned;
        let nonce = self.key.check(
            &creds.nonce,
            now,
            self.settings.nonce_lifetime_ms,
            self.settings.nonce_max_future_ms,
        );
        let (id, issued) = match nonce {
            NonceState::Invalid => {
                self.event("auth.challenge", Some(ip), user, "bad_nonce");
                return challenge(false);
            }
            NonceState::Stale if ok => {
                self.event("auth.challenge", Some(ip), user, "stale_nonce");
                return challenge(true);
            }
            NonceState::Stale => return self.fail(now, ip, user, proxy),
            NonceState::Fresh { id, issued } => (id, issued),
        };
        if !ok {
            return self.fail(now, ip, user, proxy);
        }
        let nc = creds.nonce_count().unwrap_or(0);
        match self
            .replay
            .check(id, issued, nc, now, self.settings.nonce_lifetime_ms)
        {
            NcCheck::Fresh => {}
            NcCheck::Replay => {
                self.event("auth.challenge", Some(ip), user, "replay");
                return challenge(false);
            }
            NcCheck::Forgotten => {
                self.event("auth.challenge", Some(ip), user, "stale_nonce");
                return challenge(true);
            }
        }
        if input.register && input.to_user != Some(user) {
            self.event("auth.fail", Some(ip), user, "identity_mismatch");
            return Verdict::Forbidden {
                reason: "the authenticated user is not the user of the To URI",
            };
        }
        self.bans.record_success(now, ip, user);
        self.event("auth.ok", Some(ip), user, "ok");
        Verdict::Pass {
            user: Some(user.to_owned()),
        }
    }

    /// The work of checking credentials (parse, lookup, verify, nonce
    /// check), on stand-in credentials that never pass, so that a request
    /// without credentials takes as long as one with wrong ones.
    fn dummy_check(&self, now: UnixMs, method: &str) {
        if let Ok(c) = Credentials::parse(&self.dummy_credentials) {
            let alg = c.algorithm().unwrap_or(Algorithm::Md5);
            let (ha1, known) = self.users.ha1_or_dummy(&c.username, alg);
            let right = verify(&c, method, ha1);
            let nonce = self.key.check(
                &c.nonce,
                now,
                self.settings.nonce_lifetime_ms,
                self.settings.nonce_max_future_ms,
            );
            std::hint::black_box((right, known, nonce));
        }
    }

    /// A wrong answer: counted, maybe banned, and challenged again.
    fn fail(&mut self, now: UnixMs, ip: IpAddr, user: &str, proxy: bool) -> Verdict {
        self.event("auth.fail", Some(ip), user, "wrong_credentials");
        for b in self.bans.record_failure(now, ip, user) {
            let source = match &b.target {
                BanTarget::Source(ip) => Some(*ip),
                BanTarget::User(_) => Some(ip),
            };
            let name = match &b.target {
                BanTarget::User(u) => u.clone(),
                BanTarget::Source(_) => user.to_owned(),
            };
            self.events.push(AuthEvent {
                name: "ban.add",
                source,
                user: name,
                realm: self.settings.realm.clone(),
                reason: "failures",
            });
            self.new_bans.push(b);
        }
        Verdict::Challenge {
            proxy,
            stale: false,
        }
    }

    /// Whether the source is in its 503 period (`over = "busy"`).
    pub fn busy(&mut self, now: UnixMs, ip: IpAddr) -> Option<u32> {
        if self.is_trusted(ip) {
            return None;
        }
        self.limiter.busy_for(now, ip)
    }

    fn event(
        &mut self,
        name: &'static str,
        source: Option<IpAddr>,
        user: &str,
        reason: &'static str,
    ) {
        if !self.routine_events && matches!(name, "auth.challenge" | "auth.ok") {
            return;
        }
        self.events.push(AuthEvent {
            name,
            source,
            user: user.to_owned(),
            realm: self.settings.realm.clone(),
            reason,
        });
    }

    /// SplitMix64: distinct random bytes per nonce from the caller's seed.
    fn next_random(&mut self) -> [u8; 8] {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)).to_be_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_print_as_challenge_does() {
        let mut a = Authenticator::new(
            AuthSettings::default(),
            NonceKey::new(b"k"),
            Users::new("sipkit", [], "d"),
            1,
        );
        let now = UnixMs::from_millis(1_800_000_000_000);
        for stale in [false, true] {
            let got = a.challenges(now, stale);
            assert_eq!(got.len(), 3);
            for (g, alg) in got.iter().zip(super::super::config::DEFAULT_ALGORITHMS) {
                let parsed = Challenge::parse(g).unwrap();
                let mut want = Challenge::new("sipkit", &parsed.nonce, alg);
                want.stale = stale;
                assert_eq!(*g, want.to_string());
                assert_eq!(parsed, want);
            }
        }
    }

    #[test]
    fn bans_expire_with_an_event() {
        let mut settings = AuthSettings::default();
        settings.ban.source_failures = 1;
        settings.ban.ban_s = 60;
        let mut a = Authenticator::new(
            settings,
            NonceKey::new(b"k"),
            Users::new(
                "sipkit",
                [super::super::users::UserRecord::new(
                    "alice", "sipkit", "pw",
                )],
                "d",
            ),
            1,
        );
        let now = UnixMs::from_millis(1_800_000_000_000);
        let ip: IpAddr = "192.0.2.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let nonce = NonceKey::new(b"k").issue(now, [1; 8]);
        let creds = format!(
            "Digest username=\"alice\", realm=\"sipkit\", nonce=\"{nonce}\", uri=\"sip:x\", \
             response=\"{}\", qop=auth, nc=00000001, cnonce=\"c\"",
            "0".repeat(32)
        );
        let input = AuthInput {
            method: "REGISTER",
            register: true,
            to_user: Some("alice"),
            credentials: &[&creds],
            source: ip,
        };
        assert_eq!(
            a.check(now, &input),
            Verdict::Challenge {
                proxy: false,
                stale: false
            }
        );
        let names: Vec<_> = a.take_events().iter().map(|e| e.name).collect();
        assert_eq!(names, ["auth.fail", "ban.add"]);
        assert_eq!(a.take_new_bans().len(), 1);
        assert_eq!(a.admit(now.plus_secs(59), ip), Admit::Drop);
        assert!(a.expire(now.plus_secs(59)).is_empty());
        assert_eq!(a.expire(now.plus_secs(60)).len(), 1);
        let e = a.take_events();
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].name, e[0].source, e[0].reason),
            ("ban.expire", Some(ip), "expired")
        );
        assert_eq!(a.admit(now.plus_secs(60), ip), Admit::Pass);
    }
}
