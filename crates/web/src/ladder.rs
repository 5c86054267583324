//! Call flows drawn as SVG ladder diagrams, for the codes whose meaning is a
//! flow: 202 (REFER and its NOTIFYs), the 3xx family (redirect and retry),
//! 401 and 407 (challenge and retry with credentials), 487 (after CANCEL)
//! and 491 (glare).
//!
//! A flow is a small description (actors, then one arrow or note per row)
//! rendered by one function. Arrow labels are wire text (methods, status
//! lines, header names); actor names, notes and captions are words, taken
//! from the knowledge base's UI strings.

use std::fmt::Write as _;

use sipkit_codes::{ui, Lang};

use crate::html::esc;

/// One row of a ladder.
#[derive(Debug, Clone)]
enum Step {
    /// A message from one actor to another; `hl` marks the page's own code.
    Msg {
        from: usize,
        to: usize,
        label: String,
        hl: bool,
        /// A link for the label (a captured response to its explanation).
        href: Option<String>,
    },
    /// Two messages sent at once in opposite directions; they cross over two rows.
    Cross {
        a: (usize, usize, String, bool),
        b: (usize, usize, String, bool),
    },
    /// A note at an actor's lifeline (a UI key).
    Note { at: usize, key: &'static str },
}

/// A name in a ladder: a UI key (the reference's flows) or literal text
/// (a captured call's endpoints and Call-ID).
#[derive(Debug, Clone)]
enum Name {
    Key(&'static str),
    Text(String),
}

impl Name {
    fn get(&self, lang: Lang) -> &str {
        match self {
            Name::Key(k) => ui(lang, k),
            Name::Text(t) => t,
        }
    }
}

impl From<&'static str> for Name {
    fn from(k: &'static str) -> Self {
        Name::Key(k)
    }
}

/// A call flow: the actors, the rows, a caption.
#[derive(Debug, Clone)]
pub(crate) struct Flow {
    actors: Vec<Name>,
    steps: Vec<Step>,
    caption: Name,
}

/// One arrow of a captured call's ladder ([`capture_ladder`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrow {
    /// Index of the sending actor.
    pub from: usize,
    /// Index of the receiving actor.
    pub to: usize,
    /// The label: wire text such as `INVITE sip:bob@b` or `302 Moved Temporarily`.
    pub label: String,
    /// Drawn highlighted (a failure or a finding rests on it).
    pub highlight: bool,
    /// Where the label links to (a response's explanation).
    pub href: Option<String>,
}

/// The ladder of a captured call, drawn exactly like the reference's flows:
/// `actors` are endpoint names, one row per arrow, `caption` under it.
/// Used by `sipkit analyze --html`.
pub fn capture_ladder(actors: &[String], arrows: &[Arrow], caption: &str) -> String {
    let flow = Flow {
        actors: actors.iter().cloned().map(Name::Text).collect(),
        steps: arrows
            .iter()
            .map(|a| Step::Msg {
                from: a.from,
                to: a.to,
                label: a.label.clone(),
                hl: a.highlight,
                href: a.href.clone(),
            })
            .collect(),
        caption: Name::Text(caption.to_owned()),
    };
    flow.render(Lang::EN)
}

fn msg(from: usize, to: usize, label: &str) -> Step {
    Step::Msg {
        from,
        to,
        label: label.to_owned(),
        hl: false,
        href: None,
    }
}

fn hl(from: usize, to: usize, label: &str) -> Step {
    Step::Msg {
        from,
        to,
        label: label.to_owned(),
        hl: true,
        href: None,
    }
}

