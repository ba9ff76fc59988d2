//! The encoding of one closed window of one series: its timestamps and its columns, each
//! compressed with pco (pcodec). BENCHMARKS.md ("Codecs") has the measurements that chose pco
//! over Gorilla on this project's series.
//!
//! Layout (little-endian): a version byte, the column count, the row count (u32), then the
//! timestamps as one pco stream of i64, then each column as a tag byte and its streams. A
//! stream is a u32 length and its bytes. The tags:
//! - `ABSENT`: every row is NULL (a plain series' num and den);
//! - `WHOLE`: whole numbers, stored as i64 (counts and bytes compress several times better
//!   as integers than as floats);
//! - `FLOAT`: f64;
//! - `SPARSE`: some rows NULL: a presence bitmap, then the present values as `WHOLE` or
//!   `FLOAT`;
//! - `RATIO`: the first column is the second divided by the third on every row, bit for bit,
//!   so it is not stored (a raw hit ratio is hits / requests, and the parts compress as
//!   counts where the quotient would not compress at all).
//!
//! Refused on encoding: no rows, timestamps not strictly increasing (two values at one time
//! would make a read ambiguous) and NaN (it would compare unequal to itself in every check a
//! read makes). Everything else round-trips bit for bit, ±0 and infinities included.

/// One row of a window: a time and `N` nullable columns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Row<const N: usize> {
    pub ts: i64,
    pub v: [Option<f64>; N],
}

const VERSION: u8 = 1;
const ABSENT: u8 = 0;
const WHOLE: u8 = 1;
const FLOAT: u8 = 2;
const SPARSE: u8 = 3;
const RATIO: u8 = 4;

/// Why a window could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CodecError {
    #[error("a chunk needs at least one row")]
    Empty,
    #[error("timestamps must increase strictly; row {row} repeats or goes back")]
    NotIncreasing { row: usize },
    #[error("NaN cannot be stored (row {row}, column {column})")]
    NaN { row: usize, column: usize },
    #[error("malformed chunk: {0}")]
    Malformed(String),
}

fn malformed(what: impl std::fmt::Display) -> CodecError {
    CodecError::Malformed(what.to_string())
}

/// Whether `v` is stored exactly as an i64 (-0.0 is not: it would come back as +0.0).
fn whole(v: f64) -> bool {
    v.fract() == 0.0 && v.abs() < 9.0e15 && !(v == 0.0 && v.is_sign_negative())
}

