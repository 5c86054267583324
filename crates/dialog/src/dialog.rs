//! Dialogs (RFC 3261 §12): their identity, state, route set, sequence
//! numbers and remote target, how requests inside them are built, and how
//! requests and responses inside them update them.

use sipkit_message::{
    response_from_request, HeaderName, Method, NameAddr, Request, RequestBuilder, Response,
    ResponseBuilder, Uri,
};

use crate::Error;

/// Which side of the dialog-creating request this UA was on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// This UA sent the request that created the dialog (RFC 3261 §12.1.2).
    Uac,
    /// This UA received it (RFC 3261 §12.1.1).
    Uas,
}

/// The state of a dialog (RFC 3261 §12: early, confirmed, terminated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a provisional response with a To tag (§12.1).
    Early,
    /// Created or confirmed by a 2xx (§12.1, §13.2.2.4).
    Confirmed,
    /// Ended by BYE, a 481 or 408 to an in-dialog request (§12.2.1.2), or a
    /// non-2xx final response to the INVITE of an early dialog (§12.3).
    Terminated,
}

/// A dialog's identity: Call-ID, local tag, remote tag (RFC 3261 §12).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// The Call-ID.
    pub call_id: String,
    /// This UA's tag.
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

impl DialogId {
    /// The dialog a received request belongs to, from this UA's point of
    /// view: local tag = To tag, remote tag = From tag (§12.2.2). `None`
    /// when the request has no To tag (it is outside any dialog).
    pub fn of_request(req: &Request<'_>) -> Option<DialogId> {
        Some(DialogId {
            call_id: req.call_id().to_owned(),
            local_tag: req.to().tag()?.to_owned(),
            remote_tag: req.from().tag()?.to_owned(),
        })
    }

    /// The dialog a received response to this UA's request belongs to:
    /// local tag = From tag, remote tag = To tag (§12.1.2).
    pub fn of_response(resp: &Response<'_>) -> Option<DialogId> {
        Some(DialogId {
            call_id: resp.call_id().to_owned(),
            local_tag: resp.from().tag()?.to_owned(),
            remote_tag: resp.to().tag()?.to_owned(),
        })
    }
}

/// One entry of a route set: the Record-Route value as written, its URI,
/// and whether that URI is a loose router (`;lr`, RFC 3261 §16.12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    /// The name-addr as written in Record-Route.
    pub raw: String,
    /// The URI inside it.
    pub uri: String,
    /// True when the URI carries `lr`.
    pub lr: bool,
}

impl RouteEntry {
    fn from_name_addr(na: &NameAddr<'_>) -> RouteEntry {
        RouteEntry {
            raw: na.raw.to_owned(),
            uri: na.uri.as_str().to_owned(),
            lr: na.uri.params.contains("lr"),
        }
    }
}

/// What a response to an in-dialog request did to the dialog (§12.2.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseEffect {
    /// Nothing changed.
    None,
    /// A 2xx to a target refresh request replaced the remote target.
    TargetRefreshed(String),
    /// A 481 or 408 (or any final response to BYE) ended the dialog.
    Terminated(u16),
}

/// The methods whose requests (and 2xx responses) refresh the remote
/// target: INVITE (RFC 3261 §12.2), UPDATE (RFC 3311 §5.1), SUBSCRIBE and
/// NOTIFY (RFC 6665 §4.1.2, §4.2.2).
pub const TARGET_REFRESH: [&str; 4] = ["INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY"];

/// True if requests of this method are target refresh requests.
pub fn is_target_refresh(method: &str) -> bool {
    TARGET_REFRESH.contains(&method)
}

/// A dialog (RFC 3261 §12): identity, state, sequence numbers, the parties,
/// the remote target and the route set. Sans-IO: it builds bytes and reads
/// parsed messages; sending and timing are the caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    id: DialogId,
    role: Role,
    state: DialogState,
    local_seq: Option<u32>,
    remote_seq: Option<u32>,
    /// From (UAC) or To (UAS) of the creating request, with this UA's tag.
    local_party: String,
    /// To (UAC) or From (UAS), with the peer's tag.
    remote_party: String,
    remote_target: String,
    route_set: Vec<RouteEntry>,
    local_contact: String,
    secure: bool,
}

