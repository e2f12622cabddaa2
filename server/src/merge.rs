//! Backend-independent sync logic: applying pushed changes to a stored document with
//! validation, and cutting the pull page. Storage backends only do I/O around these
//! pure functions, inside their transaction, so SQLite and PostgreSQL behave the same.

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::{Automerge, Change, ChangeHash, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use posyandu_records::doc::{read_household, DocProblem, HouseholdRead, ProblemKind, SCHEMA_VERSION};
use posyandu_records::model::Conflict;
use posyandu_records::wire::{DocChanges, DocId, MAX_PAGE_BYTES};
use uuid::Uuid;

use crate::error::{truncate, ApiError};

/// Largest compacted household document the relay keeps: a phone must always be able to
/// take a document in one snapshot page (`MAX_PAGE_BYTES`). Years of monthly visits of
/// a large household are ~200 KB.
pub const MAX_DOC_BYTES: usize = 1 << 20;
/// Most operations a household document may hold (automerge's Lamport counter, which
/// every change carries as `max_op`): merging costs memory per operation (~0.5 KB), so
/// this bounds what loading one document costs. Ten years of monthly visits of a large
/// household are ~25 000 operations.
pub const MAX_DOC_OPS: u64 = 100_000;
/// Dates a push may write this many days past the relay's today (phone clocks drift;
/// Indonesia spans UTC+7..+9).
pub const FUTURE_DAYS: i64 = 2;

/// For how long after an epoch change (a restore) phones may re-push other devices'
/// changes: every phone that syncs within it heals the relay.
pub const HEALING_SECS: i64 = 30 * 86_400;

/// Whether the relay is healing after a restore (`changed_at`: when the epoch last
/// changed, Unix seconds; `None` for never).
pub fn healing(changed_at: Option<i64>, now: i64) -> bool {
    changed_at.is_some_and(|t| now >= t && now - t < HEALING_SECS)
}

/// The relay's date in WIB (UTC+7), the earliest of Indonesia's three time zones: a
/// date is "in the future" only past [`FUTURE_DAYS`] after it.
pub fn relay_today() -> time::Date {
    let wib = time::UtcOffset::from_hms(7, 0, 0).expect("valid offset");
    time::OffsetDateTime::now_utc().to_offset(wib).date()
}

/// A change accepted into the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange {
    pub hash: [u8; 32],
    pub data: Vec<u8>,
}

/// The result of applying a push to one document.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    /// The new compacted document; `None` when nothing was new (store nothing).
    pub snapshot: Option<Vec<u8>>,
    /// Changes not yet known, in causal order (dependencies first), to append to the log.
    pub new_changes: Vec<NewChange>,
    /// The merged household as the shared reader reads it, with its open conflicts (set with
    /// `snapshot`): what the read model ([`crate::read_model`]) is derived from, in the
    /// push's transaction.
    pub read: Option<(HouseholdRead, Vec<Conflict>)>,
    /// The merged Posyandu document (issue 12) as the shared reader reads it, when the
    /// pushed document is the device's Posyandu document (then `read` is `None`): its
    /// projection for the Puskesmas side (`read_posyandu`).
    pub posyandu: Option<posyandu_records::posyandu::Posyandu>,
}

/// Who pushes, and what the relay knows to check authorship (read by the storage in
/// the push transaction).
#[derive(Debug, Clone)]
pub struct PushAuth {
    /// The device's Posyandu: every pushed document must belong to it.
    pub posyandu_id: String,
    /// The kader the device token belongs to.
    pub kader_id: String,
    /// The automerge actor of the store bound to this token (`None`: an app version that
    /// does not declare its actor).
    pub own_actor: Option<Vec<u8>>,
    /// Actors bound to the other device tokens of this Posyandu, with their kader.
    pub other_actors: HashMap<Vec<u8>, String>,
    /// The kader registered for this Posyandu.
    pub kaders: HashSet<String>,
    /// The kader koordinator of this Posyandu (`admin koordinator`): the only kader who
    /// may verify SPM requests and hand them to the desa.
    pub koordinators: HashSet<String>,
    /// The relay was restored from a backup recently (`admin new-epoch`): phones re-push
    /// every change they hold, other devices' included, to heal it.
    pub healing: bool,
    /// The relay's date (WIB), for "not in the future" checks of pushed dates.
    pub today: time::Date,
}

