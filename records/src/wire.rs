//! The sync wire format, shared by the client and the relay (see
//! `docs/sync-protocol.md`).
//!
//! A body is one version byte followed by the zstd-compressed postcard encoding of a
//! message. Decoding is bounded: a body larger than [`MAX_BODY_BYTES`] or that
//! inflates beyond [`MAX_DECODED_BYTES`] is refused before it is parsed.

use serde::{Deserialize, Serialize};

/// The wire format version this build speaks.
pub const PROTOCOL_VERSION: u8 = 1;
/// Oldest wire format version this build still accepts.
pub const MIN_PROTOCOL_VERSION: u8 = 1;
/// Largest compressed body accepted, bytes.
pub const MAX_BODY_BYTES: usize = 4 << 20;
/// Largest decompressed message accepted, bytes.
pub const MAX_DECODED_BYTES: usize = 32 << 20;
/// Changes a client pushes in one request, raw bytes (more goes in further requests).
pub const PUSH_BATCH_BYTES: usize = 512 << 10;
/// Default page of changes or snapshots the relay returns, raw bytes.
pub const DEFAULT_PAGE_BYTES: u32 = 512 << 10;
/// The most a client may ask for in one page.
pub const MAX_PAGE_BYTES: u32 = 4 << 20;
/// Response header naming the relay's newest protocol version.
pub const VERSION_HEADER: &str = "x-posyandu-protocol";

pub const SYNC_PATH: &str = "/v1/sync";
pub const SNAPSHOT_PATH: &str = "/v1/snapshot";
/// Compacted copies of named documents (a phone repairing or re-basing a household).
pub const DOCS_PATH: &str = "/v1/docs";
/// Request header naming the automerge actor (hex) of the store that calls: the relay
/// binds a device token to the first store that uses it and refuses any other.
pub const ACTOR_HEADER: &str = "x-posyandu-actor";

/// Largest automerge change accepted, uncompressed bytes. A visit is well under 2 KB and
/// a new household with members a few KB; this bound keeps every change far below what
/// a phone takes in one page ([`MAX_DECODED_BYTES`]).
pub const MAX_CHANGE_BYTES: usize = 256 << 10;
/// Most operations in one change (a household created with 30 members is ~600).
pub const MAX_CHANGE_OPS: usize = 20_000;
/// Documents asked for in one [`DocsRequest`].
pub const MAX_DOCS_PER_REQUEST: usize = 64;

pub type DocId = [u8; 16];

/// Changes of one document, in causal order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocChanges {
    pub doc: DocId,
    pub changes: Vec<Vec<u8>>,
}

/// Device → relay: the device's unacknowledged changes and where it is in the
/// scope's change log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Position in the scope's change log the device has applied up to.
    pub cursor: u64,
    pub push: Vec<DocChanges>,
    /// Raw bytes of changes the device wants back at most in this response.
    pub page_bytes: u32,
}

/// Relay → device, sent only after the pushed changes are durably stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// Number of pushed changes now stored (new or already known).
    pub stored: u32,
    /// The cursor to send next time (covers everything in `pull`).
    pub cursor: u64,
    /// Changes from other devices after the request's cursor.
    pub pull: Vec<DocChanges>,
    /// More changes wait after `cursor`: ask again.
    pub more: bool,
    /// The relay database's epoch (random, non-zero). It changes only when an operator
    /// restores a backup (`posyandu-relay admin new-epoch`): cursors of another epoch are
    /// meaningless, so a client seeing a new one re-pulls from 0 and re-pushes all it holds.
    pub epoch: u64,
}

/// Device → relay: a page of compacted documents for a first sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRequest {
    /// Continue after this document (from the previous page), or start.
    pub after: Option<DocId>,
    pub page_bytes: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotDoc {
    pub doc: DocId,
    pub snapshot: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotPage {
    pub docs: Vec<SnapshotDoc>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<DocId>,
    /// Change-log position all documents of this page include; start pulling from
    /// the smallest cursor of all pages.
    pub cursor: u64,
    /// Documents in the scope and their total snapshot size (for progress).
    pub total_docs: u32,
    pub total_bytes: u64,
    /// The relay's epoch (see [`SyncResponse::epoch`]); pages of different epochs must
    /// not be combined.
    pub epoch: u64,
}

/// Device → relay: the relay's compacted copies of these documents of the device's
/// Posyandu (to repair a document with missing dependencies, or to re-base one whose
/// push was refused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocsRequest {
    pub docs: Vec<DocId>,
}

