//! Candidate codecs for closed windows of samples (issue 23), on this project's own series
//! shapes: bytes per sample and encode/decode speed of pco (pcodec, timestamps and values as
//! two columns) and Gorilla (the `tsz` crate: delta-of-delta timestamps and XOR values in one
//! stream). Every encoding is decoded again and compared, so a codec that loses a bit fails
//! the run rather than winning it.
//!
//! `cargo bench --bench codecs`

use std::time::Instant;

use tsz::stream::{BufferedReader, BufferedWriter};
use tsz::{DataPoint, Decode, Encode, StdDecoder, StdEncoder};

#[path = "common/noise.rs"]
mod noise;
use noise::Noise;

/// One series of a window: timestamps (ms) and values, as the store holds them.
struct Shape {
    name: &'static str,
    ts: Vec<i64>,
    values: Vec<f64>,
}

/// Timestamps every `step` ms from a fixed start, each off by up to `jitter` ms, and with a
/// gap of 30 steps after every `gap_every` samples (0: none).
fn times(n: usize, step: i64, jitter: i64, gap_every: usize, noise: &mut Noise) -> Vec<i64> {
    let mut t = 1_764_684_000_000i64;
    (0..n)
        .map(|i| {
            if gap_every > 0 && i > 0 && i % gap_every == 0 {
                t += 30 * step;
            }
            t += step;
            t + (noise.next() * jitter as f64) as i64
        })
        .collect()
}

fn shapes() -> Vec<Shape> {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let n = 7200; // two hours at one poll a second
    let mut out = Vec::new();
    // Requests and hits per interval (counts), and the hit ratio between them.
    let requests: Vec<f64> = (0..n)
        .map(|_| (100.0 + noise.next() * 40.0).round())
        .collect();
    let hits: Vec<f64> = requests
        .iter()
        .map(|r| (r * (0.88 + noise.next() * 0.04)).round())
        .collect();
    let ratio: Vec<f64> = hits.iter().zip(&requests).map(|(h, r)| h / r).collect();
    out.push(Shape {
        name: "hit ratio (f64), 1 s polls, 3 ms jitter",
        ts: times(n, 1000, 3, 0, &mut noise),
        values: ratio,
    });
    out.push(Shape {
        name: "hits per interval (counts), 1 s polls",
        ts: times(n, 1000, 3, 0, &mut noise),
        values: hits,
    });
    out.push(Shape {
        name: "requests per interval, irregular (gaps)",
        ts: times(n, 1000, 40, 600, &mut noise),
        values: requests,
    });
    // Memory in bytes: slow growth with steps and an occasional drop (a flush).
    let mut used = 512.0 * 1_048_576.0;
    let memory: Vec<f64> = (0..n)
        .map(|i| {
            used += (noise.next() * 2048.0).round();
            if i % 1800 == 1799 {
                used = 256.0 * 1_048_576.0;
            }
            used
        })
        .collect();
    out.push(Shape {
        name: "memory used (bytes), 1 s polls",
        ts: times(n, 1000, 3, 0, &mut noise),
        values: memory,
    });
    // A counter read as deltas with resets: mostly small, a burst, then zero after a restart.
    let deltas: Vec<f64> = (0..n)
        .map(|i| match i % 900 {
            0..=9 => 0.0,
            400..=420 => (5000.0 + noise.next() * 1000.0).round(),
            _ => (noise.next() * 12.0).round(),
        })
        .collect();
    out.push(Shape {
        name: "evictions per interval (bursts, resets)",
        ts: times(n, 1000, 3, 0, &mut noise),
        values: deltas,
    });
    // CloudWatch: one datapoint a minute, on the minute, for a day.
    let cw: Vec<f64> = (0..1440)
        .map(|_| (90.0 + noise.next() * 5.0 * 100.0).round() / 100.0 / 100.0)
        .collect();
    out.push(Shape {
        name: "CloudWatch hit ratio, 60 s, a day",
        ts: times(1440, 60_000, 0, 0, &mut noise),
        values: cw,
    });
    out
}

/// What a codec did with one shape.
struct Measured {
    bytes: usize,
    encode_ns: f64,
    decode_ns: f64,
}

