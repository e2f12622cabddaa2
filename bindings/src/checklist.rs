//! The ILP home-visit checklist and counselling topics of the core, for the app's visit
//! form: which yes/no questions to ask this member at this visit, and the coded
//! counselling topics. Thin: every answer is the core's (`posyandu_core::rules::checklist`).

use posyandu_core::rules::checklist as cl;

use crate::error::{parse_date, parse_id, Result};
use crate::member::LifeStage;
use crate::store::KaderStore;

/// One yes/no question of the home-visit checklist; the answer is stored under `code`
/// in `VisitEntry.checklist`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChecklistQuestion {
    pub code: String,
    /// The question as the kader reads it (Bahasa Indonesia).
    pub label: String,
    /// A program indicator (its coverage is in the monthly report).
    pub indicator: bool,
    pub source: String,
}

/// The questions for one member at one visit, with the stage they were chosen for.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MemberChecklist {
    pub stage: LifeStage,
    pub stage_label: String,
    pub questions: Vec<ChecklistQuestion>,
}

/// A coded counselling topic; stored in `VisitEntry.counselling`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CounsellingTopic {
    pub code: String,
    pub label: String,
    /// Usually given to this stage (listed first).
    pub for_stage: bool,
}

#[uniffi::export]
impl KaderStore {
    /// The checklist to ask member `member_id` at a visit on `date` (`YYYY-MM-DD`).
    pub fn checklist_for(&self, household_id: String, member_id: String, date: String) -> Result<MemberChecklist> {
        let hh = parse_id("rumah tangga", &household_id)?;
        let m = parse_id("anggota keluarga", &member_id)?;
        let on = parse_date("tanggal kunjungan", &date)?;
        let (stage, items) = self.inner.checklist_for(hh, m, on)?;
        Ok(MemberChecklist {
            stage: stage.into(),
            stage_label: stage.label_id().to_string(),
            questions: items
                .into_iter()
                .map(|i| ChecklistQuestion {
                    code: i.code.clone(),
                    label: i.label_id.clone(),
                    indicator: i.indicator,
                    source: i.source.clone(),
                })
                .collect(),
        })
    }
}

/// Counselling topics, those usually given to `stage` first.
#[uniffi::export]
pub fn counselling_topics(stage: LifeStage) -> Vec<CounsellingTopic> {
    let stage = stage.into();
    cl::topics_for(stage)
        .into_iter()
        .map(|t| CounsellingTopic {
            code: t.code.clone(),
            label: t.label_id.clone(),
            for_stage: t.stages.contains(&stage),
        })
        .collect()
}

/// The label of a counselling topic code, or the text itself for free text written by
/// older app versions.
#[uniffi::export]
pub fn counselling_label(code: String) -> String {
    cl::topic_label(&code).map(str::to_string).unwrap_or(code)
}

/// Version of the checklist catalogue the core carries.
#[uniffi::export]
pub fn checklist_catalogue_version() -> String {
    cl::catalogue_version().to_string()
}
