//! Recognising SIP by its content, not by its port (RFC 3261 §7.1, §7.2: a
//! Request-Line ends with the SIP-Version; a Status-Line starts with it).

/// How far the first line is looked for.
const FIRST_LINE_MAX: usize = 1024;

/// True if `bytes` start with a SIP Request-Line (`METHOD SP Request-URI SP
/// SIP/2.0`) or Status-Line (`SIP/2.0 SP 3DIGIT`). Cheap: it reads at most
/// the first line. Used on UDP payloads and on the start of TCP streams.
pub fn looks_like_sip(bytes: &[u8]) -> bool {
    const V: &[u8] = b"SIP/2.0";
    if bytes.len() >= 12 && bytes[..7].eq_ignore_ascii_case(V) {
        return bytes[7] == b' ' && bytes[8..11].iter().all(u8::is_ascii_digit);
    }
    let window = &bytes[..bytes.len().min(FIRST_LINE_MAX)];
    let Some(eol) = memchr::memchr(b'\n', window) else {
        return false;
    };
    let line = window[..eol].strip_suffix(b"\r").unwrap_or(&window[..eol]);
    let method_ok = line
        .iter()
        .take_while(|&&c| c != b' ')
        .all(|&c| sipkit_message::is_token(c));
    method_ok
        && line.len() > V.len() + 4
        && line.first().is_some_and(u8::is_ascii_alphabetic)
        && line[line.len() - V.len()..].eq_ignore_ascii_case(V)
        && line[line.len() - V.len() - 1] == b' '
}

#[cfg(test)]
mod tests {
    use super::looks_like_sip;

    #[test]
    fn start_lines() {
        assert!(looks_like_sip(b"INVITE sip:bob@b SIP/2.0\r\nVia: x\r\n"));
        assert!(looks_like_sip(b"SIP/2.0 302 Moved Temporarily\r\n"));
        assert!(looks_like_sip(b"NOTIFY sip:a@b SIP/2.0\n"));
        assert!(!looks_like_sip(b"GET / HTTP/1.1\r\n"));
        assert!(!looks_like_sip(b"SIP/2.0 3x2 Moved\r\n"));
        assert!(!looks_like_sip(b"\x00\x01\x02"));
        assert!(!looks_like_sip(b"INVITE sip:bob@b SIP/2.0"));
    }
}
