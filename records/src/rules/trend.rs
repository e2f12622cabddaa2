//! N/T/O/B of recorded weighings: the **one** function the phone's store (query
//! tables, due list), the bindings' growth preview and the relay's report, export and
//! FHIR use. The rule itself (calendar months, KBM by KMS age, first weighing of a
//! month) is [`crate::growth::monthly_trends`]; this module decides *which*
//! weighings of a household it is applied to. `docs/rules.md`, "N/T/O/B" and "One
//! weight-trend function".

use std::collections::HashMap;

use time::Date;
use uuid::Uuid;

use crate::growth::{self, Sex, WeightTrend};
use crate::model::{Household, Member};

/// Weighings that count for the KMS trend: children aged 0..=1856 days (up to 60
/// completed months, the WHO 2006 range the records score) at the weighing.
pub fn in_kms_age(birth: Date, on: Date) -> bool {
    (0..=growth::LAST_DAY_WHO_2006).contains(&(on - birth).whole_days())
}

/// The trend of each weighing of one child, in the order given (`None` = no trend:
/// a later weighing in a month already counted, outside 0..=1856 days, or unusable).
///
/// Two weighings on the **same day**: the lighter one comes first (it takes the
/// month's dot when the day is the month's first, and is the previous weighing when
/// the day is the month's last). The order of the visits in the document is (date,
/// visit id) and visit ids are random, so without this the same records could give
/// either answer, and the preview of a weighing not yet recorded (no id yet) could
/// not know it. Equal weights give equal trends, whichever comes first.
pub fn series_trends(sex: Sex, birth: Date, weighings: &[(Date, f64)]) -> Vec<Option<WeightTrend>> {
    let mut idx: Vec<usize> = (0..weighings.len()).filter(|&i| in_kms_age(birth, weighings[i].0)).collect();
    idx.sort_by(|&i, &j| weighings[i].0.cmp(&weighings[j].0).then(weighings[i].1.total_cmp(&weighings[j].1)));
    let kept: Vec<(Date, f64)> = idx.iter().map(|&i| weighings[i]).collect();
    let mut out = vec![None; weighings.len()];
    for (k, t) in growth::monthly_trends(sex, birth, &kept).into_iter().enumerate() {
        out[idx[k]] = t;
    }
    out
}

/// A member's weighings in the household's visits, in document order: (visit, date, kg).
fn weighings_of(hh: &Household, m: &Member) -> Vec<(Uuid, Date, f64)> {
    hh.visits
        .iter()
        .filter(|v| !v.deleted)
        .filter_map(|v| {
            let e = v.entries.iter().find(|e| e.member_id == m.id)?;
            Some((v.id, v.date, e.measurements.weight_kg?))
        })
        .collect()
}

/// N/T/O/B for each weighing of each child under five, keyed by (visit, member).
///
/// By calendar month of the visit ([`growth::monthly_trends`], `docs/rules.md`):
/// the first weighing of a child in a calendar month gets the month's trend, compared
/// with the latest weighing of the previous calendar month; later weighings in the
/// same month get none. Only weighings of children aged 0..=1856 days count. Visits
/// are taken in date order, whatever their order in the document.
pub fn weight_trends(hh: &Household) -> HashMap<(Uuid, Uuid), WeightTrend> {
    let mut out = HashMap::new();
    for m in hh.members.iter().filter(|m| !m.deleted) {
        let w = weighings_of(hh, m);
        let series: Vec<(Date, f64)> = w.iter().map(|&(_, d, kg)| (d, kg)).collect();
        for ((visit, _, _), t) in w.iter().zip(series_trends(m.sex, m.birth_date, &series)) {
            if let Some(t) = t {
                out.insert((*visit, m.id), t);
            }
        }
    }
    out
}

/// A member's weighings with one of `kg` on `on` as if recorded now in `hh`
/// (appended after the household's visits, as the store does; `replacing`: the
/// visit being corrected, whose place the new weighing takes). Returns the member,
/// the series (date, kg) and the index of the new weighing in it; `None` for an
/// unknown or removed member.
pub fn series_if_recorded(
    hh: &Household,
    member_id: Uuid,
    on: Date,
    kg: f64,
    replacing: Option<Uuid>,
) -> Option<(&Member, Vec<(Date, f64)>, usize)> {
    let m = hh.members.iter().find(|m| m.id == member_id && !m.deleted)?;
    let mut series: Vec<(Date, f64)> = Vec::new();
    let mut at = None;
    for v in hh.visits.iter().filter(|v| !v.deleted) {
        if Some(v.id) == replacing {
            // a correction keeps the visit's place in the document
            at = Some(series.len());
            series.push((on, kg));
        } else if let Some(w) = v.entries.iter().find(|e| e.member_id == m.id).and_then(|e| e.measurements.weight_kg) {
            series.push((v.date, w));
        }
    }
    let at = at.unwrap_or_else(|| {
        series.push((on, kg));
        series.len() - 1
    });
    Some((m, series, at))
}