fn contact_uri(parts: &sipkit_message::Parts<'_>) -> Option<String> {
    let c = parts.contacts().next()?.ok()?;
    c.address().map(|a| a.uri.as_str().to_owned())
}

fn record_routes(parts: &sipkit_message::Parts<'_>) -> Result<Vec<RouteEntry>, Error> {
    parts
        .record_routes()
        .map(|r| {
            r.map(|na| RouteEntry::from_name_addr(&na))
                .map_err(Error::from)
        })
        .collect()
}

fn is_sips(uri: &Uri<'_>) -> bool {
    matches!(uri.scheme, sipkit_message::Scheme::Sips)
}

impl Dialog {
    /// The dialog a UAC gets from a response to its dialog-creating request
    /// (RFC 3261 §12.1.2): a 101–199 with a To tag makes an early dialog, a
    /// 2xx a confirmed one. Route set = Record-Route in reverse order;
    /// remote target = the response's Contact; local sequence number = the
    /// request's CSeq; remote sequence number empty.
    pub fn uac(request: &Request<'_>, response: &Response<'_>) -> Result<Dialog, Error> {
        let status = response.status();
        let state = match status {
            101..=199 => DialogState::Early,
            200..=299 => DialogState::Confirmed,
            s => return Err(Error::NoDialogFromStatus(s)),
        };
        let local_tag = request.from().tag().ok_or(Error::MissingTag("From"))?;
        let remote_tag = response.to().tag().ok_or(Error::MissingTag("To"))?;
        let mut route_set = record_routes(response)?;
        route_set.reverse();
        let remote_target =
            contact_uri(response).unwrap_or_else(|| request.uri().as_str().to_owned());
        let local_contact = contact_uri(request).unwrap_or_default();
        Ok(Dialog {
            id: DialogId {
                call_id: request.call_id().to_owned(),
                local_tag: local_tag.to_owned(),
                remote_tag: remote_tag.to_owned(),
            },
            role: Role::Uac,
            state,
            local_seq: Some(request.cseq().seq),
            remote_seq: None,
            local_party: request.from().raw.to_owned(),
            remote_party: response.to().raw.to_owned(),
            remote_target,
            route_set,
            local_contact,
            secure: is_sips(request.uri()),
        })
    }

    /// The dialog a UAS creates when it answers `request` with a 101–299
    /// carrying `local_tag` and `local_contact` (RFC 3261 §12.1.1). Route
    /// set = Record-Route in order; remote target = the request's Contact;
    /// remote sequence number = its CSeq; local sequence number empty. It
    /// starts early; [`Dialog::set_confirmed`] when the 2xx goes out.
    pub fn uas(
        request: &Request<'_>,
        local_tag: &str,
        local_contact: &str,
    ) -> Result<Dialog, Error> {
        let remote_tag = request.from().tag().ok_or(Error::MissingTag("From"))?;
        let remote_target = contact_uri(request).ok_or(Error::MissingHeader("Contact"))?;
        let to = request.to();
        let local_party = match to.tag() {
            Some(_) => to.raw.to_owned(),
            None => format!("{};tag={local_tag}", to.raw),
        };
        Ok(Dialog {
            id: DialogId {
                call_id: request.call_id().to_owned(),
                local_tag: local_tag.to_owned(),
                remote_tag: remote_tag.to_owned(),
            },
            role: Role::Uas,
            state: DialogState::Early,
            local_seq: None,
            remote_seq: Some(request.cseq().seq),
            local_party,
            remote_party: request.from().raw.to_owned(),
            remote_target,
            route_set: record_routes(request)?,
            local_contact: local_contact.to_owned(),
            secure: is_sips(request.uri()),
        })
    }