/// The median of `runs` timings of `f`, in ns per sample.
fn per_sample(n: usize, runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

fn pco_encode(s: &Shape) -> (Vec<u8>, Vec<u8>) {
    let config = pco::ChunkConfig::default();
    let ts = pco::standalone::simple_compress(&s.ts, &config).expect("pco timestamps");
    // Counts are stored as integers where they are whole (they compress far better); other
    // values as f64.
    let whole = s.values.iter().all(|v| v.fract() == 0.0 && v.abs() < 9e15);
    let values = if whole {
        let ints: Vec<i64> = s.values.iter().map(|v| *v as i64).collect();
        pco::standalone::simple_compress(&ints, &config).expect("pco ints")
    } else {
        pco::standalone::simple_compress(&s.values, &config).expect("pco floats")
    };
    (ts, values)
}

fn pco_decode(s: &Shape, ts: &[u8], values: &[u8]) -> (Vec<i64>, Vec<f64>) {
    let t: Vec<i64> = pco::standalone::simple_decompress(ts).expect("pco timestamps");
    let whole = s.values.iter().all(|v| v.fract() == 0.0 && v.abs() < 9e15);
    let v: Vec<f64> = if whole {
        pco::standalone::simple_decompress::<i64>(values)
            .expect("pco ints")
            .into_iter()
            .map(|x| x as f64)
            .collect()
    } else {
        pco::standalone::simple_decompress(values).expect("pco floats")
    };
    (t, v)
}

fn pco_measure(s: &Shape) -> Measured {
    let (ts, values) = pco_encode(s);
    let (t, v) = pco_decode(s, &ts, &values);
    assert_eq!(t, s.ts, "pco timestamps of {}", s.name);
    assert!(
        v.iter()
            .zip(&s.values)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "pco values of {}",
        s.name
    );
    let n = s.ts.len();
    Measured {
        bytes: ts.len() + values.len(),
        encode_ns: per_sample(n, 21, || {
            std::hint::black_box(pco_encode(s));
        }),
        decode_ns: per_sample(n, 21, || {
            std::hint::black_box(pco_decode(s, &ts, &values));
        }),
    }
}

fn gorilla_encode(s: &Shape) -> Box<[u8]> {
    let start = s.ts[0] as u64;
    let mut e = StdEncoder::new(start, BufferedWriter::new());
    for (t, v) in s.ts.iter().zip(&s.values) {
        e.encode(DataPoint::new(*t as u64, *v));
    }
    e.close()
}

fn gorilla_decode(bytes: Box<[u8]>) -> Vec<(i64, f64)> {
    let mut d = StdDecoder::new(BufferedReader::new(bytes));
    let mut out = Vec::new();
    while let Ok(p) = d.next() {
        out.push((p.get_time() as i64, p.get_value()));
    }
    out
}

fn gorilla_measure(s: &Shape) -> Measured {
    let bytes = gorilla_encode(s);
    let back = gorilla_decode(bytes.clone());
    assert_eq!(back.len(), s.ts.len(), "gorilla count of {}", s.name);
    assert!(
        back.iter()
            .zip(s.ts.iter().zip(&s.values))
            .all(|((t, v), (t0, v0))| t == t0 && v.to_bits() == v0.to_bits()),
        "gorilla round trip of {}",
        s.name
    );
    let n = s.ts.len();
    Measured {
        bytes: bytes.len(),
        encode_ns: per_sample(n, 21, || {
            std::hint::black_box(gorilla_encode(s));
        }),
        decode_ns: per_sample(n, 21, || {
            std::hint::black_box(gorilla_decode(bytes.clone()));
        }),
    }
}

fn main() {
    println!("codecs on a closed window of each series shape (every sample decoded and compared)");
    println!(
        "{:<45} {:>8} {:>12} {:>12} | {:>12} {:>12} {:>12}",
        "series", "samples", "pco B/smp", "pco enc/dec", "gorilla B/s", "gor. enc", "gor. dec"
    );
    let (mut pco_bytes, mut gor_bytes, mut samples) = (0usize, 0usize, 0usize);
    for s in shapes() {
        let n = s.ts.len();
        let p = pco_measure(&s);
        let g = gorilla_measure(&s);
        pco_bytes += p.bytes;
        gor_bytes += g.bytes;
        samples += n;
        println!(
            "{:<45} {:>8} {:>12.2} {:>5.0}/{:<5.0}ns | {:>12.2} {:>10.0}ns {:>10.0}ns",
            s.name,
            n,
            p.bytes as f64 / n as f64,
            p.encode_ns,
            p.decode_ns,
            g.bytes as f64 / n as f64,
            g.encode_ns,
            g.decode_ns,
        );
    }
    println!(
        "all shapes: pco {:.2} bytes/sample, gorilla {:.2} bytes/sample ({samples} samples)",
        pco_bytes as f64 / samples as f64,
        gor_bytes as f64 / samples as f64
    );
}
