//! The ILP service cycle on the phone (issue 12): a member moving away or dying, and
//! a pregnancy's outcome with its newborns registered in the same change.

use time::Date;
use uuid::Uuid;

use super::Store;
use crate::error::Result;
use crate::model::*;

impl Store {
    /// Records that a member moved away (`pindah`) or died (`meninggal`) on `date`.
    /// From that day the member is on no list of the phone (due list, search, life
    /// stages); the monthly report counts her through the month of the event
    /// (`rules::membership`). Merged like any field edit.
    pub fn set_member_status(
        &self,
        household_id: Uuid,
        member_id: Uuid,
        kind: MemberStatusKind,
        date: Date,
    ) -> Result<()> {
        let today = self.today();
        let status = MemberStatus { kind, date };
        self.edit(household_id, |doc, hh| {
            crate::ilp::check_member_status(hh, member_id, &status, today)?;
            Ok(doc.set_member_status(member_id, &status)?)
        })
    }

    /// Records the outcome of a pregnancy (ends the episode; nifas follows) and, for a
    /// live birth, registers the newborn(s) — in one change and one transaction: both
    /// or neither. Returns the newborns' ids in birth order.
    pub fn record_birth(&self, household_id: Uuid, birth: BirthRecord) -> Result<Vec<Uuid>> {
        let today = self.today();
        let ids: Vec<Uuid> = birth.newborns.iter().map(|_| Uuid::new_v4()).collect();
        self.edit(household_id, |doc, hh| {
            crate::ilp::check_birth(hh, &birth, today)?;
            doc.record_birth(&birth, &ids, hh)?;
            Ok(())
        })?;
        Ok(ids)
    }
}