/// The trend a weighing of `kg` on `on` of member `member_id` would get if it were
/// recorded now in `hh` ([`series_if_recorded`]): the growth preview's trend. `None`
/// when the member is unknown or the weighing gets no trend (a second weighing in
/// the month, past 60 months).
pub fn trend_if_recorded(
    hh: &Household,
    member_id: Uuid,
    on: Date,
    kg: f64,
    replacing: Option<Uuid>,
) -> Option<WeightTrend> {
    let (m, series, at) = series_if_recorded(hh, member_id, on, kg, replacing)?;
    series_trends(m.sex, m.birth_date, &series)[at]
}

/// Trends of a child's monthly series, oldest first, without the unscored repeats:
/// what "2T" and the referral triggers look at.
pub fn month_trends(sex: Sex, birth: Date, weighings: &[(Date, f64)]) -> Vec<(Date, WeightTrend)> {
    let mut v: Vec<(Date, WeightTrend)> =
        weighings.iter().zip(series_trends(sex, birth, weighings)).filter_map(|(w, t)| Some((w.0, t?))).collect();
    v.sort_by_key(|(d, _)| *d);
    v
}

#[cfg(test)]
mod tests {
    //! N/T/O/B by calendar month of the Posyandu session (docs/rules.md, "N/T/O/B"),
    //! moved here from `store::query` with the function.
    use super::*;
    use crate::model::*;
    use proptest::prelude::*;
    use time::macros::date;
    use time::Month;

    fn household(birth: Date, sex: Sex, weighings: &[(Date, f64)]) -> (Household, Vec<Uuid>, Uuid) {
        let child = Uuid::from_u128(1);
        let member = Member {
            id: child,
            nik: None,
            mother_nik: None,
            name: "Anak".into(),
            birth_date: birth,
            sex,
            relation: Relation::Anak,
            bpjs_number: None,
            kia_book: None,
            status: None,
            birth: None,
            deleted: false,
        };
        let mut visits = Vec::new();
        let mut ids = Vec::new();
        for (i, (d, kg)) in weighings.iter().enumerate() {
            let id = Uuid::from_u128(1000 + i as u128);
            ids.push(id);
            visits.push(Visit {
                id,
                date: *d,
                kind: VisitKind::HariBuka,
                kader_id: "K".into(),
                posyandu_id: "P".into(),
                entries: vec![VisitEntry {
                    member_id: child,
                    measurements: Measurements { weight_kg: Some(*kg), ..Default::default() },
                    ..Default::default()
                }],
                deleted: false,
            });
        }
        let hh = Household {
            id: Uuid::from_u128(2),
            posyandu_id: "P".into(),
            kk_number: None,
            kk_history: vec![],
            head_member_id: None,
            address: Address::default(),
            gps: None,
            spm: SpmAttributes::default(),
            members: vec![member],
            visits,
            pregnancies: vec![],
            referrals: vec![],
            spm_requests: vec![],
        };
        (hh, ids, child)
    }

