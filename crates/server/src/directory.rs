//! Which domains and users this server answers for.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::uri::{aor_host, aor_user, canonical_aor};

/// The domains this server is responsible for and the users it knows.
///
/// An empty domain list accepts any domain; an empty user list accepts any
/// user (no authentication, RFC 3261 §10.3 step 3 skipped). A user entry is
/// either a bare user name (`alice`: that user part in every served domain)
/// or a full address-of-record (`sip:alice@example.com`, canonicalized).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    domains: Vec<String>,
    user_names: HashSet<String>,
    user_aors: HashSet<String>,
}

/// How an AOR stands with a [`Directory`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// In a served domain, and a listed user or any user is accepted.
    Admitted,
    /// Its host is not one of the served domains.
    ForeignDomain,
    /// In a served domain, but users are listed and it is not one of them.
    UnknownUser,
}

impl Directory {
    /// A directory that accepts any domain and any user.
    pub fn accept_any() -> Self {
        Self::default()
    }

    /// A directory from the configured domains and users.
    ///
    /// # Errors
    /// [`Error::Config`] for a user entry that looks like a URI (contains
    /// `:`) but is not a SIP URI, or an empty entry.
    pub fn new<D, U>(domains: D, users: U) -> Result<Self>
    where
        D: IntoIterator,
        D::Item: AsRef<str>,
        U: IntoIterator,
        U::Item: AsRef<str>,
    {
        let mut dir = Self::default();
        for d in domains {
            let d = d.as_ref().trim().to_ascii_lowercase();
            if d.is_empty() {
                return Err(config("an empty domain in `domains`".into()));
            }
            dir.domains.push(d);
        }
        for u in users {
            let u = u.as_ref().trim();
            if u.is_empty() {
                return Err(config("an empty user in `[users] known`".into()));
            }
            if u.contains(':') {
                let aor = canonical_aor(u).map_err(|e| config(format!("user {u:?}: {e}")))?;
                dir.user_aors.insert(aor);
            } else {
                dir.user_names.insert(u.to_owned());
            }
        }
        Ok(dir)
    }

    /// Whether users are listed (and so unknown ones are refused).
    pub fn has_user_list(&self) -> bool {
        !self.user_names.is_empty() || !self.user_aors.is_empty()
    }

    /// Whether the canonical AOR's host is served (always, with no list).
    pub fn serves_domain(&self, aor: &str) -> bool {
        if self.domains.is_empty() {
            return true;
        }
        let host = aor_host(aor).to_ascii_lowercase();
        self.domains.contains(&host)
    }

    /// Whether the canonical AOR is a listed user (false with no list).
    pub fn is_listed(&self, aor: &str) -> bool {
        self.user_aors.contains(aor) || aor_user(aor).is_some_and(|u| self.user_names.contains(u))
    }

    /// How the canonical AOR stands: domain first, then user.
    pub fn standing(&self, aor: &str) -> Standing {
        if !self.serves_domain(aor) {
            Standing::ForeignDomain
        } else if self.has_user_list() && !self.is_listed(aor) {
            Standing::UnknownUser
        } else {
            Standing::Admitted
        }
    }
}

fn config(message: String) -> Error {
    Error::Config {
        source_name: "users/domains".into(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_directory_admits_everyone() {
        let d = Directory::accept_any();
        assert_eq!(
            d.standing("sip:anyone@anywhere.example"),
            Standing::Admitted
        );
        assert!(!d.has_user_list());
    }

    #[test]
    fn domains_and_users_are_checked() {
        let d = Directory::new(["Example.com"], ["alice", "sip:bob@other.example"]).unwrap();
        assert_eq!(d.standing("sip:alice@example.com"), Standing::Admitted);
        assert_eq!(d.standing("sip:alice@example.com:5070"), Standing::Admitted);
        assert_eq!(d.standing("sip:carol@example.com"), Standing::UnknownUser);
        assert_eq!(
            d.standing("sip:alice@evil.example"),
            Standing::ForeignDomain
        );
        // A full AOR entry still needs its domain served.
        assert_eq!(d.standing("sip:bob@other.example"), Standing::ForeignDomain);
        let d = Directory::new(Vec::<String>::new(), ["sip:Bob@OTHER.example"]).unwrap();
        assert_eq!(d.standing("sip:Bob@other.example"), Standing::Admitted);
        assert_eq!(d.standing("sip:bob@other.example"), Standing::UnknownUser);
    }

    #[test]
    fn bad_entries_are_config_errors() {
        assert!(Directory::new([""], Vec::<String>::new()).is_err());
        assert!(Directory::new(Vec::<String>::new(), ["tel:+1555"]).is_err());
        assert!(Directory::new(Vec::<String>::new(), [" "]).is_err());
    }
}