    /// The dialog's identity.
    pub fn id(&self) -> &DialogId {
        &self.id
    }
    /// Which side created it.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Early, confirmed or terminated.
    pub fn state(&self) -> DialogState {
        self.state
    }
    /// The last CSeq number this UA used (`None` until it sends one, UAS).
    pub fn local_seq(&self) -> Option<u32> {
        self.local_seq
    }
    /// The last CSeq number the peer used (`None` until it sends one, UAC).
    pub fn remote_seq(&self) -> Option<u32> {
        self.remote_seq
    }
    /// Where requests inside the dialog go (the peer's Contact).
    pub fn remote_target(&self) -> &str {
        &self.remote_target
    }
    /// The route set, in the order requests carry it.
    pub fn route_set(&self) -> &[RouteEntry] {
        &self.route_set
    }
    /// This UA's From (UAC) or To (UAS) value, with its tag.
    pub fn local_party(&self) -> &str {
        &self.local_party
    }
    /// The peer's value, with its tag.
    pub fn remote_party(&self) -> &str {
        &self.remote_party
    }
    /// This UA's Contact URI in the dialog.
    pub fn local_contact(&self) -> &str {
        &self.local_contact
    }
    /// True when the dialog-creating request was `sips:` (§12.1.1).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// A UAC's early dialog gets its 2xx (RFC 3261 §13.2.2.4): it becomes
    /// confirmed, and its route set and remote target are recomputed from
    /// the 2xx.
    pub fn confirm(&mut self, response: &Response<'_>) -> Result<(), Error> {
        if DialogId::of_response(response).as_ref() != Some(&self.id) {
            return Err(Error::OtherDialog);
        }
        if self.role == Role::Uac {
            let mut rs = record_routes(response)?;
            rs.reverse();
            self.route_set = rs;
            if let Some(t) = contact_uri(response) {
                self.remote_target = t;
            }
            self.remote_party = response.to().raw.to_owned();
        }
        self.state = DialogState::Confirmed;
        Ok(())
    }

    /// A UAS's dialog becomes confirmed when it sends its 2xx.
    pub fn set_confirmed(&mut self) {
        if self.state != DialogState::Terminated {
            self.state = DialogState::Confirmed;
        }
    }

    /// Ends the dialog (BYE sent or received, or a non-2xx final response to
    /// the INVITE of an early dialog, §12.3).
    pub fn terminate(&mut self) {
        self.state = DialogState::Terminated;
    }

    /// The URI of the next hop of a request inside the dialog: the first
    /// route, or the remote target when the route set is empty (§12.2.1.1,
    /// §8.1.2). The caller resolves it to an address.
    pub fn next_hop(&self) -> &str {
        self.route_set
            .first()
            .map_or(self.remote_target.as_str(), |r| r.uri.as_str())
    }

    /// The Request-URI and Route values of a request inside the dialog
    /// (RFC 3261 §12.2.1.1): with an empty route set, the remote target and
    /// no Route; when the first route is a loose router (`lr`), the remote
    /// target and the whole route set; otherwise (a strict router) the first
    /// route's URI, then the rest of the route set and the remote target.
    pub fn request_target(&self) -> (String, Vec<String>) {
        match self.route_set.first() {
            None => (self.remote_target.clone(), Vec::new()),
            Some(first) if first.lr => (
                self.remote_target.clone(),
                self.route_set.iter().map(|r| r.raw.clone()).collect(),
            ),
            Some(first) => {
                let uri = first.uri.split('?').next().unwrap_or(&first.uri).to_owned();
                let mut routes: Vec<String> =
                    self.route_set[1..].iter().map(|r| r.raw.clone()).collect();
                routes.push(format!("<{}>", self.remote_target));
                (uri, routes)
            }
        }
    }

    /// Starts a new request inside the dialog (RFC 3261 §12.2.1.1): the
    /// Request-URI and Route from the route set, To = the remote party with
    /// its tag, From = the local party with its tag, the Call-ID, and a CSeq
    /// one higher than the last (1 when this UA has sent none yet);
    /// Contact for target refresh requests and REFER (RFC 3515 §2.4.1
    /// requires one). `via` is the whole Via value with a fresh branch. Add
    /// other headers and the body to the builder, then build it.
    ///
    /// ACK and CANCEL are not built here: see [`Dialog::ack`] and the
    /// transaction layer's CANCEL.
    pub fn request(&mut self, method: &str, via: &str) -> Result<(RequestBuilder, u32), Error> {
        if self.state == DialogState::Terminated {
            return Err(Error::Terminated);
        }
        let seq = self
            .local_seq
            .map_or(1, |s| s.wrapping_add(1) & 0x7fff_ffff);
        self.local_seq = Some(seq);
        Ok((self.build(method, seq, method, via), seq))
    }

