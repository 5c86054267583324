//! A minimal session description (RFC 4566) for offers and answers. sipkit's
//! UA sends no media: the description only makes peers that insist on one
//! accept the call.

use std::net::IpAddr;

/// The RTP port announced for a SIP port (even, never used).
pub fn rtp_port(sip_port: u16) -> u16 {
    40000 + (sip_port % 10000) / 2 * 2
}

/// An audio session with PCMU and PCMA at `ip`:`port`, version `version`.
pub fn session(ip: IpAddr, port: u16, version: u32) -> Vec<u8> {
    let (net, ip) = match ip {
        IpAddr::V4(v) => ("IP4", v.to_string()),
        IpAddr::V6(v) => ("IP6", v.to_string()),
    };
    format!(
        "v=0\r\no=sipkit 1 {version} IN {net} {ip}\r\ns=sipkit\r\nc=IN {net} {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n"
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_lines() {
        let s = String::from_utf8(session("127.0.0.1".parse().unwrap(), 40010, 1)).unwrap();
        assert!(s.starts_with("v=0\r\no=sipkit 1 1 IN IP4 127.0.0.1\r\n"));
        assert!(s.contains("m=audio 40010 RTP/AVP 0 8\r\n"));
        assert_eq!(rtp_port(5061) % 2, 0);
    }
}