impl PushAuth {
    /// Authorisation for tests and tools: the kader is the only one, no binding.
    pub fn simple(posyandu_id: &str, kader_id: &str) -> PushAuth {
        PushAuth {
            posyandu_id: posyandu_id.to_string(),
            kader_id: kader_id.to_string(),
            own_actor: None,
            other_actors: HashMap::new(),
            kaders: [kader_id.to_string()].into_iter().collect(),
            koordinators: HashSet::new(),
            healing: false,
            today: time::OffsetDateTime::now_utc().date(),
        }
    }
}

/// Applies `changes` (raw automerge changes pushed for document `doc`) to the stored
/// snapshot `existing` (`None` for a new document) and validates the result for the
/// pushing device (`auth`). Refused, with nothing stored:
///
/// - a change that does not parse, or is too large (`bad_change`, `too_large`);
/// - missing dependencies after applying (`missing_dependencies`);
/// - a root `id` other than the document id (`doc_id_mismatch`), a root `posyandu_id`
///   other than the device's Posyandu (`forbidden_scope`), an unknown `schema`
///   (`unsupported_schema`); concurrent values of these keys must all pass;
/// - a change whose author is not the device's kader (or, while the relay heals after a
///   restore, a kader of the Posyandu), or written under another device's actor;
/// - a document that the shared reader finds an invalid value in that was not there
///   before the push (`bad_change` with the path; values newer app versions may write
///   are kept, see docs/schema.md); a visit whose `kader_id` is not its author's, or a
///   date written beyond the relay's today;
/// - a resulting document larger than [`MAX_DOC_BYTES`].
///
/// Changes already in the document (or twice in the push) are not new: replaying a
/// push yields no new changes and no snapshot. Never panics: a panic inside automerge
/// on hostile input is reported as `bad_change`.
pub fn apply_push(
    doc: DocId,
    auth: &PushAuth,
    existing: Option<&[u8]>,
    changes: &[Vec<u8>],
) -> Result<Merged, ApiError> {
    let doc_uuid = Uuid::from_bytes(doc);
    let label = doc_uuid.to_string();
    match catch_unwind(AssertUnwindSafe(|| apply_inner(doc_uuid, &label, auth, existing, changes))) {
        Ok(r) => r,
        Err(_) => Err(ApiError::BadChange { doc: label, path: None, reason: "perubahan tidak dapat diproses".into() }),
    }
}