    /// The ACK for a 2xx to the INVITE with CSeq number `invite_seq`
    /// (RFC 3261 §13.2.2.4): built like an in-dialog request, with the
    /// INVITE's CSeq number and method ACK, and its own branch in `via`.
    pub fn ack(&self, invite_seq: u32, via: &str) -> RequestBuilder {
        self.build("ACK", invite_seq, "ACK", via)
    }

    fn build(&self, method: &str, seq: u32, cseq_method: &str, via: &str) -> RequestBuilder {
        let (ruri, routes) = self.request_target();
        let mut b = RequestBuilder::new(method, &ruri)
            .header(HeaderName::Via, via)
            .header(HeaderName::MaxForwards, "70");
        for r in routes {
            b = b.header(HeaderName::Route, r);
        }
        b = b
            .header(HeaderName::From, &self.local_party)
            .header(HeaderName::To, &self.remote_party)
            .header(HeaderName::CallId, &self.id.call_id)
            .header(HeaderName::CSeq, format!("{seq} {cseq_method}"));
        if (is_target_refresh(method) || method == "REFER") && !self.local_contact.is_empty() {
            b = b.header(HeaderName::Contact, format!("<{}>", self.local_contact));
        }
        b
    }

    /// Takes a request received inside the dialog (RFC 3261 §12.2.2):
    /// refuses a CSeq lower than the last one ([`Error::CSeqOutOfOrder`],
    /// to be answered with 500), records the new remote sequence number, and
    /// for a target refresh request replaces the remote target with its
    /// Contact. ACK and CANCEL carry the INVITE's number and are only checked
    /// for the dialog.
    pub fn on_request(&mut self, req: &Request<'_>) -> Result<(), Error> {
        if DialogId::of_request(req).as_ref() != Some(&self.id) {
            return Err(Error::OtherDialog);
        }
        let method = req.method();
        if matches!(method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        let seq = req.cseq().seq;
        if let Some(last) = self.remote_seq {
            if seq < last {
                return Err(Error::CSeqOutOfOrder { got: seq, last });
            }
        }
        self.remote_seq = Some(seq);
        if is_target_refresh(req.method_str()) {
            if let Some(t) = contact_uri(req) {
                self.remote_target = t;
            }
        }
        if method == Method::Bye {
            self.state = DialogState::Terminated;
        }
        Ok(())
    }

    /// Takes a final response to a request this UA sent inside the dialog
    /// (RFC 3261 §12.2.1.2): a 2xx to a target refresh request replaces the
    /// remote target with its Contact; a 481 or 408 ends the dialog, and so
    /// does any final response to BYE (§15.1.1).
    pub fn on_response(&mut self, resp: &Response<'_>) -> ResponseEffect {
        let status = resp.status();
        if status < 200 {
            return ResponseEffect::None;
        }
        let method = resp.cseq().method;
        if method == "BYE" || status == 481 || status == 408 {
            self.state = DialogState::Terminated;
            return ResponseEffect::Terminated(status);
        }
        if (200..300).contains(&status) && is_target_refresh(method) {
            if let Some(t) = contact_uri(resp) {
                if t != self.remote_target {
                    self.remote_target = t.clone();
                    return ResponseEffect::TargetRefreshed(t);
                }
            }
        }
        ResponseEffect::None
    }

    /// Starts this UA's response to a request inside (or creating) the
    /// dialog: the RFC 3261 §8.2.6 copy with this UA's To tag, and Contact
    /// on a 101–299 to a target refresh request or REFER (§12.1.1).
    pub fn response(&self, req: &Request<'_>, status: u16, reason: &str) -> ResponseBuilder {
        let mut b = response_from_request(req, status, reason).to_tag(&self.id.local_tag);
        let m = req.method_str();
        if (101..300).contains(&status)
            && (is_target_refresh(m) || m == "REFER")
            && !self.local_contact.is_empty()
        {
            b = b.header(HeaderName::Contact, format!("<{}>", self.local_contact));
        }
        b
    }
}