/// Relay → device: the documents it has (absent ones are left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocsResponse {
    pub docs: Vec<SnapshotDoc>,
    pub epoch: u64,
}

/// JSON body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine code, e.g. `unauthorized`, `forbidden_scope`, `bad_body`.
    pub code: String,
    /// Human-readable message (Bahasa Indonesia).
    pub message: String,
    /// The document a refusal is about (`bad_change`, `forbidden_scope`, …), as a UUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// The path inside that document, e.g. `visits/<id>/entries/<member>/measurements/weight_kg`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("pesan kosong")]
    Empty,
    #[error("versi protokol {found} tidak didukung (didukung {min}–{max})")]
    Version { found: u8, min: u8, max: u8 },
    #[error("pesan terlalu besar")]
    TooLarge,
    #[error("pesan rusak: {0}")]
    Corrupt(String),
}

/// The 4 magic bytes that start every automerge chunk.
const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHUNK_CHANGE: u8 = 1;
const CHUNK_COMPRESSED: u8 = 2;

/// Parses one automerge change chunk, bounded, and verifies its checksum (automerge's
/// own parser does not: a bit-flipped change would otherwise be accepted).
///
/// A change may come DEFLATE-compressed (chunk type 2, as other automerge clients send
/// changes over 256 bytes). automerge would inflate it without a limit (a 700-byte
/// body can ask for gigabytes), so it is inflated here through a reader that stops at
/// [`MAX_CHANGE_BYTES`] and re-framed as a plain change; the returned change's
/// `raw_bytes()` are always the uncompressed form, which is what is stored and counted.
/// A change larger than [`MAX_CHANGE_BYTES`] or with more than [`MAX_CHANGE_OPS`]
/// operations is refused ([`WireError::TooLarge`]).
pub fn parse_change(raw: Vec<u8>) -> Result<automerge::Change, WireError> {
    let raw = match chunk_header(&raw)? {
        (CHUNK_COMPRESSED, header_len) => inflate_change(&raw, header_len)?,
        (CHUNK_CHANGE, _) => raw,
        _ => return Err(WireError::Corrupt("bukan perubahan automerge".into())),
    };
    if raw.len() > MAX_CHANGE_BYTES {
        return Err(WireError::TooLarge);
    }
    let checksum: Option<[u8; 4]> = raw.get(4..8).and_then(|c| c.try_into().ok());
    let change = automerge::Change::from_bytes(raw).map_err(|e| WireError::Corrupt(e.to_string()))?;
    // The chunk header is 4 magic bytes, then the first 4 bytes of the change hash.
    if checksum != Some(change.hash().0[..4].try_into().expect("4 bytes")) {
        return Err(WireError::Corrupt("checksum tidak cocok".into()));
    }
    if change.len() > MAX_CHANGE_OPS {
        return Err(WireError::TooLarge);
    }
    Ok(change)
}

/// `(chunk type, header length)` of an automerge chunk; the declared data length must
/// be exactly what follows the header.
fn chunk_header(raw: &[u8]) -> Result<(u8, usize), WireError> {
    let corrupt = || WireError::Corrupt("kepala perubahan rusak".into());
    if raw.len() < 10 || raw[..4] != CHUNK_MAGIC {
        return Err(corrupt());
    }
    let chunk_type = raw[8];
    let (len, n) = read_uleb(&raw[9..]).ok_or_else(corrupt)?;
    let header_len = 9 + n;
    if (raw.len() - header_len) as u64 != len {
        return Err(corrupt());
    }
    Ok((chunk_type, header_len))
}