fn apply_inner(
    doc_uuid: Uuid,
    label: &str,
    auth: &PushAuth,
    existing: Option<&[u8]>,
    changes: &[Vec<u8>],
) -> Result<Merged, ApiError> {
    let bad = |path: Option<String>, reason: String| ApiError::BadChange {
        doc: label.to_string(),
        path,
        reason: truncate(&reason, 200),
    };
    let mut am = match existing {
        Some(bytes) => Automerge::load(bytes)
            .map_err(|e| ApiError::internal(format!("stored document {label} unreadable: {e}")))?,
        None => Automerge::new(),
    };
    let mut seen: HashSet<ChangeHash> = HashSet::new();
    let mut new: Vec<Change> = Vec::new();
    for raw in changes {
        let change = posyandu_records::wire::parse_change(raw.clone()).map_err(|e| match e {
            posyandu_records::wire::WireError::TooLarge => ApiError::TooLarge,
            other => bad(None, other.to_string()),
        })?;
        let hash = change.hash();
        if !seen.insert(hash) || am.get_change_by_hash(&hash).is_some() {
            continue;
        }
        new.push(change);
    }
    if new.is_empty() {
        return Ok(Merged::default());
    }
    // The Posyandu document (issue 12): the device's own is recognised by its id; a new
    // document with the form of a Posyandu document id that is not the device's own is
    // another Posyandu's (nobody may take its id first).
    let posyandu_doc = posyandu_records::doc::posyandu_doc_id(&auth.posyandu_id) == doc_uuid;
    if !posyandu_doc && existing.is_none() && posyandu_records::doc::is_posyandu_doc_id_form(doc_uuid) {
        return Err(ApiError::ForbiddenScope(label.to_string()));
    }
    let genesis = if posyandu_doc {
        Some(posyandu_records::doc::genesis_hash(&auth.posyandu_id).map_err(|e| ApiError::internal(e.to_string()))?)
    } else {
        None
    };
    if new.iter().any(|c| c.max_op() > MAX_DOC_OPS) {
        return Err(bad(None, format!("dokumen menjadi terlalu besar (> {MAX_DOC_OPS} operasi)")));
    }
    // Authorship is decided per change now, and reported after the value checks (a
    // bad value is the more useful reason to give).
    // The genesis change of the Posyandu document is the same on every device (written
    // under an actor derived from the Posyandu id, without author): any device may push it.
    let authors: HashMap<ChangeHash, Result<String, String>> = new
        .iter()
        .map(|c| {
            let author = if Some(c.hash()) == genesis { Ok(String::new()) } else { author_of(c, auth) };
            (c.hash(), author)
        })
        .collect();
    // Changes the relay wrote for a bidan (`crate::bidan::writer`): the only ones that
    // may record bidan-side referral statuses.
    let bidan_changes: HashSet<ChangeHash> = new
        .iter()
        .filter(|c| crate::bidan::writer::is_relay_bidan_change(c.actor_id().to_bytes(), c.message()))
        .map(Change::hash)
        .collect();
    // Changes the relay wrote for a desa (`crate::desa`): the only ones that may record
    // desa-side SPM statuses.
    let desa_changes: HashSet<ChangeHash> = new
        .iter()
        .filter(|c| crate::relay_writer::DESA.is_change(c.actor_id().to_bytes(), c.message()))
        .map(Change::hash)
        .collect();
    am.apply_changes(new.clone()).map_err(|e| bad(None, e.to_string()))?;
    let missing = am.get_missing_deps(&[]);
    if !missing.is_empty() {
        return Err(ApiError::MissingDependencies { doc: label.to_string(), missing: missing.len() });
    }
    let ids = root_values(&am, "id");
    if ids.is_empty()
        || ids.iter().any(|v| !matches!(v, ScalarValue::Str(s) if Uuid::parse_str(s).ok() == Some(doc_uuid)))
    {
        return Err(ApiError::DocIdMismatch(label.to_string()));
    }
    let scopes = root_values(&am, "posyandu_id");
    if scopes.is_empty() || scopes.iter().any(|v| !matches!(v, ScalarValue::Str(s) if s.as_str() == auth.posyandu_id)) {
        return Err(ApiError::ForbiddenScope(label.to_string()));
    }
    let schemas = root_values(&am, "schema");
    let schema_ok = |v: &ScalarValue| match v {
        ScalarValue::Uint(n) => (1..=SCHEMA_VERSION).contains(n),
        ScalarValue::Int(n) => *n >= 1 && (*n as u64) <= SCHEMA_VERSION,
        _ => false,
    };
    if schemas.is_empty() || !schemas.iter().all(schema_ok) {
        return Err(ApiError::UnsupportedSchema(label.to_string()));
    }
    if let Some(genesis) = genesis {
        return crate::posyandu::merged_posyandu(am, existing, genesis, authors, new, label);
    }
    let read = check_values(&am, existing).map_err(|(path, why)| bad(path, why))?;
    let mut authors_ok: HashMap<ChangeHash, String> = HashMap::with_capacity(authors.len());
    for (hash, author) in authors {
        authors_ok.insert(hash, author.map_err(|why| bad(None, why))?);
    }
    check_authorship(&am, &read, auth, &authors_ok).map_err(|(path, why)| bad(path, why))?;
    check_referral_steps(&am, &authors_ok, &bidan_changes).map_err(|(path, why)| bad(path, why))?;
    check_spm_steps(&am, &authors_ok, &desa_changes, &auth.koordinators).map_err(|(path, why)| bad(path, why))?;
    let snapshot = am.save();
    if snapshot.len() > MAX_DOC_BYTES {
        return Err(bad(None, format!("dokumen menjadi terlalu besar (> {} KB)", MAX_DOC_BYTES >> 10)));
    }
    let new_changes =
        causal_order(new).into_iter().map(|c| NewChange { hash: c.hash().0, data: c.raw_bytes().to_vec() }).collect();
    let conflicts = posyandu_records::doc::conflicts_of(&am);
    Ok(Merged { snapshot: Some(snapshot), new_changes, read: Some((read, conflicts)), posyandu: None })
}