/// The flow that explains `code`, for the codes whose meaning is a flow.
pub(crate) fn flow(code: u16, reason: &str) -> Option<Flow> {
    let status = format!("{code} {reason}");
    let f = match code {
        202 => Flow {
            actors: vec![
                "web_role_transferor".into(),
                "web_role_transferee".into(),
                "web_role_target".into(),
            ],
            steps: vec![
                msg(0, 1, "REFER (Refer-To)"),
                hl(1, 0, &status),
                msg(1, 0, "NOTIFY (SIP/2.0 100 Trying)"),
                msg(0, 1, "200 OK"),
                msg(1, 2, "INVITE"),
                msg(2, 1, "200 OK"),
                msg(1, 2, "ACK"),
                msg(1, 0, "NOTIFY (SIP/2.0 200 OK)"),
                msg(0, 1, "200 OK"),
            ],
            caption: "web_flow_refer".into(),
        },
        300..=302 => {
            let target = match code {
                301 => "INVITE sip:bob@chicago.example.com",
                _ => "INVITE sip:bob@192.0.2.4",
            };
            Flow {
                actors: vec![
                    "web_role_caller".into(),
                    "web_role_redirect".into(),
                    "web_role_callee".into(),
                ],
                steps: vec![
                    msg(0, 1, "INVITE sip:bob@biloxi.example.com"),
                    hl(1, 0, &status),
                    msg(0, 1, "ACK"),
                    msg(0, 2, target),
                    msg(2, 0, "180 Ringing"),
                    msg(2, 0, "200 OK"),
                    msg(0, 2, "ACK"),
                ],
                caption: "web_flow_redirect".into(),
            }
        }
        305 => Flow {
            actors: vec![
                "web_role_caller".into(),
                "web_role_proxy".into(),
                "web_role_callee".into(),
            ],
            steps: vec![
                msg(0, 2, "INVITE"),
                hl(2, 0, &status),
                msg(0, 2, "ACK"),
                msg(0, 1, "INVITE (Route: proxy)"),
                msg(1, 2, "INVITE"),
                msg(2, 1, "200 OK"),
                msg(1, 0, "200 OK"),
                msg(0, 2, "ACK"),
            ],
            caption: "web_flow_use_proxy".into(),
        },
        // RFC 3261 §21.3.5: the alternative service is in the body; here the
        // 3GPP one (TS 24.229) that sends a phone to emergency calling.
        380 => Flow {
            actors: vec![
                "web_role_caller".into(),
                "web_role_proxy".into(),
                "web_role_service".into(),
            ],
            steps: vec![
                msg(0, 1, "INVITE sip:911@biloxi.example.com"),
                hl(1, 0, &format!("{status} (body: emergency)")),
                msg(0, 1, "ACK"),
                msg(0, 1, "INVITE urn:service:sos"),
                msg(1, 2, "INVITE urn:service:sos"),
                msg(2, 1, "200 OK"),
                msg(1, 0, "200 OK"),
                msg(0, 2, "ACK"),
            ],
            caption: "web_flow_alternative".into(),
        },
        401 => Flow {
            actors: vec!["web_role_ua".into(), "web_role_registrar".into()],
            steps: vec![
                msg(0, 1, "REGISTER"),
                hl(1, 0, &format!("{status} (WWW-Authenticate)")),
                msg(0, 1, "REGISTER (Authorization)"),
                msg(1, 0, "200 OK"),
            ],
            caption: "web_flow_challenge_401".into(),
        },
        407 => Flow {
            actors: vec![
                "web_role_caller".into(),
                "web_role_proxy".into(),
                "web_role_callee".into(),
            ],
            steps: vec![
                msg(0, 1, "INVITE"),
                hl(1, 0, &status),
                msg(0, 1, "ACK"),
                msg(0, 1, "INVITE (Proxy-Authorization)"),
                msg(1, 2, "INVITE"),
                msg(2, 1, "200 OK"),
                msg(1, 0, "200 OK"),
                msg(0, 2, "ACK"),
            ],
            caption: "web_flow_challenge_407".into(),
        },
        487 => Flow {
            actors: vec!["web_role_caller".into(), "web_role_callee".into()],
            steps: vec![
                msg(0, 1, "INVITE"),
                msg(1, 0, "100 Trying"),
                msg(1, 0, "180 Ringing"),
                msg(0, 1, "CANCEL"),
                msg(1, 0, "200 OK (CANCEL)"),
                hl(1, 0, &status),
                msg(0, 1, "ACK"),
            ],
            caption: "web_flow_cancel".into(),
        },
        491 => Flow {
            actors: vec!["web_role_a".into(), "web_role_b".into()],
            steps: vec![
                Step::Cross {
                    a: (0, 1, "re-INVITE".into(), false),
                    b: (1, 0, "re-INVITE".into(), false),
                },
                Step::Cross {
                    a: (0, 1, status.clone(), true),
                    b: (1, 0, status.clone(), true),
                },
                Step::Cross {
                    a: (0, 1, "ACK".into(), false),
                    b: (1, 0, "ACK".into(), false),
                },
                Step::Note {
                    at: 1,
                    key: "web_flow_wait_short",
                },
                msg(1, 0, "re-INVITE"),
                msg(0, 1, "200 OK"),
                msg(1, 0, "ACK"),
            ],
            caption: "web_flow_glare".into(),
        },
        _ => return None,
    };
    Some(f)
}