    /// Trend codes in the order of `weighings` ("-" = no trend for that weighing).
    fn codes(birth: Date, weighings: &[(Date, f64)]) -> Vec<&'static str> {
        let (hh, ids, child) = household(birth, Sex::Female, weighings);
        let t = weight_trends(&hh);
        ids.iter().map(|v| t.get(&(*v, child)).map(|t| t.code()).unwrap_or("-")).collect()
    }

    /// Second Tuesday of a month.
    fn second_tuesday(year: i32, month: Month) -> Date {
        let first = Date::from_calendar_date(year, month, 1).unwrap();
        let to_tue = (7 + 1 - first.weekday().number_days_from_monday() as i64) % 7;
        first + time::Duration::days(to_tue + 7)
    }

    #[test]
    fn brief_example_march_april_2024_is_not_o() {
        // 2024-03-12 and 2024-04-09: 28 days apart, both second-Tuesday sessions.
        let w = [(date!(2024 - 03 - 12), 5.0), (date!(2024 - 04 - 09), 5.95)];
        // born 2024-01-10: days 62 and 90 fell in the same 30.4-day "month" (2).
        assert_eq!(codes(date!(2024 - 01 - 10), &w), ["B", "N"]);
        assert_eq!(codes(date!(2024 - 01 - 10), &[w[0], (w[1].0, 5.5)]), ["B", "T"]);
    }

    #[test]
    fn brief_example_october_november_2026_is_not_o() {
        // 2026-10-01 and 2026-11-28: 58 days apart but consecutive calendar months.
        let w = [(date!(2026 - 10 - 01), 4.5), (date!(2026 - 11 - 28), 5.5)];
        // born 2026-09-01: days 30 and 88 were 30.4-day "months" 0 and 2.
        assert_eq!(codes(date!(2026 - 09 - 01), &w), ["B", "N"]);
    }

    #[test]
    fn second_tuesday_sessions_through_february_and_31_day_months() {
        // Two years of second-Tuesday sessions (Feb 2024 has 29 days, Feb 2025 28;
        // gaps of 28 and 35 days), 1 kg gained every month: all N after the first.
        for birth in [date!(2023 - 12 - 20), date!(2023 - 12 - 31), date!(2024 - 01 - 01), date!(2023 - 12 - 13)] {
            let mut w = Vec::new();
            for (i, ym) in (0..24).map(|i| (i, (2024 + i / 12, Month::January.nth_next((i % 12) as u8)))) {
                let d = second_tuesday(ym.0, ym.1);
                if d >= birth {
                    w.push((d, 3.0 + i as f64));
                }
            }
            let c = codes(birth, &w);
            assert_eq!(c[0], "B", "birth {birth}");
            assert!(c[1..].iter().all(|x| *x == "N"), "birth {birth}: {c:?}");
        }
    }

    #[test]
    fn first_and_last_day_of_month_pairs() {
        let b = date!(2025 - 01 - 15); // KMS age 11-14 months: KBM 200 g
                                       // last day of January, first day of February: consecutive months
        assert_eq!(codes(b, &[(date!(2026 - 01 - 31), 8.0), (date!(2026 - 02 - 01), 8.2)]), ["B", "N"]);
        assert_eq!(codes(b, &[(date!(2026 - 01 - 31), 8.0), (date!(2026 - 02 - 01), 8.1)]), ["B", "T"]);
        // first day of January, last day of February (58 days): consecutive months
        assert_eq!(codes(b, &[(date!(2026 - 01 - 01), 8.0), (date!(2026 - 02 - 28), 8.3)]), ["B", "N"]);
        // last day of January, first day of March (29 days): February skipped → O
        assert_eq!(codes(b, &[(date!(2026 - 01 - 31), 8.0), (date!(2026 - 03 - 01), 8.3)]), ["B", "O"]);
        // 31 December → 1 January crosses the year
        assert_eq!(codes(b, &[(date!(2025 - 12 - 31), 7.0), (date!(2026 - 01 - 01), 7.3)]), ["B", "N"]);
    }

    #[test]
    fn previous_weighing_is_the_latest_of_the_previous_month() {
        let b = date!(2025 - 01 - 10); // KMS age 12-13 months in Jan/Feb 2026: KBM 200 g
        let w = [(date!(2026 - 01 - 05), 9.0), (date!(2026 - 01 - 25), 9.5), (date!(2026 - 02 - 10), 9.6)];
        // +100 g since 25 January (not +600 g since 5 January); the second
        // weighing of January gets no trend of its own.
        assert_eq!(codes(b, &w), ["B", "-", "T"]);
        // visit order in the document does not matter
        let w2 = [w[2], w[0], w[1]];
        assert_eq!(codes(b, &w2), ["T", "B", "-"]);
    }

    proptest! {
        /// A child weighed exactly once in every calendar month is never O.
        #[test]
        fn weighed_every_calendar_month_is_never_o(
            birth_off in 0i64..3650,
            first_off in 0i64..400,
            days in proptest::collection::vec(1u8..=31, 1..61),
            gains in proptest::collection::vec(-500i32..1500, 61),
        ) {
            let birth = date!(2015 - 01 - 01) + time::Duration::days(birth_off);
            let start = birth + time::Duration::days(first_off);
            let (mut y, mut m) = (start.year(), start.month());
            let mut w = Vec::new();
            let mut kg = 3.0;
            for (i, d) in days.iter().enumerate() {
                let last = m.length(y);
                let mut date = Date::from_calendar_date(y, m, (*d).min(last)).unwrap();
                if i == 0 && date < start {
                    date = start;
                }
                if (date - birth).whole_days() > 1856 {
                    break;
                }
                kg += gains[i] as f64 / 1000.0;
                w.push((date, kg.max(0.5)));
                m = m.next();
                if m == Month::January {
                    y += 1;
                }
            }
            prop_assume!(!w.is_empty());
            let c = codes(birth, &w);
            prop_assert_eq!(c[0], "B");
            prop_assert!(c[1..].iter().all(|x| *x == "N" || *x == "T"), "{:?} {:?}", w, c);
        }
    }
}