/// The kader a pushed change is by, or why it may not be pushed by this device.
fn author_of(c: &Change, auth: &PushAuth) -> Result<String, String> {
    let actor = c.actor_id().to_bytes();
    let message = c.message().filter(|m| !m.is_empty());
    let claims = |kader: &str| -> Result<String, String> {
        match message {
            None => Ok(kader.to_string()),
            Some(m) if m == kader => Ok(kader.to_string()),
            Some(_) => Err("penulis perubahan bukan kader pemilik perangkat ini".into()),
        }
    };
    if auth.own_actor.as_deref() == Some(actor) {
        return claims(&auth.kader_id);
    }
    if let Some(kader) = auth.other_actors.get(actor) {
        if !auth.healing {
            return Err("perubahan ini ditulis oleh perangkat lain".into());
        }
        return claims(kader);
    }
    match message {
        // An app version that does not declare its actor: its own changes.
        None if auth.own_actor.is_none() => Ok(auth.kader_id.clone()),
        Some(m) if m == auth.kader_id && auth.own_actor.is_none() => Ok(auth.kader_id.clone()),
        // After a restore, a phone re-pushes what other phones wrote (their bindings may
        // be newer than the backup).
        Some(m) if auth.healing && auth.kaders.contains(m) => Ok(m.to_string()),
        // ... and what the relay wrote for a bidan (its actor and author are the relay's).
        Some(m) if auth.healing && crate::bidan::writer::is_relay_bidan_change(actor, Some(m)) => Ok(m.to_string()),
        // ... and what the relay wrote for a Puskesmas (the Posyandu document's schedule, sasaran).
        Some(m) if auth.healing && crate::relay_writer::PUSKESMAS.is_change(actor, Some(m)) => Ok(m.to_string()),
        // ... and for a desa.
        Some(m) if auth.healing && crate::relay_writer::DESA.is_change(actor, Some(m)) => Ok(m.to_string()),
        _ if auth.own_actor.is_some() => Err("perubahan ini tidak ditulis oleh HP ini".into()),
        _ => Err("penulis perubahan bukan kader pemilik perangkat ini".into()),
    }
}

/// Checks the merged document with the shared reader (the same one every phone and
/// the Puskesmas side use): an invalid value the push introduced is refused with its
/// path; values that were already there (stored before this check existed) are left
/// for the readers to quarantine; values only a newer app version knows are kept.
fn check_values(am: &Automerge, existing: Option<&[u8]>) -> Result<HouseholdRead, (Option<String>, String)> {
    let read = read_household(am).map_err(|e| (None, e.to_string()))?;
    let invalid: Vec<&DocProblem> = read.problems.iter().filter(|p| p.kind == ProblemKind::Invalid).collect();
    if !invalid.is_empty() {
        let before: HashSet<(String, String)> = existing
            .and_then(|b| Automerge::load(b).ok())
            .and_then(|d| read_household(&d).ok())
            .map(|r| r.problems.into_iter().map(|p| (p.path, p.reason)).collect())
            .unwrap_or_default();
        if let Some(p) = invalid.iter().find(|p| !before.contains(&(p.path.clone(), p.reason.clone()))) {
            return Err((Some(p.path.clone()), p.reason.clone()));
        }
    }
    Ok(read)
}

