//! `referrals/<uuid>`: referrals with a lifecycle (issue 12). Layout, reader and writer;
//! the rules (statuses, who may write which, current status) are in
//! `crate::rules::referral_lifecycle`. docs/schema.md, "`referrals/<uuid>`".
//!
//! A document created before this collection existed gets it at its first referral.
//! Two phones may then create the root map concurrently (automerge keeps both objects
//! as a conflict of the root key): the reader takes the union of every concurrent
//! `referrals` map, and the step writer finds a referral in any of them, so no
//! referral is hidden by such a race.

use automerge::{transaction::Transactable, ObjId, ObjType, ReadDoc, Value, ROOT};
use serde_json::{Map, Value as Json};
use std::collections::HashSet;
use uuid::Uuid;

use super::{
    invalid, known, read_json, read_value, record, to_object, write_map, wrong_type, DocProblem, Field, HouseholdDoc,
    Rec, OPTIONAL, REQUIRED,
};
use crate::error::{Error, Result};
use crate::rules::referral_lifecycle::{
    ReasonSource, ReferralRecord, ReferralStatus, ReferralStep, StepRole, MAX_REASONS, MAX_REASON_CODE,
};
use crate::validation::{Bounds, MAX_NAME, MAX_TEXT};

pub(super) const REFERRALS: &str = "referrals";
const STEPS: &str = "steps";
const REASONS: &str = "reasons";
/// Most steps a referral holds (a lifecycle has five statuses; corrections add a few).
pub const MAX_STEPS: usize = 30;
/// A step's time: Unix seconds between 2000 and 2100.
const STEP_AT: Bounds = Bounds { field: "Waktu", min: 946_684_800.0, max: 4_102_444_800.0 };

impl HouseholdDoc {
    /// Adds a referral with its first step(s). Creates the `referrals` collection in a
    /// document written before it existed.
    pub fn add_referral(&mut self, r: &ReferralRecord) -> Result<()> {
        if self.referral_obj(r.id).is_some() {
            return Err(Error::Document(format!("rujukan {} sudah ada", r.id)));
        }
        let coll = match self.doc.get(ROOT, REFERRALS)? {
            Some((Value::Object(ObjType::Map), id)) => id,
            _ => self.doc.put_object(ROOT, REFERRALS, ObjType::Map)?,
        };
        let obj = self.doc.put_object(&coll, r.id.to_string(), ObjType::Map)?;
        let mut fields = to_object(r)?;
        fields.remove("id");
        fields.remove(STEPS);
        write_map(&mut self.doc, &obj, &fields)?;
        let steps = self.doc.put_object(&obj, STEPS, ObjType::Map)?;
        for s in &r.steps {
            write_step(self, &steps, s)?;
        }
        Ok(())
    }

    /// Appends a step to a referral (steps are never edited).
    pub fn add_referral_step(&mut self, referral_id: Uuid, step: &ReferralStep) -> Result<()> {
        let obj = self
            .referral_obj(referral_id)
            .ok_or_else(|| Error::NotFound { kind: "Rujukan", id: referral_id.to_string() })?;
        let steps = match self.doc.get(&obj, STEPS)? {
            Some((Value::Object(ObjType::Map), id)) => id,
            _ => return Err(Error::Document("rujukan tanpa langkah".into())),
        };
        if self.doc.get(&steps, step.id.to_string())?.is_some() {
            return Err(Error::Document(format!("langkah {} sudah ada", step.id)));
        }
        write_step(self, &steps, step)
    }

    /// The referral's map, in any of the concurrent `referrals` collections.
    fn referral_obj(&self, id: Uuid) -> Option<ObjId> {
        let key = id.to_string();
        self.doc.get_all(ROOT, REFERRALS).ok()?.into_iter().find_map(|(v, coll)| match v {
            Value::Object(ObjType::Map) => match self.doc.get(&coll, key.as_str()) {
                Ok(Some((Value::Object(ObjType::Map), obj))) => Some(obj),
                _ => None,
            },
            _ => None,
        })
    }
}

fn write_step(d: &mut HouseholdDoc, steps: &ObjId, s: &ReferralStep) -> Result<()> {
    let obj = d.doc.put_object(steps, s.id.to_string(), ObjType::Map)?;
    let mut fields = to_object(s)?;
    fields.remove("id");
    write_map(&mut d.doc, &obj, &fields)
}