const WIDTH: f32 = 640.0;
/// Room per actor beyond three.
const ACTOR_ROOM: f32 = 180.0;
const MARGIN: f32 = 90.0;
const TOP: f32 = 74.0;
const ROW: f32 = 38.0;

impl Flow {
    fn width(&self) -> f32 {
        WIDTH.max(self.actors.len() as f32 * ACTOR_ROOM)
    }

    fn x(&self, actor: usize) -> f32 {
        let n = self.actors.len().max(2) as f32;
        MARGIN + actor as f32 * (self.width() - 2.0 * MARGIN) / (n - 1.0)
    }

    fn rows(&self) -> usize {
        self.steps
            .iter()
            .map(|s| {
                if matches!(s, Step::Cross { .. }) {
                    2
                } else {
                    1
                }
            })
            .sum()
    }

    /// The flow as an inline `<figure>` with an SVG ladder and its caption.
    pub(crate) fn render(&self, lang: Lang) -> String {
        let height = TOP + self.rows() as f32 * ROW + 10.0;
        let caption = self.caption.get(lang);
        let width = self.width();
        let mut o = String::with_capacity(4096);
        let _ = writeln!(
            o,
            "<figure class=\"ladder\">\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">",
            esc(caption)
        );
        // Actors and lifelines.
        for (i, name) in self.actors.iter().enumerate() {
            let x = self.x(i);
            let _ = writeln!(
                o,
                "<rect class=\"actor\" x=\"{}\" y=\"8\" width=\"150\" height=\"32\" rx=\"6\"/><text class=\"actor-name\" x=\"{x}\" y=\"29\" text-anchor=\"middle\">{}</text>",
                x - 75.0,
                esc(name.get(lang))
            );
            let _ = writeln!(
                o,
                "<line class=\"life\" x1=\"{x}\" y1=\"40\" x2=\"{x}\" y2=\"{}\"/>",
                height - 6.0
            );
        }
        let mut row = 0usize;
        for step in &self.steps {
            let y = TOP + row as f32 * ROW;
            match step {
                Step::Msg {
                    from,
                    to,
                    label,
                    hl,
                    href,
                } => {
                    self.arrow(
                        &mut o,
                        (*from, y),
                        (*to, y),
                        label,
                        *hl,
                        false,
                        href.as_deref(),
                    );
                    row += 1;
                }
                Step::Cross { a, b } => {
                    self.arrow(&mut o, (a.0, y), (a.1, y + ROW), &a.2, a.3, true, None);
                    self.arrow(&mut o, (b.0, y), (b.1, y + ROW), &b.2, b.3, true, None);
                    row += 2;
                }
                Step::Note { at, key } => {
                    let x = self.x(*at);
                    let _ = writeln!(
                        o,
                        "<text class=\"note\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                        y + 4.0,
                        esc(ui(lang, key))
                    );
                    row += 1;
                }
            }
        }
        o.push_str("</svg>\n");
        let _ = writeln!(o, "<figcaption>{}</figcaption>\n</figure>", esc(caption));
        o
    }

