//! Durable storage of the relay, behind a backend-independent trait.
//!
//! A backend must give the same observable behaviour as [`sqlite::SqliteStorage`]
//! (the contract is written on each method); the sync decisions themselves live in
//! [`crate::merge`] so a backend only does I/O inside one transaction per call.

pub mod group_commit;
pub mod postgres;
pub mod satusehat;
pub mod seal_pass;
pub mod sqlite;

use std::future::Future;
use std::pin::Pin;

use posyandu_records::wire::{DocId, DocsResponse, SnapshotPage, SnapshotRequest, SyncRequest, SyncResponse};

use crate::auth::{DevicePrincipal, TokenLookup};
use crate::error::ApiError;

pub use postgres::PgStorage;
pub use satusehat::SatusehatConfig;
pub use sqlite::SqliteStorage;

/// A boxed `Send` future, so the trait can be used as `Arc<dyn Storage>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Request limits enforced before any storage work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Uncompressed bytes of changes accepted in one push (the client sends ~512 KiB
    /// batches); compressed changes count inflated.
    pub max_push_bytes: usize,
    /// Changes accepted in one push.
    pub max_push_changes: usize,
    /// Automerge operations accepted in one push (what merging costs in memory).
    pub max_push_ops: usize,
    /// Requests a device token may make per minute (sync, snapshot, docs), with a burst
    /// of as many; more get 429 with `Retry-After` (see [`crate::quota`]).
    pub max_requests_per_minute: u32,
    /// Households (documents) a device token may create per day (WIB); a push that
    /// would create more gets 429 and stores nothing.
    pub max_new_docs_per_day: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_push_bytes: 8 << 20,
            max_push_changes: 20_000,
            max_push_ops: 60_000,
            max_requests_per_minute: 120,
            max_new_docs_per_day: 1_000,
        }
    }
}

/// How many new documents a push may create (the device's daily allowance left), and
/// the error to give when it would create more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewDocQuota {
    pub allowed: u64,
    pub limit: u32,
    pub retry_after_secs: u64,
}

impl NewDocQuota {
    /// No limit (tools and tests that call the storage directly).
    pub const UNLIMITED: NewDocQuota = NewDocQuota { allowed: u64::MAX, limit: u32::MAX, retry_after_secs: 0 };

    pub fn exceeded(&self) -> ApiError {
        ApiError::NewDocsQuota { limit: self.limit, retry_after_secs: self.retry_after_secs }
    }
}

/// A refused push, kept for the operator (`posyandu-relay admin refusals`): ids, the
/// machine code, the path inside the document and the reason, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Unix seconds.
    pub at: i64,
    pub token_id: i64,
    pub device_id: String,
    pub posyandu_id: String,
    pub doc_id: Option<String>,
    pub code: String,
    pub path: Option<String>,
    pub reason: String,
}

/// What a sync did, for the response and the metrics.
#[derive(Debug, Clone)]
pub struct SyncOutcome {
    pub response: SyncResponse,
    /// Pushed changes that were new to the relay (appended to the log).
    pub new_changes: u64,
    /// Documents the push created.
    pub new_docs: u64,
}

/// A merged household document as the relay stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDoc {
    pub doc: posyandu_records::wire::DocId,
    pub scope: String,
    /// The scope's log position of the last change merged into this document.
    pub updated_seq: u64,
    /// Compacted automerge bytes (`HouseholdDoc::load_readonly`).
    pub snapshot: Vec<u8>,
}

/// A household as the Puskesmas side reads it (see [`crate::read_model`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ReadRow {
    pub doc: DocId,
    /// The scope's log position of the last change merged into this document.
    pub updated_seq: u64,
    pub content: ReadContent,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReadContent {
    /// The read-model row: a [`crate::read_model::HouseholdView`] derived by the rules
    /// `stamp` names (possibly older rules while a rebuild runs).
    View { stamp: String, body: Vec<u8> },
    /// No row this relay can read yet (a database from before the read model, or of
    /// another row layout, while the rebuild runs): the compacted document.
    Snapshot(Vec<u8>),
}