fn push_stream(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn compress<T: pco::data_types::Number>(values: &[T]) -> Result<Vec<u8>, CodecError> {
    pco::standalone::simple_compress(values, &pco::ChunkConfig::default()).map_err(malformed)
}

/// Present values as `WHOLE` or `FLOAT`, tag first.
fn push_values(out: &mut Vec<u8>, values: &[f64]) -> Result<(), CodecError> {
    if values.iter().all(|v| whole(*v)) {
        out.push(WHOLE);
        let ints: Vec<i64> = values.iter().map(|v| *v as i64).collect();
        push_stream(out, &compress(&ints)?);
    } else {
        out.push(FLOAT);
        push_stream(out, &compress(values)?);
    }
    Ok(())
}

/// Encodes `rows` (one series, one window).
pub(crate) fn encode<const N: usize>(rows: &[Row<N>]) -> Result<Vec<u8>, CodecError> {
    if rows.is_empty() {
        return Err(CodecError::Empty);
    }
    for (i, r) in rows.iter().enumerate() {
        if i > 0 && r.ts <= rows[i - 1].ts {
            return Err(CodecError::NotIncreasing { row: i });
        }
        if let Some(column) = r.v.iter().position(|v| v.is_some_and(f64::is_nan)) {
            return Err(CodecError::NaN { row: i, column });
        }
    }
    let mut out = vec![VERSION, N as u8];
    out.extend_from_slice(&(rows.len() as u32).to_le_bytes());
    let ts: Vec<i64> = rows.iter().map(|r| r.ts).collect();
    push_stream(&mut out, &compress(&ts)?);
    for c in 0..N {
        let derived = c == 0
            && N >= 3
            && rows.iter().all(|r| match (r.v[0], r.v[1], r.v[2]) {
                (Some(v), Some(n), Some(d)) => v.to_bits() == (n / d).to_bits(),
                _ => false,
            });
        let present: Vec<f64> = rows.iter().filter_map(|r| r.v[c]).collect();
        if derived {
            out.push(RATIO);
        } else if present.is_empty() {
            out.push(ABSENT);
        } else if present.len() == rows.len() {
            push_values(&mut out, &present)?;
        } else {
            out.push(SPARSE);
            let mut bitmap = vec![0u8; rows.len().div_ceil(8)];
            for (i, r) in rows.iter().enumerate() {
                if r.v[c].is_some() {
                    bitmap[i / 8] |= 1 << (i % 8);
                }
            }
            push_stream(&mut out, &bitmap);
            push_values(&mut out, &present)?;
        }
    }
    Ok(out)
}

/// A cursor over an encoded chunk.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.0.len() < n {
            return Err(malformed("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<usize, CodecError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn stream(&mut self) -> Result<&'a [u8], CodecError> {
        let n = self.u32()?;
        self.take(n)
    }

    fn numbers<T: pco::data_types::Number>(&mut self, len: usize) -> Result<Vec<T>, CodecError> {
        let v: Vec<T> = pco::standalone::simple_decompress(self.stream()?).map_err(malformed)?;
        if v.len() != len {
            return Err(malformed(format!(
                "{} values where {len} were expected",
                v.len()
            )));
        }
        Ok(v)
    }

    /// Values written by [`push_values`].
    fn values(&mut self, len: usize) -> Result<Vec<f64>, CodecError> {
        match self.byte()? {
            WHOLE => Ok(self
                .numbers::<i64>(len)?
                .into_iter()
                .map(|v| v as f64)
                .collect()),
            FLOAT => self.numbers::<f64>(len),
            t => Err(malformed(format!("unknown value tag {t}"))),
        }
    }
}

/// Decodes a chunk written by [`encode`] with the same `N`.
pub(crate) fn decode<const N: usize>(data: &[u8]) -> Result<Vec<Row<N>>, CodecError> {
    let mut r = Reader(data);
    let (version, columns) = (r.byte()?, r.byte()?);
    if version != VERSION || columns as usize != N {
        return Err(malformed(format!(
            "version {version} with {columns} columns, expected version {VERSION} with {N}"
        )));
    }
    let len = r.u32()?;
    let mut rows: Vec<Row<N>> = r
        .numbers::<i64>(len)?
        .into_iter()
        .map(|ts| Row { ts, v: [None; N] })
        .collect();
    let mut ratio = false;
    for c in 0..N {
        match r.0.first().copied() {
            Some(RATIO) if c == 0 && N >= 3 => {
                r.byte()?;
                ratio = true;
            }
            Some(ABSENT) => {
                r.byte()?;
            }
            Some(SPARSE) => {
                r.byte()?;
                let bitmap = r.stream()?;
                if bitmap.len() != len.div_ceil(8) {
                    return Err(malformed("presence bitmap of the wrong length"));
                }
                let at: Vec<usize> = (0..len)
                    .filter(|i| bitmap[i / 8] & (1 << (i % 8)) != 0)
                    .collect();
                for (i, v) in at.iter().zip(r.values(at.len())?) {
                    rows[*i].v[c] = Some(v);
                }
            }
            Some(_) => {
                for (row, v) in rows.iter_mut().zip(r.values(len)?) {
                    row.v[c] = Some(v);
                }
            }
            None => return Err(malformed("truncated")),
        }
    }
    if ratio {
        for row in &mut rows {
            match (row.v[1], row.v[2]) {
                (Some(n), Some(d)) => row.v[0] = Some(n / d),
                _ => return Err(malformed("a ratio row without its parts")),
            }
        }
    }
    if !r.0.is_empty() {
        return Err(malformed("trailing bytes"));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(ts: i64, value: f64, num: Option<f64>, den: Option<f64>) -> Row<3> {
        Row {
            ts,
            v: [Some(value), num, den],
        }
    }

    /// Encodes and decodes, and compares bit for bit (== would let -0.0 pass for 0.0).
    fn round_trip<const N: usize>(rows: &[Row<N>]) {
        let back = decode::<N>(&encode(rows).expect("encodes")).expect("decodes");
        assert_eq!(back.len(), rows.len());
        for (a, b) in rows.iter().zip(&back) {
            assert_eq!(a.ts, b.ts);
            for c in 0..N {
                assert_eq!(
                    a.v[c].map(f64::to_bits),
                    b.v[c].map(f64::to_bits),
                    "column {c}"
                );
            }
        }
    }

    #[test]
    fn edge_values_round_trip_bit_for_bit() {
        let cases: Vec<(&str, Vec<Row<3>>)> = vec![
            ("a single sample", vec![raw(1, 0.5, None, None)]),
            (
                "±0",
                vec![raw(1, 0.0, None, None), raw(2, -0.0, None, None)],
            ),
            (
                "huge and tiny",
                vec![
                    raw(1, f64::MAX, None, None),
                    raw(2, f64::MIN_POSITIVE, None, None),
                    raw(3, 5e-324, None, None),
                    raw(4, -1e308, None, None),
                    raw(5, 9.0e15, None, None),
                    raw(6, f64::INFINITY, None, None),
                    raw(7, f64::NEG_INFINITY, None, None),
                ],
            ),
            (
                "irregular gaps",
                vec![
                    raw(1_000, 1.0, None, None),
                    raw(1_003, 2.0, None, None),
                    raw(61_000, 3.0, None, None),
                    raw(3_600_000, 4.0, None, None),
                    raw(3_600_001, 5.0, None, None),
                ],
            ),
            (
                "ratios with their parts",
                vec![
                    raw(1, 0.9, Some(90.0), Some(100.0)),
                    raw(2, 95.0 / 97.0, Some(95.0), Some(97.0)),
                ],
            ),
            (
                "a ratio whose value is not its quotient",
                vec![raw(1, 0.5, Some(1.0), Some(3.0))],
            ),
            (
                "some rows with parts, some without",
                vec![
                    raw(1, 0.5, Some(1.0), Some(2.0)),
                    raw(2, 7.0, None, None),
                    raw(3, 0.25, Some(1.0), Some(4.0)),
                ],
            ),
            (
                "a zero denominator",
                vec![raw(1, f64::INFINITY, Some(1.0), Some(0.0))],
            ),
            (
                "negative times",
                vec![raw(-5, 1.0, None, None), raw(-1, 2.0, None, None)],
            ),
        ];
        for (name, rows) in cases {
            eprintln!("{name}");
            round_trip(&rows);
        }
        round_trip::<6>(&[Row {
            ts: 300_000,
            v: [Some(300.0), Some(270.5), Some(0.8), Some(0.95), None, None],
        }]);
    }

    #[test]
    fn what_cannot_be_stored_is_refused_by_name() {
        let cases: Vec<(&str, Vec<Row<3>>, CodecError)> = vec![
            ("no rows", vec![], CodecError::Empty),
            (
                "equal timestamps",
                vec![raw(5, 1.0, None, None), raw(5, 2.0, None, None)],
                CodecError::NotIncreasing { row: 1 },
            ),
            (
                "a timestamp going back",
                vec![raw(5, 1.0, None, None), raw(4, 2.0, None, None)],
                CodecError::NotIncreasing { row: 1 },
            ),
            (
                "NaN value",
                vec![raw(1, 1.0, None, None), raw(2, f64::NAN, None, None)],
                CodecError::NaN { row: 1, column: 0 },
            ),
            (
                "NaN denominator",
                vec![raw(1, 1.0, Some(1.0), Some(f64::NAN))],
                CodecError::NaN { row: 0, column: 2 },
            ),
        ];
        for (name, rows, want) in cases {
            assert_eq!(encode(&rows).unwrap_err(), want, "{name}");
        }
    }

    #[test]
    fn damaged_chunks_are_errors_not_panics() {
        let good = encode(&[raw(1, 1.0, None, None), raw(2, 2.5, None, None)]).unwrap();
        for cut in 0..good.len() {
            assert!(decode::<3>(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode::<6>(&good).is_err(), "wrong column count");
        let mut extra = good.clone();
        extra.push(0);
        assert!(decode::<3>(&extra).is_err(), "trailing byte");
    }

    #[test]
    fn counts_and_ratios_take_a_few_bytes_per_sample() {
        // Two hours at one poll a second of a hit ratio kept with its parts.
        let rows: Vec<Row<3>> = (0..7200)
            .map(|i| {
                let den = 100.0 + (i % 37) as f64;
                let num = den - (i % 11) as f64;
                raw(
                    1_764_684_000_000 + i * 1000 + i % 3,
                    num / den,
                    Some(num),
                    Some(den),
                )
            })
            .collect();
        let bytes = encode(&rows).unwrap().len();
        assert!(bytes < 7200 * 3, "{bytes} bytes for 7,200 samples");
        round_trip(&rows);
    }
}
