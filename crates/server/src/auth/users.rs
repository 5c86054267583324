//! Users as the server knows them: HA1 per algorithm, never a password.

use std::collections::HashMap;

use sipkit_digest::Algorithm;

/// One user's stored credentials (RFC 7616 §3.4.2 HA1 for each base
/// algorithm), bound to a realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The user name, as the client sends it in `username`.
    pub name: String,
    /// The realm the HA1s were computed for.
    pub realm: String,
    /// H(name:realm:password) with MD5.
    pub ha1_md5: String,
    /// With SHA-256.
    pub ha1_sha256: String,
    /// With SHA-512/256.
    pub ha1_sha512_256: String,
}

impl UserRecord {
    /// The record for `name` in `realm` with `password`; the password is
    /// not kept.
    pub fn new(name: &str, realm: &str, password: &str) -> UserRecord {
        UserRecord {
            name: name.to_owned(),
            realm: realm.to_owned(),
            ha1_md5: Algorithm::Md5.ha1(name, realm, password),
            ha1_sha256: Algorithm::Sha256.ha1(name, realm, password),
            ha1_sha512_256: Algorithm::Sha512_256.ha1(name, realm, password),
        }
    }

    /// The stored HA1 for `alg`'s base hash.
    pub fn ha1(&self, alg: Algorithm) -> &str {
        match alg.base() {
            Algorithm::Md5 => &self.ha1_md5,
            Algorithm::Sha256 => &self.ha1_sha256,
            _ => &self.ha1_sha512_256,
        }
    }
}

/// The users of one realm, and a dummy user whose HA1 stands in for an
/// unknown name so that the work done (and the time taken) is the same.
#[derive(Debug, Clone)]
pub struct Users {
    realm: String,
    by_name: HashMap<String, UserRecord>,
    dummy: UserRecord,
    other_realm: usize,
}

impl Users {
    /// The records of `realm` among `records` (others are counted in
    /// [`Users::other_realm`]); `dummy_password` should be random (the
    /// server derives it from its secret).
    pub fn new(
        realm: &str,
        records: impl IntoIterator<Item = UserRecord>,
        dummy_password: &str,
    ) -> Users {
        let mut by_name = HashMap::new();
        let mut other_realm = 0;
        for r in records {
            if r.realm == realm {
                by_name.insert(r.name.clone(), r);
            } else {
                other_realm += 1;
            }
        }
        Users {
            realm: realm.to_owned(),
            by_name,
            dummy: UserRecord::new("\u{0}", realm, dummy_password),
            other_realm,
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Users of this realm.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Records skipped because their HA1s are for another realm.
    pub fn other_realm(&self) -> usize {
        self.other_realm
    }

    /// The HA1 to check `name`'s response against, and whether the user
    /// exists: an unknown name gets the dummy's HA1, so the caller does
    /// the same hashing and comparison either way.
    pub fn ha1_or_dummy(&self, name: &str, alg: Algorithm) -> (&str, bool) {
        match self.by_name.get(name) {
            Some(r) => (r.ha1(alg), true),
            None => (self.dummy.ha1(alg), false),
        }
    }
}