    /// One arrow from `(actor, y)` to `(actor, y)`, its head at the end and
    /// its label above it (near the sender when arrows cross), linked to
    /// `href` if given.
    #[allow(clippy::too_many_arguments)]
    fn arrow(
        &self,
        o: &mut String,
        from: (usize, f32),
        to: (usize, f32),
        label: &str,
        hl: bool,
        crossing: bool,
        href: Option<&str>,
    ) {
        let (x1, y1) = (self.x(from.0), from.1);
        let (x2, y2) = (self.x(to.0), to.1);
        let dir = if x2 > x1 { 1.0 } else { -1.0 };
        // Stop short of the lifeline so the head stays visible.
        let (sx, ex) = (x1 + dir * 3.0, x2 - dir * 3.0);
        let class = if hl { "msg hl" } else { "msg" };
        let _ = writeln!(o, "<g class=\"{class}\">");
        let _ = writeln!(o, "<line x1=\"{sx}\" y1=\"{y1}\" x2=\"{ex}\" y2=\"{y2}\"/>");
        // The head: a triangle pointing along the arrow.
        let (dx, dy) = (ex - sx, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / len, dy / len);
        let (bx, by) = (ex - ux * 10.0, y2 - uy * 10.0);
        let (px, py) = (-uy * 4.5, ux * 4.5);
        let _ = writeln!(
            o,
            "<polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\"/>",
            ex,
            y2,
            bx + px,
            by + py,
            bx - px,
            by - py
        );
        let (lx, ly, anchor) = if crossing {
            (
                sx + dir * 8.0,
                y1 - 5.0,
                if dir > 0.0 { "start" } else { "end" },
            )
        } else {
            ((x1 + x2) / 2.0, y1 - 6.0, "middle")
        };
        let text = format!(
            "<text x=\"{lx}\" y=\"{ly}\" text-anchor=\"{anchor}\">{}</text>",
            esc(label)
        );
        match href {
            Some(h) => {
                let _ = writeln!(o, "<a href=\"{}\">{text}</a>", esc(h));
            }
            None => {
                let _ = writeln!(o, "{text}");
            }
        }
        o.push_str("</g>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flows_that_matter_are_drawn() {
        for code in [202, 300, 301, 302, 305, 380, 401, 407, 487, 491] {
            let f = flow(code, "X").unwrap_or_else(|| panic!("{code} has no flow"));
            let svg = f.render(Lang::EN);
            assert!(
                svg.contains(&format!("{code} X")),
                "{code}: its own arrow is labelled"
            );
            assert!(
                svg.contains("class=\"msg hl\""),
                "{code}: its own arrow is highlighted"
            );
        }
        assert!(flow(404, "Not Found").is_none());
    }

    #[test]
    fn a_captured_call_gets_text_actors_links_and_room() {
        let actors: Vec<String> = (1..=5).map(|i| format!("192.0.2.{i}:5060")).collect();
        let arrows = [Arrow {
            from: 0,
            to: 4,
            label: "302 Moved <Temporarily>".into(),
            highlight: true,
            href: Some("#code-302".into()),
        }];
        let svg = capture_ladder(&actors, &arrows, "call x");
        assert!(svg.contains("192.0.2.5:5060"));
        assert!(svg.contains("<a href=\"#code-302\">"));
        assert!(svg.contains("302 Moved &lt;Temporarily&gt;"));
        assert!(
            svg.contains("viewBox=\"0 0 900 "),
            "five actors widen the drawing"
        );
    }
}