/// The relay-only checks: a visit's `kader_id` is the author of the change that wrote
/// it and its Posyandu the device's, and dates the push wrote are not beyond the
/// relay's today (+ [`FUTURE_DAYS`]).
fn check_authorship(
    am: &Automerge,
    read: &HouseholdRead,
    auth: &PushAuth,
    authors: &HashMap<ChangeHash, String>,
) -> Result<(), (Option<String>, String)> {
    let latest = auth.today + time::Duration::days(FUTURE_DAYS);
    let written_now = |obj: &automerge::ObjId, key: &str| -> Option<String> {
        let (_, id) = am.get(obj, key).ok()??;
        let hash = am.hash_for_opid(&id)?;
        authors.get(&hash).cloned()
    };
    if let Some((Value::Object(ObjType::Map), visits)) = am.get(ROOT, "visits").ok().flatten() {
        for v in &read.household.visits {
            let Some((Value::Object(ObjType::Map), obj)) = am.get(&visits, v.id.to_string()).ok().flatten() else {
                continue;
            };
            if let Some(author) = written_now(&obj, "kader_id") {
                if v.kader_id != author {
                    return Err((Some(format!("visits/{}/kader_id", v.id)), "kader kunjungan bukan penulisnya".into()));
                }
            }
            if written_now(&obj, "posyandu_id").is_some() && v.posyandu_id != auth.posyandu_id {
                let path = format!("visits/{}/posyandu_id", v.id);
                return Err((Some(path), "Posyandu kunjungan bukan Posyandu perangkat".into()));
            }
            if written_now(&obj, "date").is_some() && v.date > latest {
                return Err((Some(format!("visits/{}/date", v.id)), "tanggal kunjungan di masa depan".into()));
            }
        }
    }
    if let Some((Value::Object(ObjType::Map), members)) = am.get(ROOT, "members").ok().flatten() {
        for m in &read.household.members {
            let Some((Value::Object(ObjType::Map), obj)) = am.get(&members, m.id.to_string()).ok().flatten() else {
                continue;
            };
            if written_now(&obj, "birth_date").is_some() && m.birth_date > latest {
                return Err((Some(format!("members/{}/birth_date", m.id)), "tanggal lahir di masa depan".into()));
            }
        }
    }
    Ok(())
}

/// Referral steps (`referrals/<id>/steps/<step>`, issue 12): a step written by a
/// device (any change not written by the relay for a bidan) must be a kader-side status
/// (`dirujuk`) recorded by the change's author with role `kader`, and a device may not
/// touch a step of the bidan's. A kader cannot close a referral on the bidan's behalf.
fn check_referral_steps(
    am: &Automerge,
    authors: &HashMap<ChangeHash, String>,
    bidan_changes: &HashSet<ChangeHash>,
) -> Result<(), (Option<String>, String)> {
    use posyandu_records::rules::referral_lifecycle::{ReferralStatus, StepRole};
    const BIDAN_ONLY: &str = "status rujukan ini hanya dapat dicatat oleh bidan; kader hanya dapat membuat rujukan";
    // The device author of the value(s) at `obj/key` written by this push, if any.
    let device_author = |obj: &automerge::ObjId, key: &str| -> Option<String> {
        am.get_all(obj, key).ok()?.into_iter().find_map(|(_, id)| {
            let hash = am.hash_for_opid(&id)?;
            if bidan_changes.contains(&hash) {
                return None;
            }
            authors.get(&hash).cloned()
        })
    };
    let texts = |obj: &automerge::ObjId, key: &str| str_values(am, obj, key);
    for (coll, _) in am.get_all(ROOT, "referrals").unwrap_or_default().into_iter().filter_map(|(v, id)| match v {
        Value::Object(ObjType::Map) => Some((id, ())),
        _ => None,
    }) {
        for rkey in am.keys(&coll).collect::<Vec<_>>() {
            let Some((Value::Object(ObjType::Map), referral)) = am.get(&coll, rkey.as_str()).ok().flatten() else {
                continue;
            };
            let Some((Value::Object(ObjType::Map), steps)) = am.get(&referral, "steps").ok().flatten() else {
                continue;
            };
            for skey in am.keys(&steps).collect::<Vec<_>>() {
                let Some((Value::Object(ObjType::Map), step)) = am.get(&steps, skey.as_str()).ok().flatten() else {
                    continue;
                };
                let path = format!("referrals/{rkey}/steps/{skey}");
                let written: Vec<String> = am.keys(&step).filter_map(|k| device_author(&step, &k)).collect();
                let Some(author) = written.first() else { continue };
                let statuses = texts(&step, "status");
                let kader_side = |s: &String| ReferralStatus::parse(s).is_some_and(|st| st.role() == StepRole::Kader);
                if statuses.is_empty() || !statuses.iter().all(kader_side) {
                    return Err((Some(format!("{path}/status")), BIDAN_ONLY.into()));
                }
                if texts(&step, "role").iter().any(|r| r != "kader") {
                    return Err((Some(format!("{path}/role")), BIDAN_ONLY.into()));
                }
                if texts(&step, "by").iter().any(|b| b != author) {
                    return Err((Some(format!("{path}/by")), "pencatat langkah rujukan bukan penulisnya".into()));
                }
            }
        }
    }
    Ok(())
}

