//! Who is still a member: the consequences of a recorded *pindah* (moved) or
//! *meninggal* (died) status (issue 12). `docs/rules.md`, section 25.
//!
//! - **Lists** (due list, home-visit list, life-stage lists): a member is gone from the
//!   day of the event ([`gone_on`]).
//! - **Monthly counts** (S of SKDN/F2 and every denominator of the monthly report):
//!   a member is counted in the month of the event and no longer from the month after
//!   ([`counted_in_month`]). She was registered, and may have been weighed or served,
//!   during that month; excluding her from it would let D exceed S.

use time::Date;

use crate::ilp::MemberStatus;

fn month_start(d: Date) -> Date {
    d.replace_day(1).expect("day 1 exists")
}

/// Whether a member with this status has left the register on `day` (the event's
/// date or later).
pub fn gone_on(status: Option<&MemberStatus>, day: Date) -> bool {
    status.is_some_and(|s| s.date <= day)
}

/// Whether a member with this status counts in the monthly report of the month that
/// contains `day`: no status, or an event in that month or later.
pub fn counted_in_month(status: Option<&MemberStatus>, day: Date) -> bool {
    status.is_none_or(|s| s.date >= month_start(day))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ilp::MemberStatusKind;
    use time::macros::date;

    #[test]
    fn gone_from_the_day_for_lists_and_from_the_month_after_for_counts() {
        let moved = MemberStatus { kind: MemberStatusKind::Pindah, date: date!(2026 - 10 - 31) };
        let s = Some(&moved);
        assert!(!gone_on(None, date!(2026 - 10 - 31)));
        assert!(!gone_on(s, date!(2026 - 10 - 30)));
        assert!(gone_on(s, date!(2026 - 10 - 31)));
        assert!(counted_in_month(None, date!(2026 - 11 - 01)));
        assert!(counted_in_month(s, date!(2026 - 10 - 01)), "counted in the month of the event");
        assert!(counted_in_month(s, date!(2026 - 10 - 31)));
        assert!(counted_in_month(s, date!(2026 - 09 - 15)), "and before");
        assert!(!counted_in_month(s, date!(2026 - 11 - 01)), "not from the month after");
        let died = MemberStatus { kind: MemberStatusKind::Meninggal, date: date!(2026 - 11 - 01) };
        assert!(counted_in_month(Some(&died), date!(2026 - 11 - 30)));
        assert!(!counted_in_month(Some(&died), date!(2026 - 12 - 01)));
    }
}