impl ReadRow {
    /// A row from the columns both backends select (`d.id`, `d.updated_seq`,
    /// `r.stamp`, `r.body`, and `d.snapshot` only where no readable row exists), opened
    /// with the at-rest keys (a blob that does not open is passed on as damaged).
    pub fn from_columns(
        keys: &crate::at_rest::AtRest,
        scope: &str,
        doc: &[u8],
        seq: i64,
        stamp: Option<String>,
        body: Option<Vec<u8>>,
        snapshot: Option<Vec<u8>>,
    ) -> Result<ReadRow, ApiError> {
        use crate::at_rest::Blob;
        let content = match (stamp, body, snapshot) {
            (Some(stamp), Some(body), _) if stamp.starts_with(crate::read_model::format_prefix()) => {
                ReadContent::View { stamp, body: keys.open_or_keep(scope, doc, Blob::ReadRow, body) }
            }
            (_, _, Some(snapshot)) => ReadContent::Snapshot(keys.open_or_keep(scope, doc, Blob::Snapshot, snapshot)),
            _ => return Err(ApiError::internal("read row without body or snapshot")),
        };
        let doc = DocId::try_from(doc).map_err(|_| ApiError::internal("stored document id is not 16 bytes"))?;
        Ok(ReadRow { doc, updated_seq: seq.max(0) as u64, content })
    }
}

