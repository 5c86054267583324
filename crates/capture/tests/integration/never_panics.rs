//! Bad input never panics: random bytes, and real captures with random
//! bytes flipped, cut or inserted (a bounded stand-in for the fuzzers).

use proptest::prelude::*;

use crate::util::*;
use sipkit_capture::synth::Link;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = analyze_chunked(&data, 97);
    }

    #[test]
    fn mutated_captures(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..40), cut in any::<usize>(), link in 0usize..4) {
        let link = [Link::Ethernet(vec![7]), Link::Sll2, Link::Raw, Link::Null][link].clone();
        let mut file = udp_pcap(link, &both_flows());
        for (at, b) in flips {
            let n = file.len();
            file[at % n] = b;
        }
        let n = file.len();
        file.truncate(cut % (n + 1));
        let _ = analyze_chunked(&file, 512);
    }
}