/// Every value at `obj/key` (concurrent ones too) as text; a value that is not a string
/// reads as empty, so a check on it fails.
fn str_values(am: &Automerge, obj: &automerge::ObjId, key: &str) -> Vec<String> {
    am.get_all(obj, key)
        .unwrap_or_default()
        .into_iter()
        .map(|(v, _)| match v {
            Value::Scalar(s) => match s.as_ref() {
                ScalarValue::Str(t) => t.to_string(),
                _ => String::new(),
            },
            Value::Object(_) => String::new(),
        })
        .collect()
}

/// SPM request steps (`spm_steps/<request>/<step>`, issue 13). A step written by a
/// device (any change not written by the relay for a desa) must be a phone-side status
/// recorded by the change's author with the status's role: `dicatat` by any kader,
/// `diverifikasi` / `diteruskan_ke_desa` only by a koordinator of the Posyandu. Desa
/// steps (`diteruskan_ke_opd`, `selesai`, `ditolak`) come only from the relay's desa
/// writer, which writes nothing else.
fn check_spm_steps(
    am: &Automerge,
    authors: &HashMap<ChangeHash, String>,
    desa_changes: &HashSet<ChangeHash>,
    koordinators: &HashSet<String>,
) -> Result<(), (Option<String>, String)> {
    use posyandu_records::rules::spm_request::{SpmRole, SpmStatus};
    const DESA_ONLY: &str = "status permintaan SPM ini hanya dapat dicatat oleh desa/kelurahan";
    const KOORDINATOR_ONLY: &str = "hanya kader koordinator Posyandu yang dapat memverifikasi dan meneruskan ke desa";
    let texts = |obj: &automerge::ObjId, key: &str| str_values(am, obj, key);
    for coll in am.get_all(ROOT, "spm_steps").unwrap_or_default().into_iter().filter_map(|(v, id)| match v {
        Value::Object(ObjType::Map) => Some(id),
        _ => None,
    }) {
        for skey in am.keys(&coll).collect::<Vec<_>>() {
            let Some((Value::Object(ObjType::Map), step)) = am.get(&coll, skey.as_str()).ok().flatten() else {
                continue;
            };
            let path = format!("spm_steps/{skey}");
            // Who wrote values of this step in this push: a device's kader, or the desa.
            let mut device_author: Option<String> = None;
            let mut by_desa = false;
            for k in am.keys(&step).collect::<Vec<_>>() {
                for (_, id) in am.get_all(&step, k.as_str()).unwrap_or_default() {
                    let Some(hash) = am.hash_for_opid(&id) else { continue };
                    if desa_changes.contains(&hash) {
                        by_desa = true;
                    } else if let Some(a) = authors.get(&hash) {
                        device_author.get_or_insert_with(|| a.clone());
                    }
                }
            }
            let statuses = texts(&step, "status");
            let roles = texts(&step, "role");
            if by_desa {
                let desa_side = |s: &String| SpmStatus::parse(s).is_some_and(|st| st.role() == SpmRole::Desa);
                if device_author.is_some() || statuses.is_empty() || !statuses.iter().all(desa_side) {
                    return Err((Some(format!("{path}/status")), "langkah desa tidak sah".into()));
                }
                continue;
            }
            let Some(author) = device_author else { continue };
            for s in &statuses {
                match SpmStatus::parse(s).map(SpmStatus::role) {
                    Some(SpmRole::Kader) => {}
                    Some(SpmRole::Koordinator) if koordinators.contains(&author) => {}
                    Some(SpmRole::Koordinator) => {
                        return Err((Some(format!("{path}/status")), KOORDINATOR_ONLY.into()))
                    }
                    // A desa-side or unknown status from a phone.
                    _ => return Err((Some(format!("{path}/status")), DESA_ONLY.into())),
                }
            }
            if statuses.is_empty() {
                return Err((Some(format!("{path}/status")), "wajib diisi".into()));
            }
            if roles.iter().any(|r| r == "desa") {
                return Err((Some(format!("{path}/role")), DESA_ONLY.into()));
            }
            if texts(&step, "by").iter().any(|b| *b != author) {
                return Err((Some(format!("{path}/by")), "pencatat langkah permintaan SPM bukan penulisnya".into()));
            }
        }
    }
    Ok(())
}