pub trait Storage: Send + Sync + 'static {
    /// The principal a token hash stands for, revoked or not; `None` if unknown.
    fn lookup_token(&self, hash: [u8; 32]) -> BoxFuture<'_, Result<Option<TokenLookup>, ApiError>>;

    /// Stores a device's push and returns its pull page.
    ///
    /// Contract (in ONE write transaction; on any error nothing is stored):
    /// for each pushed document, refuse it (`forbidden_scope`) if it is stored under
    /// another scope; otherwise [`crate::merge::apply_push`] it onto the stored snapshot,
    /// append the new changes to the scope's log with gap-free increasing `seq`
    /// (ignoring hashes already logged), store the new snapshot; commit. Then, read in
    /// one read transaction: log entries of the scope with `seq > req.cursor` not pushed
    /// by this device, in `seq` order, cut with [`crate::merge::PageBuilder`].
    /// `stored` is the number of pushed changes (new or already known).
    fn sync(
        &self,
        device: DevicePrincipal,
        req: SyncRequest,
        quota: NewDocQuota,
    ) -> BoxFuture<'_, Result<SyncOutcome, ApiError>>;

    /// A page of the scope's compacted documents ordered by id after `req.after`, at
    /// least one per page, up to `req.page_bytes` (capped at `MAX_PAGE_BYTES`). The
    /// `cursor` is the scope's last log `seq` read in the same read transaction as the
    /// documents, so every change up to it is in the snapshots.
    fn snapshot(&self, scope: String, req: SnapshotRequest) -> BoxFuture<'_, Result<SnapshotPage, ApiError>>;

    /// Merged documents of one Posyandu changed after `after_seq` (the scope's log
    /// position that last changed them), ordered by that position, at most `limit`.
    /// With `after_seq = 0` this walks every document of the scope. This is the one
    /// read the Puskesmas side (export, reports, FHIR) is built on: a document whose
    /// visit arrives late gets a newer `updated_seq`, so incremental pulls see it again.
    fn docs_after(
        &self,
        scope: String,
        after_seq: u64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<StoredDoc>, ApiError>>;

    /// Read-model rows of one Posyandu changed after `after_seq`, ordered by that
    /// position (then id), at most `limit`: like [`Storage::docs_after`] but the
    /// derived row instead of the document (the snapshot only where no row of the
    /// layout `crate::read_model::format_prefix` exists). Read in one read transaction.
    /// Every Puskesmas endpoint reads through this and [`Storage::read_member`].
    fn read_after(&self, scope: String, after_seq: u64, limit: usize) -> BoxFuture<'_, Result<Vec<ReadRow>, ApiError>>;

    /// The read-model row of the household holding member `member` in `scope`.
    fn read_member(&self, scope: String, member: uuid::Uuid) -> BoxFuture<'_, Result<Option<ReadRow>, ApiError>>;

    /// One rebuild step: re-derives, in one write transaction, up to `batch` documents
    /// whose row is missing or stamped other than [`crate::read_model::stamp`] (a row is
    /// never replaced by one of an older `updated_seq`). Documents whose snapshot
    /// cannot be read are skipped (logged by id) and not counted as remaining.
    fn rebuild_read_model(&self, batch: usize) -> BoxFuture<'_, Result<crate::read_model::RebuildStep, ApiError>>;

    /// Marks the read-model rows of `scope` (every scope if `None`) for re-derivation
    /// by [`Storage::rebuild_read_model`] whatever their stamp (a row found damaged by
    /// `admin check-read-model`), forgets the documents the rebuild skipped as unreadable
    /// (tried again), and deletes rows whose document is gone. Readers use the snapshot
    /// until the row is rebuilt. Returns the rows marked.
    fn invalidate_read_model(&self, scope: Option<String>) -> BoxFuture<'_, Result<u64, ApiError>>;

    /// The projection of Posyandu `scope`'s document (schedule, roster, area, sasaran;
    /// issue 12), as of its last push; `None` when no device or Puskesmas has written it.
    fn read_posyandu(
        &self,
        scope: String,
    ) -> BoxFuture<'_, Result<Option<posyandu_records::posyandu::Posyandu>, ApiError>>;

    /// Binds a device token to the automerge actor of the store that first uses it (sent
    /// in the `x-posyandu-actor` header). Another actor for a bound token is refused with
    /// `device_bound`: two stores on one token would never receive each other's changes
    /// (the relay does not echo a device's own changes).
    fn bind_actor(&self, token_id: i64, actor: Vec<u8>) -> BoxFuture<'_, Result<(), ApiError>>;

    /// How many kader of Posyandu `scope` are registered there (*kader ada* of the F2) at
    /// `at` (Unix seconds): distinct kader with a device token of `scope` created before
    /// `at` and not revoked before it. Read from the registry (`token`), one query.
    fn kader_enrolled(&self, scope: String, at: i64) -> BoxFuture<'_, Result<u32, ApiError>>;

    /// Whether the token `token_id` exists and is not revoked.
    fn token_valid(&self, token_id: i64) -> BoxFuture<'_, Result<bool, ApiError>>;

    /// Keeps a refused push for the operator (bounded: the oldest rows go).
    fn record_refusal(&self, refusal: Refusal) -> BoxFuture<'_, Result<(), ApiError>>;

    /// The compacted documents of the scope among `ids` (absent ones left out), read in
    /// one read transaction with the epoch.
    fn fetch_docs(&self, scope: String, ids: Vec<DocId>) -> BoxFuture<'_, Result<DocsResponse, ApiError>>;

    /// The relay's epoch (changed by `admin new-epoch` after restoring a backup).
    fn epoch(&self) -> BoxFuture<'_, Result<u64, ApiError>>;

    /// Checks the database answers.
    fn health(&self) -> BoxFuture<'_, Result<(), ApiError>>;

    /// The SATUSEHAT identifiers of a Posyandu (`posyandu-relay admin satusehat`), if set.
    fn satusehat_config(&self, posyandu: String) -> BoxFuture<'_, Result<Option<SatusehatConfig>, ApiError>>;

    /// Stores IHS numbers `(NIK, IHS)` of a Posyandu's members in ONE transaction
    /// (replacing earlier ones of the same NIK). The NIK is stored only as
    /// [`crate::at_rest::AtRest::nik_index`], the IHS number sealed. Returns the rows.
    fn put_ihs(&self, posyandu: String, rows: Vec<(String, String)>) -> BoxFuture<'_, Result<u64, ApiError>>;

    /// The IHS numbers known for these NIKs of a Posyandu (NIK → IHS; unknown ones absent).
    fn ihs_numbers(
        &self,
        posyandu: String,
        niks: Vec<String>,
    ) -> BoxFuture<'_, Result<std::collections::HashMap<String, String>, ApiError>>;
}