/// Reads every referral (the union of concurrent `referrals` maps); a referral or a
/// step that fails its checks is left out and listed like any record.
pub(super) fn read_referrals<D: ReadDoc>(
    doc: &D,
    members: Option<&HashSet<Uuid>>,
    problems: &mut Vec<DocProblem>,
) -> Vec<ReferralRecord> {
    let mut all: Map<String, Json> = Map::new();
    match doc.get_all(ROOT, REFERRALS) {
        Ok(values) => {
            for (v, id) in values {
                match v {
                    Value::Object(ObjType::Map | ObjType::Table) => {
                        if let Json::Object(m) = read_json(doc, &id, true) {
                            for (k, v) in m {
                                all.entry(k).or_insert(v);
                            }
                        }
                    }
                    Value::Object(_) => {
                        problems.push(invalid(REFERRALS.into(), wrong_type("peta", &read_value(doc, &id)).1));
                    }
                    Value::Scalar(s) => {
                        problems.push(invalid(REFERRALS.into(), wrong_type("peta", &super::marked_scalar(&s)).1));
                    }
                }
            }
        }
        Err(_) => problems.push(invalid(REFERRALS.into(), "tidak dapat dibaca")),
    }
    let mut out = Vec::new();
    for (key, value) in all {
        let Some((id, path, mut obj)) = record(REFERRALS, key, value, problems) else { continue };
        let mut rec = Rec::new(problems);
        rec.field(&mut obj, &path, "member_id", REQUIRED, Field::Uuid);
        rec.field(&mut obj, &path, "date", REQUIRED, Field::Date);
        rec.field(&mut obj, &path, "note", OPTIONAL, Field::Text(MAX_TEXT));
        rec.field(&mut obj, &path, "visit_id", OPTIONAL, Field::Uuid);
        if rec.ok {
            let member = obj.get("member_id").and_then(Json::as_str).and_then(|s| Uuid::parse_str(s).ok());
            if let (Some(all), Some(m)) = (members, member) {
                if !all.contains(&m) {
                    rec.report(
                        format!("{path}/member_id"),
                        crate::doc::ProblemKind::Invalid,
                        "anggota keluarga tidak ada".into(),
                    );
                }
            }
        }
        let rp = format!("{path}/{REASONS}");
        if let Some(r) = rec.map(&mut obj, &path, REASONS, REQUIRED) {
            if r.is_empty() || r.len() > MAX_REASONS {
                rec.report(rp.clone(), crate::doc::ProblemKind::Invalid, format!("harus 1–{MAX_REASONS} alasan"));
            } else {
                let keys: Vec<String> = r.keys().cloned().collect();
                for k in keys {
                    if crate::validation::check_text("", &k, MAX_REASON_CODE).is_err() {
                        rec.report(
                            format!("{rp}/{}", super::path_key(&k)),
                            crate::doc::ProblemKind::Invalid,
                            "kode alasan tidak valid".into(),
                        );
                    } else {
                        rec.field(r, &rp, &k, REQUIRED, Field::Enum { known: known::<ReasonSource>, open: false });
                    }
                }
            }
        }
        let sp = format!("{path}/{STEPS}");
        let steps = match obj.remove(STEPS) {
            Some(Json::Object(m)) if m.len() <= MAX_STEPS => Some(m),
            Some(Json::Object(_)) => {
                rec.report(sp.clone(), crate::doc::ProblemKind::Invalid, format!("lebih dari {MAX_STEPS} langkah"));
                None
            }
            None | Some(Json::Null) => {
                rec.report(sp.clone(), crate::doc::ProblemKind::Invalid, "wajib diisi".into());
                None
            }
            Some(other) => {
                let (kind, reason) = wrong_type("peta", &other);
                rec.report(sp.clone(), kind, reason);
                None
            }
        };
        if !rec.ok {
            continue;
        }
        let mut list = Vec::new();
        for (skey, svalue) in steps.into_iter().flatten() {
            let Some((sid, spath, mut s)) = record(&sp, skey, svalue, problems) else { continue };
            let mut rec = Rec::new(problems);
            rec.field(&mut s, &spath, "status", REQUIRED, Field::Enum { known: known::<ReferralStatus>, open: true });
            rec.field(&mut s, &spath, "role", REQUIRED, Field::Enum { known: known::<StepRole>, open: false });
            rec.field(&mut s, &spath, "by", REQUIRED, Field::Text(MAX_NAME));
            rec.field(&mut s, &spath, "at", REQUIRED, Field::Int(STEP_AT));
            rec.field(&mut s, &spath, "action", OPTIONAL, Field::Text(MAX_NAME));
            rec.field(&mut s, &spath, "note", OPTIONAL, Field::Text(MAX_TEXT));
            rec.field(&mut s, &spath, "follow_up_by", OPTIONAL, Field::Date);
            if let Some(step) = rec.finish::<ReferralStep>(sid, s, &spath) {
                if step.role != step.status.role() {
                    problems.push(invalid(format!("{spath}/role"), "peran tidak sesuai status"));
                    continue;
                }
                list.push(step);
            }
        }
        list.sort_by_key(|s| (s.at, s.id));
        obj.insert(STEPS.into(), Json::Array(Vec::new()));
        if let Some(mut r) = Rec::new(problems).finish::<ReferralRecord>(id, obj, &path) {
            r.steps = list;
            out.push(r);
        }
    }
    out.sort_by_key(|r| (r.date, r.id));
    out
}