/// All concurrent scalar values of a root key (objects count as invalid values).
pub(crate) fn root_values(am: &Automerge, key: &str) -> Vec<ScalarValue> {
    am.get_all(ROOT, key)
        .unwrap_or_default()
        .into_iter()
        .map(|(v, _)| match v {
            Value::Scalar(s) => s.into_owned(),
            Value::Object(_) => ScalarValue::Null,
        })
        .collect()
}

/// Orders changes so each comes after those of its dependencies that are in the set
/// (a device may push them in any order; pulling devices apply page by page).
pub(crate) fn causal_order(mut pending: Vec<Change>) -> Vec<Change> {
    let in_set: HashSet<ChangeHash> = pending.iter().map(Change::hash).collect();
    let mut done: HashSet<ChangeHash> = HashSet::new();
    let mut out = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for c in pending {
            if c.deps().iter().all(|d| !in_set.contains(d) || done.contains(d)) {
                done.insert(c.hash());
                out.push(c);
            } else {
                rest.push(c);
            }
        }
        if rest.len() == before {
            // Cannot happen for an applied set (no cycles); keep them rather than loop.
            out.extend(rest);
            break;
        }
        pending = rest;
    }
    out
}

/// Cuts the pull page: log entries offered in `seq` order are taken until the next one
/// would exceed the byte budget (at least one entry per page, so a change larger than
/// the budget still goes through). Consecutive entries of one document share a
/// [`DocChanges`].
#[derive(Debug)]
pub struct PageBuilder {
    limit: usize,
    used: usize,
    pull: Vec<DocChanges>,
    last_seq: Option<u64>,
    more: bool,
}

impl PageBuilder {
    pub fn new(page_bytes: u32) -> Self {
        PageBuilder {
            limit: page_bytes.min(MAX_PAGE_BYTES) as usize,
            used: 0,
            pull: Vec::new(),
            last_seq: None,
            more: false,
        }
    }

    /// Offers the next entry; `false` when the page is full (the entry is not taken, stop
    /// reading: `more` is set).
    pub fn offer(&mut self, seq: u64, doc: DocId, data: Vec<u8>) -> bool {
        if self.last_seq.is_some() && self.used + data.len() > self.limit {
            self.more = true;
            return false;
        }
        self.used += data.len();
        self.last_seq = Some(seq);
        match self.pull.last_mut() {
            Some(last) if last.doc == doc => last.changes.push(data),
            _ => self.pull.push(DocChanges { doc, changes: vec![data] }),
        }
        true
    }

