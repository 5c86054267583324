use sipkit_capture::synth::{self, Frame, Link, Msg, Wire};
use sipkit_capture::{Call, CaptureReader, Config, Pipeline, ReadError, Summary};

/// Everything one analysis produced.
pub struct Run {
    pub calls: Vec<Call>,
    pub summary: Summary,
    pub error: Option<ReadError>,
}

impl Run {
    pub fn call(&self, prefix: &str) -> &Call {
        self.calls
            .iter()
            .find(|c| c.call_id.starts_with(prefix))
            .unwrap_or_else(|| panic!("no call {prefix}: {:?}", self.ids()))
    }
    pub fn ids(&self) -> Vec<&str> {
        self.calls.iter().map(|c| c.call_id.as_str()).collect()
    }
    pub fn finding_ids(&self, prefix: &str) -> Vec<&'static str> {
        self.call(prefix)
            .findings
            .iter()
            .map(|f| f.id.as_str())
            .collect()
    }
}

/// Analyses capture bytes fed in chunks of `chunk` bytes.
pub fn analyze_chunked(file: &[u8], chunk: usize) -> Run {
    analyze_with(file, chunk, Config::default())
}

/// Analyses capture bytes fed in chunks of `chunk` bytes, with `config`.
pub fn analyze_with(file: &[u8], chunk: usize, config: Config) -> Run {
    let mut r = CaptureReader::new();
    let mut p = Pipeline::new(config);
    let mut calls = Vec::new();
    let mut error = None;
    'outer: for part in file.chunks(chunk.max(1)) {
        r.push(part);
        loop {
            match r.next_record() {
                Ok(Some(rec)) => p.frame(&rec),
                Ok(None) => break,
                Err(e) => {
                    error = Some(e);
                    break 'outer;
                }
            }
            while let Some(c) = p.poll_call() {
                calls.push(c);
            }
        }
    }
    if error.is_none() {
        error = r.finish().err();
    }
    p.finish();
    while let Some(c) = p.poll_call() {
        calls.push(c);
    }
    Run {
        calls,
        summary: p.summary().clone(),
        error,
    }
}

pub fn analyze(file: &[u8]) -> Run {
    analyze_chunked(file, 64 * 1024)
}

/// [`analyze`] with the full receiver check of every message (`--validate`).
pub fn analyze_validated(file: &[u8]) -> Run {
    analyze_with(
        file,
        64 * 1024,
        Config {
            validate: true,
            ..Config::default()
        },
    )
}

/// The redirect and the blind transfer, one after the other.
pub fn both_flows() -> Vec<Msg> {
    let mut m = synth::scenario::redirect(1, 1_700_000_000_000_000_000, 300);
    m.extend(synth::scenario::transfer(
        2,
        1_700_000_100_000_000_000,
        "200 OK",
    ));
    m
}

pub fn udp_pcap(link: Link, msgs: &[Msg]) -> Vec<u8> {
    let lt = link.linktype();
    let frames = Wire::new(link).all(msgs);
    synth::pcap(lt, false, false, &frames)
}

pub fn frames(link: Link, msgs: &[Msg]) -> Vec<Frame> {
    Wire::new(link).all(msgs)
}

/// Requests per method and responses per code, as one comparable string.
pub fn counts(s: &Summary) -> String {
    format!(
        "{:?} {:?} retrans={}",
        s.requests, s.responses, s.retransmissions
    )
}