fn read_uleb(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, byte) in b.iter().take(10).enumerate() {
        v |= u64::from(byte & 0x7f).checked_shl(7 * i as u32)?;
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn write_uleb(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Inflates a compressed change chunk into an uncompressed one (same checksum: it is
/// computed over the uncompressed data), reading at most [`MAX_CHANGE_BYTES`].
fn inflate_change(raw: &[u8], header_len: usize) -> Result<Vec<u8>, WireError> {
    use std::io::Read;
    let mut data = Vec::new();
    flate2::read::DeflateDecoder::new(&raw[header_len..])
        .take(MAX_CHANGE_BYTES as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|_| WireError::Corrupt("perubahan terkompresi rusak".into()))?;
    if data.len() > MAX_CHANGE_BYTES {
        return Err(WireError::TooLarge);
    }
    let mut out = Vec::with_capacity(data.len() + 20);
    out.extend_from_slice(&raw[..8]);
    out.push(CHUNK_CHANGE);
    write_uleb(data.len() as u64, &mut out);
    out.extend_from_slice(&data);
    Ok(out)
}

/// Encodes a message as version byte + zstd(postcard), at the level [`zstd_level`] picks.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    let raw = postcard::to_stdvec(msg).expect("wire messages always serialize");
    let mut out = vec![PROTOCOL_VERSION];
    compress_into(&raw, zstd_level(raw.len()), &mut out);
    out
}

/// Like [`encode`] at a given zstd level (1–19), for measuring the trade-off.
pub fn encode_level<T: Serialize>(msg: &T, level: i32) -> Vec<u8> {
    let raw = postcard::to_stdvec(msg).expect("wire messages always serialize");
    let mut out = vec![PROTOCOL_VERSION];
    compress_into(&raw, level, &mut out);
    out
}

/// Bodies up to this size are compressed hard; larger ones fast.
pub const SMALL_BODY_BYTES: usize = 64 << 10;

/// The zstd level for a body of `len` raw bytes. A day's sync is a few KB, paid for by
/// the kader's data quota, and level 9 costs well under a millisecond there (a 30-visit
/// pull: 3,650 B at level 9 vs 3,853 B at level 1). A catch-up page of hundreds of KB
/// is CPU on the relay instead: level 1 is ~5× faster there and no larger on this data
/// (a 24-kader page: 82.8 KB in 1.0 ms at level 1 vs 85.0 KB in 6.0 ms at level 9).
pub fn zstd_level(len: usize) -> i32 {
    if len <= SMALL_BODY_BYTES {
        9
    } else {
        1
    }
}

/// zstd-compresses `raw` onto `out` with a per-thread reusable context: a fresh
/// context per call costs an allocation and a table reset (profiled on the relay at
/// ~5% of a sync's CPU). Same bytes as `zstd::bulk::compress`.
fn compress_into(raw: &[u8], level: i32, out: &mut Vec<u8>) {
    thread_local! {
        static CCTX: std::cell::RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
            const { std::cell::RefCell::new(None) };
    }
    CCTX.with(|c| {
        let mut c = c.borrow_mut();
        if c.as_ref().map(|(l, _)| *l) != Some(level) {
            *c = zstd::bulk::Compressor::new(level).ok().map(|z| (level, z));
        }
        match c.as_mut() {
            Some((_, z)) => out.extend(z.compress(raw).expect("in-memory compression does not fail")),
            None => out.extend(zstd::bulk::compress(raw, level).expect("in-memory compression does not fail")),
        }
    })
}

/// Decodes a body, checking version and size bounds.
pub fn decode<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, WireError> {
    let (&version, payload) = body.split_first().ok_or(WireError::Empty)?;
    if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&version) {
        return Err(WireError::Version { found: version, min: MIN_PROTOCOL_VERSION, max: PROTOCOL_VERSION });
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(WireError::TooLarge);
    }
    // The frame header declares the content size; refuse big ones before inflating.
    match zstd::zstd_safe::get_frame_content_size(payload) {
        Ok(Some(n)) if n as usize > MAX_DECODED_BYTES => return Err(WireError::TooLarge),
        Ok(_) => {}
        Err(_) => return Err(WireError::Corrupt("bukan zstd".into())),
    }
    let raw = zstd::bulk::decompress(payload, MAX_DECODED_BYTES).map_err(|e| WireError::Corrupt(e.to_string()))?;
    postcard::from_bytes(&raw).map_err(|e| WireError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_bounds() {
        let req = SyncRequest {
            cursor: 42,
            push: vec![DocChanges { doc: [7; 16], changes: vec![vec![1, 2, 3]] }],
            page_bytes: 1000,
        };
        let body = encode(&req);
        assert_eq!(body[0], PROTOCOL_VERSION);
        assert_eq!(decode::<SyncRequest>(&body).unwrap(), req);
        assert_eq!(decode::<SyncRequest>(&[]), Err(WireError::Empty));
        let mut old = body.clone();
        old[0] = 0;
        assert!(matches!(decode::<SyncRequest>(&old), Err(WireError::Version { found: 0, .. })));
        assert!(matches!(decode::<SyncRequest>(&body[..body.len() / 2]), Err(WireError::Corrupt(_))));
        // A "zip bomb": 64 MiB of zeros compresses to a few KB but must not be inflated.
        let bomb = [vec![PROTOCOL_VERSION], zstd::bulk::compress(&vec![0u8; 64 << 20], 3).unwrap()].concat();
        assert_eq!(decode::<SyncRequest>(&bomb), Err(WireError::TooLarge));
    }

    #[test]
    fn changes_with_a_bad_checksum_are_refused() {
        use automerge::transaction::Transactable;
        let mut doc = automerge::AutoCommit::new();
        doc.put(automerge::ROOT, "k", "v").unwrap();
        doc.commit();
        let raw = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
        assert!(parse_change(raw.clone()).is_ok());
        let mut flipped = raw.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x01;
        assert!(parse_change(flipped).is_err(), "a flipped bit is caught");
        assert!(parse_change(raw[..raw.len() / 2].to_vec()).is_err());
        assert!(parse_change(Vec::new()).is_err());
    }

    fn change_with_note(len: usize) -> automerge::Change {
        use automerge::transaction::Transactable;
        let mut doc = automerge::AutoCommit::new();
        doc.put(automerge::ROOT, "note", "catatan ".repeat(len / 8 + 1)).unwrap();
        doc.commit();
        doc.get_last_local_change().unwrap().clone()
    }

    #[test]
    fn compressed_changes_are_inflated_bounded() {
        let mut change = change_with_note(4000);
        let raw = change.raw_bytes().to_vec();
        let compressed = change.bytes().to_vec();
        assert_eq!(compressed[8], CHUNK_COMPRESSED, "automerge compresses a change this size");
        assert!(compressed.len() < raw.len() / 4);
        let parsed = parse_change(compressed).unwrap();
        assert_eq!(parsed.hash(), change.hash());
        assert_eq!(parsed.raw_bytes(), &raw[..], "stored uncompressed");

        // A bomb: a few KB that would inflate to 64 MiB.
        let mut bomb = raw[..8].to_vec();
        bomb.push(CHUNK_COMPRESSED);
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut enc, &vec![0u8; 64 << 20]).unwrap();
        let body = enc.finish().unwrap();
        write_uleb(body.len() as u64, &mut bomb);
        bomb.extend(body);
        assert!(bomb.len() < 100_000);
        assert_eq!(parse_change(bomb).unwrap_err(), WireError::TooLarge);

        // Too large uncompressed, compressed or not.
        let mut big = change_with_note(MAX_CHANGE_BYTES + 10);
        assert_eq!(parse_change(big.raw_bytes().to_vec()).unwrap_err(), WireError::TooLarge);
        assert_eq!(parse_change(big.bytes().to_vec()).unwrap_err(), WireError::TooLarge);
        // A declared length that is not the chunk's.
        let mut lying = raw.clone();
        lying.push(0);
        assert!(matches!(parse_change(lying), Err(WireError::Corrupt(_))));
    }
}