    /// `(pull, cursor, more)`. The cursor is the last entry taken when more remain;
    /// otherwise the scope's last sequence number read in the same transaction, so the
    /// device does not rescan entries that were skipped (its own).
    pub fn finish(self, scope_last_seq: u64) -> (Vec<DocChanges>, u64, bool) {
        let cursor = match (self.more, self.last_seq) {
            (true, Some(seq)) => seq,
            _ => scope_last_seq,
        };
        (self.pull, cursor, self.more)
    }
}

#[cfg(test)]
#[path = "merge_referral_tests.rs"]
mod referral_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ActorId;
    use posyandu_records::doc::HouseholdDoc;
    use posyandu_records::model::HouseholdPatch;

    fn created(posyandu: &str) -> (Uuid, HouseholdDoc, Vec<u8>) {
        let id = Uuid::new_v4();
        let mut d = HouseholdDoc::create(id, posyandu, &ActorId::random()).unwrap();
        let address = posyandu_records::model::Address {
            rt: "001".into(),
            rw: "002".into(),
            kode_wilayah: "3201010001".into(),
            ..Default::default()
        };
        let patch = HouseholdPatch { address: Some(address), ..Default::default() };
        d.patch_household(&patch, time::macros::date!(2024 - 01 - 01)).unwrap();
        let c = d.commit("K-1", 1_700_000_000).unwrap();
        (id, d, c.raw_bytes().to_vec())
    }

    #[test]
    fn new_doc_then_replay_then_edit() {
        let (id, mut d, c1) = created("P-1");
        let m = apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), None, std::slice::from_ref(&c1)).unwrap();
        assert_eq!(m.new_changes.len(), 1);
        let snap = m.snapshot.unwrap();
        let again = apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), Some(&snap), std::slice::from_ref(&c1))
            .unwrap();
        assert!(again.snapshot.is_none() && again.new_changes.is_empty());
        let today = time::macros::date!(2024 - 01 - 01);
        d.patch_household(&HouseholdPatch { kk_number: Some("3201010101260001".into()), ..Default::default() }, today)
            .unwrap();
        let c2 = d.commit("K-1", 1_700_000_100).unwrap().raw_bytes().to_vec();
        // Pushed out of order and with a duplicate: stored once, in causal order.
        let m =
            apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), None, &[c2.clone(), c1.clone(), c2.clone()])
                .unwrap();
        assert_eq!(m.new_changes.iter().map(|c| c.data.clone()).collect::<Vec<_>>(), vec![c1, c2]);
    }

    #[test]
    fn rejects_bad_input() {
        let (id, _, c1) = created("P-1");
        let err =
            apply_push(*id.as_bytes(), &PushAuth::simple("P-2", "K-1"), None, std::slice::from_ref(&c1)).unwrap_err();
        assert_eq!(err.code(), "forbidden_scope");
        let err = apply_push([9; 16], &PushAuth::simple("P-1", "K-1"), None, std::slice::from_ref(&c1)).unwrap_err();
        assert_eq!(err.code(), "doc_id_mismatch");
        let err = apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), None, &[vec![1, 2, 3]]).unwrap_err();
        assert_eq!(err.code(), "bad_change");
    }

    #[test]
    fn page_builder_cuts_and_groups() {
        let mut p = PageBuilder::new(10);
        assert!(p.offer(1, [1; 16], vec![0; 4]));
        assert!(p.offer(2, [1; 16], vec![0; 4]));
        assert!(!p.offer(3, [2; 16], vec![0; 4]));
        let (pull, cursor, more) = p.finish(9);
        assert_eq!((pull.len(), pull[0].changes.len(), cursor, more), (1, 2, 2, true));
        let mut p = PageBuilder::new(0);
        assert!(p.offer(5, [1; 16], vec![0; 40]));
        assert_eq!(p.finish(7).1, 7);
    }
}
