use super::*;

fn child(sex: Sex, age_days: i64) -> Anthropometry {
    Anthropometry {
        sex,
        age_days,
        weight_kg: None,
        length_height_cm: None,
        measure: None,
        oedema: false,
        head_cm: None,
        muac_cm: None,
    }
}

fn close(a: Option<f64>, b: f64, tol: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() <= tol)
}

#[test]
fn tables_parse_and_cover_expected_ranges() {
    let t = tables::tables();
    for sex in [Sex::Male, Sex::Female] {
        assert_eq!(t.wfa.key_range(sex), (0, 1856));
        assert_eq!(t.lhfa.key_range(sex), (0, 1856));
        assert_eq!(t.bmi.key_range(sex), (0, 1856));
        assert_eq!(t.acfa.key_range(sex), (91, 1856));
        assert_eq!(t.hcfa.key_range(sex), (0, 1856));
        assert_eq!(t.wfl.key_range(sex), (450, 1100));
        assert_eq!(t.wfh.key_range(sex), (650, 1200));
        assert_eq!(t.bfa_2007.key_range(sex), (61, 229));
        assert_eq!(t.hfa_2007.key_range(sex), (61, 229));
        assert_eq!(t.wfa_2007.key_range(sex), (61, 121));
    }
}

#[test]
fn textbook_boy_day0_median() {
    // wfa.csv, sex 1, day 0: L 0.3487, M 3.3464, S 0.14602 → X = M gives z = 0.
    let mut a = child(Sex::Male, 0);
    a.weight_kg = Some(3.3464);
    a.length_height_cm = Some(49.8842); // lhfa day 0 median
    a.head_cm = Some(34.4618); // hcfa day 0 median
    let g = assess(&a).unwrap();
    assert!(close(g.zwfa, 0.0, 1e-9));
    assert!(close(g.zlhfa, 0.0, 1e-9));
    assert!(close(g.zhcfa, 0.0, 1e-9));
    assert_eq!(g.bbu, Some(WeightForAge::Normal));
    assert_eq!(g.tbu, Some(HeightForAge::Normal));
}

#[test]
fn textbook_plain_lms() {
    // Boy day 0, X = 4.0 kg (L 0.3487, M 3.3464, S 0.14602), worked by hand:
    // ln(4.0/3.3464) = 0.178409; exp(0.3487 * 0.178409) = exp(0.062211) = 1.064187
    // z = 0.064187 / (0.3487 * 0.14602) = 0.064187 / 0.0509172 = 1.2606
    let mut a = child(Sex::Male, 0);
    a.weight_kg = Some(4.0);
    let g = assess(&a).unwrap();
    assert!(close(g.zwfa, 1.2606, 1e-3), "{:?}", g.zwfa);
}

#[test]
fn sd23_restricted_by_hand() {
    // Boy day 0 weight-for-age, L = 0.3487, M = 3.3464, S = 0.14602, X = 1.6 kg.
    // L*S = 0.0509172; ln(1.6/3.3464) = -0.737882
    // Unrestricted: (1.6/3.3464)^0.3487 = exp(0.3487 * -0.737882) = 0.773137
    //   z = (0.773137 - 1) / 0.0509172 = -4.4555  (< -3, so restrict)
    // SD3neg = M (1 - 3 L S)^(1/L) = 3.3464 * 0.847248^2.867795 = 2.0803
    // SD2neg = M (1 - 2 L S)^(1/L) = 3.3464 * 0.898166^2.867795 = 2.4593
    // SD23neg = 2.4593 - 2.0803 = 0.3790
    // z* = -3 + (1.6 - 2.0803) / 0.3790 = -3 - 1.2673 = -4.2673
    let mut a = child(Sex::Male, 0);
    a.weight_kg = Some(1.6);
    let g = assess(&a).unwrap();
    assert!(close(g.zwfa, -4.2673, 1e-3), "{:?}", g.zwfa);
    let lms = Lms { l: 0.3487, m: 3.3464, s: 0.14602 };
    assert!(close(lms.z_raw(1.6), -4.4555, 1e-3));
    assert_eq!(g.bbu, Some(WeightForAge::SangatKurang));
    assert!(!g.flags.wfa);
    // Length-for-age is not restricted: L = 1 so z = (X/M - 1)/S exactly.
    let lh = Lms { l: 1.0, m: 49.8842, s: 0.03795 };
    let mut a = child(Sex::Male, 0);
    a.length_height_cm = Some(40.0);
    let g = assess(&a).unwrap();
    let expect = (40.0 / 49.8842 - 1.0) / 0.03795;
    assert!(close(g.zlhfa, expect, 1e-9));
    assert!(close(lh.z_raw(40.0), expect, 1e-9));
    // (40/49.8842 - 1)/0.03795 = -5.2212: below -3 but no flag (limit -6)
    assert!(close(g.zlhfa, -5.2212, 1e-3));
    assert!(!g.flags.lhfa);
    assert_eq!(g.tbu, Some(HeightForAge::SangatPendek));
}

#[test]
fn restricted_positive_tail() {
    let lms = Lms { l: -0.3521, m: 7.4327, s: 0.08217 };
    let sd3 = lms.value_at(3.0);
    let sd2 = lms.value_at(2.0);
    // exactly 1 SD23 above SD3 → z = 4
    assert!(close(lms.z_restricted(sd3 + (sd3 - sd2)), 4.0, 1e-9));
    // continuity at 3
    assert!(close(lms.z_restricted(sd3), 3.0, 1e-9));
    let sd3n = lms.value_at(-3.0);
    assert!(close(lms.z_restricted(sd3n), -3.0, 1e-9));
}

#[test]
fn lying_standing_correction_and_table_switch() {
    // 730 days standing → +0.7 cm, weight-for-length
    let mut a = child(Sex::Male, 730);
    a.weight_kg = Some(11.5);
    a.length_height_cm = Some(85.6);
    a.measure = Some(Measure::Standing);
    let g = assess(&a).unwrap();
    assert!(close(g.length_height_corrected_cm, 86.3, 1e-9));
    let wfl = tables::tables().wfl.get(Sex::Male, 863).unwrap();
    assert!(close(g.zwfl, wfl.z_restricted(11.5).unwrap(), 1e-12));
    // 731 days lying → -0.7 cm, weight-for-height
    a.age_days = 731;
    a.measure = Some(Measure::Lying);
    let g = assess(&a).unwrap();
    assert!(close(g.length_height_corrected_cm, 84.9, 1e-9));
    let wfh = tables::tables().wfh.get(Sex::Male, 849).unwrap();
    assert!(close(g.zwfl, wfh.z_restricted(11.5).unwrap(), 1e-12));
    // BMI uses corrected height
    assert!(close(g.bmi, 11.5 / (0.849f64 * 0.849), 1e-9));
    // Unknown measure: no correction
    a.measure = None;
    assert!(close(assess(&a).unwrap().length_height_corrected_cm, 85.6, 1e-12));
}

#[test]
fn length_interpolation() {
    let t = &tables::tables().wfl;
    let lo = t.get(Sex::Female, 652).unwrap();
    let hi = t.get(Sex::Female, 653).unwrap();
    let mid = t.get_length(Sex::Female, 65.25).unwrap();
    assert!((mid.m - (lo.m + hi.m) / 2.0).abs() < 1e-9);
    assert!((mid.l - (lo.l + hi.l) / 2.0).abs() < 1e-9);
    assert!((mid.s - (lo.s + hi.s) / 2.0).abs() < 1e-9);
    // table edges
    assert!(t.get_length(Sex::Male, 45.0).is_some());
    assert!(t.get_length(Sex::Male, 44.99).is_none());
    assert!(t.get_length(Sex::Male, 110.0).is_some());
    assert!(t.get_length(Sex::Male, 110.01).is_none());
    assert!(t.get_length(Sex::Male, f64::NAN).is_none());
    assert!(t.get_length(Sex::Male, 1e300).is_none());
    assert!(t.get_length(Sex::Male, -1e300).is_none());
}

#[test]
fn oedema_blanks_weight_based_only() {
    let mut a = child(Sex::Female, 400);
    a.weight_kg = Some(7.0);
    a.length_height_cm = Some(72.3);
    a.head_cm = Some(44.0);
    a.muac_cm = Some(12.0);
    a.oedema = true;
    let g = assess(&a).unwrap();
    assert!(g.zwfa.is_none() && g.zwfl.is_none() && g.zbmi.is_none());
    assert!(g.bbu.is_none() && g.bbtb.is_none() && g.imtu.is_none());
    assert!(g.zlhfa.is_some() && g.zhcfa.is_some() && g.zmuac.is_some());
}

#[test]
fn age_limits() {
    let mut a = child(Sex::Male, 90);
    a.muac_cm = Some(13.0);
    assert!(assess(&a).unwrap().zmuac.is_none());
    a.age_days = 91;
    assert!(assess(&a).unwrap().zmuac.is_some());
    // day 1856: still WHO 2006, every indicator (the tables used to stop at 1826)
    a.age_days = 1856;
    a.head_cm = Some(50.0);
    a.weight_kg = Some(18.0);
    a.length_height_cm = Some(110.0);
    let g = assess(&a).unwrap();
    assert_eq!(g.reference, Some(GrowthReference::Who2006));
    assert!(g.zwfa.is_some() && g.zlhfa.is_some() && g.zbmi.is_some() && g.zmuac.is_some());
    assert!(g.zhcfa.is_some() && g.zwfl.is_some());
    // day 1857: WHO 2007 (61 months): no head, arm or weight-for-height scores
    a.age_days = 1857;
    let g = assess(&a).unwrap();
    assert_eq!(g.reference, Some(GrowthReference::Who2007));
    assert!(g.zwfa.is_some() && g.zlhfa.is_some() && g.zbmi.is_some());
    assert!(g.zhcfa.is_none() && g.zmuac.is_none() && g.zwfl.is_none());
    assert_eq!(g.bbu, None);
    // beyond 228 months: nothing age-based
    a.age_days = 6971;
    let g = assess(&a).unwrap();
    assert_eq!(g, GrowthAssessment { length_height_corrected_cm: Some(110.0), bmi: g.bmi, ..Default::default() });
    a.age_days = -1;
    assert_eq!(assess(&a), Err(GrowthError::NegativeAge(-1)));
    a.age_days = i64::MIN;
    assert!(assess(&a).is_err());
    a.age_days = i64::MAX;
    assert!(assess(&a).is_ok());
}

#[test]
fn bad_numbers_are_errors_not_panics() {
    for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 0.0] {
        let mut a = child(Sex::Male, 100);
        a.weight_kg = Some(v);
        assert!(matches!(assess(&a), Err(GrowthError::InvalidValue { .. })));
        let mut a = child(Sex::Male, 100);
        a.length_height_cm = Some(v);
        assert!(assess(&a).is_err());
        let mut a = child(Sex::Male, 100);
        a.head_cm = Some(v);
        assert!(assess(&a).is_err());
        let mut a = child(Sex::Male, 100);
        a.muac_cm = Some(v);
        assert!(assess(&a).is_err());
    }
    // absurd but finite values never panic
    for v in [1e-300, 1e-9, 1e9, 1e300, f64::MAX, f64::MIN_POSITIVE] {
        for age in [0, 500, 731, 1856] {
            let mut a = child(Sex::Female, age);
            a.weight_kg = Some(v);
            a.length_height_cm = Some(v);
            a.head_cm = Some(v);
            a.muac_cm = Some(v);
            a.measure = Some(Measure::Standing);
            let _ = assess(&a).unwrap();
        }
    }
}

#[test]
fn flags() {
    let mut a = child(Sex::Male, 365);
    a.length_height_cm = Some(50.0);
    let g = assess(&a).unwrap();
    assert!(g.zlhfa.unwrap() < -6.0 && g.flags.lhfa);
    assert_eq!(g.tbu, Some(HeightForAge::SangatPendek));
}

#[test]
fn categories_and_labels() {
    use NutritionStatus::*;
    assert_eq!(WeightForAge::from_z(-3.01), Some(WeightForAge::SangatKurang));
    assert_eq!(WeightForAge::from_z(-3.0), Some(WeightForAge::Kurang));
    assert_eq!(WeightForAge::from_z(-2.0), Some(WeightForAge::Normal));
    assert_eq!(WeightForAge::from_z(1.0), Some(WeightForAge::Normal));
    assert_eq!(WeightForAge::from_z(1.0001), Some(WeightForAge::RisikoLebih));
    assert_eq!(WeightForAge::from_z(f64::NAN), None);
    assert_eq!(HeightForAge::from_z(3.0), Some(HeightForAge::Normal));
    assert_eq!(HeightForAge::from_z(3.01), Some(HeightForAge::Tinggi));
    assert_eq!(HeightForAge::from_z(-2.5), Some(HeightForAge::Pendek));
    let seq: Vec<_> = [-3.5, -2.5, 0.0, 1.5, 2.5, 3.5].iter().map(|&z| NutritionStatus::from_z(z).unwrap()).collect();
    assert_eq!(seq, vec![GiziBuruk, GiziKurang, GiziBaik, BerisikoGiziLebih, GiziLebih, Obesitas]);
    assert_eq!(NutritionStatus::from_z(2.0), Some(BerisikoGiziLebih));
    assert_eq!(NutritionStatus::from_z(3.0), Some(GiziLebih));
    assert_eq!(WeightForAge::SangatKurang.label_id(), "Berat badan sangat kurang");
    assert_eq!(HeightForAge::Pendek.label_id(), "Pendek");
    assert_eq!(Obesitas.label_id(), "Obesitas");
}

#[test]
fn sex_and_measure_parsing() {
    assert_eq!(Sex::parse("1"), Ok(Sex::Male));
    assert_eq!(Sex::parse(" l "), Ok(Sex::Male));
    assert_eq!(Sex::parse("P"), Ok(Sex::Female));
    assert_eq!(Sex::parse("2"), Ok(Sex::Female));
    assert_eq!(Sex::parse(""), Err(GrowthError::MissingSex));
    let e = Sex::parse("x").unwrap_err();
    assert_eq!(e.to_string(), "Jenis kelamin tidak dikenal: x");
    assert_eq!(Measure::parse("H"), Ok(Some(Measure::Standing)));
    assert_eq!(Measure::parse(""), Ok(None));
    assert!(Measure::parse("s").is_err());
}

#[test]
fn age_in_days() {
    use time::macros::date;
    assert_eq!(age_days(date!(2020 - 02 - 29), date!(2021 - 03 - 01)), Ok(366));
    assert_eq!(age_days(date!(2024 - 01 - 01), date!(2024 - 01 - 01)), Ok(0));
    assert!(age_days(date!(2024 - 01 - 02), date!(2024 - 01 - 01)).is_err());
    assert_eq!(age_months_completed(30), 0);
    assert_eq!(age_months_completed(31), 1);
    assert!((age_months(1826) - 59.991_786_447_638_6).abs() < 1e-9);
}

#[test]
fn rounding_half_away_from_zero() {
    assert_eq!(round_half_away(1.005, 2), 1.01);
    assert_eq!(round_half_away(-1.005, 2), -1.01);
    assert_eq!(round_half_away(2.345, 2), 2.35);
    assert_eq!(round_half_away(-2.344, 2), -2.34);
    assert_eq!(round_half_away(0.125, 2), 0.13);
    assert!(round_half_away(f64::NAN, 2).is_nan());
}

#[test]
fn kbm_table() {
    let want = [
        (0, None),
        (1, Some(800)),
        (2, Some(900)),
        (3, Some(800)),
        (4, Some(600)),
        (5, Some(500)),
        (6, Some(400)),
        // 300 g from the 7th month (was 400 g here; doubt in docs/rules.md)
        (7, Some(300)),
        (8, Some(300)),
        (9, Some(300)),
        (10, Some(300)),
        (11, Some(200)),
        (12, Some(200)),
        (60, Some(200)),
        (61, None),
        (-1, None),
    ];
    for (m, g) in want {
        assert_eq!(kbm_grams(m), g, "month {m}");
    }
    // the table is contiguous 1..=60
    let table = super::kbm_table();
    assert_eq!((table[0].from_month, table[table.len() - 1].to_month), (1, 60));
    for w in table.windows(2) {
        assert_eq!(w[0].to_month + 1, w[1].from_month);
    }
    assert!(table.iter().all(|r| r.source.contains("Buku KIA")));
}

#[test]
fn kms_age_counts_calendar_months_from_the_birth_month() {
    use time::macros::date;
    // born on the last day of January: 1 month on the card on 1 February
    assert_eq!(kms_age_months(date!(2026 - 01 - 31), date!(2026 - 02 - 01)), 1);
    assert_eq!(kms_age_months(date!(2026 - 01 - 31), date!(2026 - 01 - 31)), 0);
    assert_eq!(kms_age_months(date!(2026 - 01 - 01), date!(2026 - 01 - 31)), 0);
    assert_eq!(kms_age_months(date!(2025 - 12 - 15), date!(2026 - 01 - 02)), 1);
    assert_eq!(kms_age_months(date!(2021 - 11 - 30), date!(2026 - 11 - 01)), 60);
    assert_eq!(kms_age_months(date!(2026 - 03 - 01), date!(2026 - 02 - 28)), -1);
    assert!(same_calendar_month(date!(2026 - 02 - 01), date!(2026 - 02 - 28)));
    assert!(!same_calendar_month(date!(2026 - 02 - 01), date!(2025 - 02 - 01)));
}

#[test]
fn weight_trend_rules() {
    use time::macros::date;
    use WeightTrend::*;
    let s = Sex::Female;
    let b = date!(2026 - 01 - 20);
    assert_eq!(weight_trend(s, b, None, (date!(2026 - 02 - 10), 4.0)), B);
    // February is KMS age 1: 800 g needed
    let jan = Some((date!(2026 - 01 - 25), 3.6));
    assert_eq!(weight_trend(s, b, jan, (date!(2026 - 02 - 10), 4.4)), N);
    assert_eq!(weight_trend(s, b, jan, (date!(2026 - 02 - 10), 4.399)), T);
    // float noise: 8.2 - 7.4 = 0.7999999 kg counts as 800 g
    assert_eq!(weight_trend(s, b, Some((date!(2026 - 01 - 25), 7.4)), (date!(2026 - 02 - 10), 8.2)), N);
    // March is KMS age 2: 900 g
    let feb = Some((date!(2026 - 02 - 10), 4.4));
    assert_eq!(weight_trend(s, b, feb, (date!(2026 - 03 - 10), 5.2)), T);
    assert_eq!(weight_trend(s, b, feb, (date!(2026 - 03 - 10), 5.3)), N);
    // KBM by KMS age, not completed months: born 31 Jan, weighed 27 Feb and 2 Mar
    // (30 days old, 0 completed months) → KMS age 2 → 900 g
    let b31 = date!(2026 - 01 - 31);
    assert_eq!(weight_trend(s, b31, Some((date!(2026 - 02 - 27), 4.0)), (date!(2026 - 03 - 02), 4.85)), T);
    assert_eq!(weight_trend(s, b31, Some((date!(2026 - 02 - 27), 4.0)), (date!(2026 - 03 - 02), 4.9)), N);
    // KMS age 7: 300 g
    let b7 = date!(2025 - 07 - 05);
    assert_eq!(weight_trend(s, b7, Some((date!(2026 - 01 - 10), 8.0)), (date!(2026 - 02 - 10), 8.3)), N);
    assert_eq!(weight_trend(s, b7, Some((date!(2026 - 01 - 10), 8.0)), (date!(2026 - 02 - 10), 8.299)), T);
    // skipped a month → O; same month or later → O
    assert_eq!(weight_trend(s, b, feb, (date!(2026 - 04 - 01), 6.0)), O);
    assert_eq!(weight_trend(s, b, feb, (date!(2026 - 02 - 28), 4.5)), O);
    assert_eq!(weight_trend(s, b, Some((date!(2026 - 05 - 01), 4.5)), (date!(2026 - 04 - 30), 4.5)), O);
    // loss is T; beyond 60 months the last KBM applies
    let old = date!(2020 - 01 - 15);
    assert_eq!(weight_trend(s, old, Some((date!(2026 - 01 - 10), 19.0)), (date!(2026 - 02 - 10), 18.9)), T);
    assert_eq!(weight_trend(s, old, Some((date!(2026 - 01 - 10), 19.0)), (date!(2026 - 02 - 10), 19.2)), N);
    // bad data never panics
    assert_eq!(weight_trend(s, b, Some((date!(2026 - 01 - 25), f64::NAN)), (date!(2026 - 02 - 10), 9.2)), O);
    assert_eq!(weight_trend(s, b, Some((date!(2026 - 01 - 25), 9.0)), (date!(2026 - 02 - 10), f64::INFINITY)), T);
    assert_eq!(weight_trend(s, b, Some((date!(2026 - 01 - 05), 3.0)), (date!(2026 - 02 - 10), 4.0)), O); // before birth
    assert_eq!(weight_trend(s, b, Some((time::Date::MIN, 9.0)), (time::Date::MAX, 9.0)), O);
    assert!(is_2t(&[N, T, T]));
    assert!(!is_2t(&[T, N, T]));
    assert!(!is_2t(&[T, O, T]));
    assert!(!is_2t(&[T]));
    assert!(!is_2t(&[]));
}

#[test]
fn previous_weighing_and_monthly_trends() {
    use time::macros::date;
    use WeightTrend::*;
    let w = [(date!(2026 - 03 - 02), 9.0), (date!(2026 - 01 - 31), 8.0), (date!(2026 - 01 - 05), 7.0)];
    assert_eq!(previous_weighing(w, date!(2026 - 03 - 01)), Some((date!(2026 - 01 - 31), 8.0)));
    assert_eq!(previous_weighing(w, date!(2026 - 01 - 31)), None);
    assert_eq!(previous_weighing(w, date!(2026 - 02 - 01)), Some((date!(2026 - 01 - 31), 8.0)));
    let b = date!(2025 - 01 - 01);
    // any order in; trends out in the same order; one per calendar month
    let got = monthly_trends(
        Sex::Male,
        b,
        &[
            (date!(2026 - 02 - 14), 8.3),
            (date!(2026 - 01 - 05), 7.0),
            (date!(2026 - 01 - 31), 8.0),
            (date!(2024 - 12 - 31), 3.0),      // before birth: ignored
            (date!(2026 - 02 - 01), f64::NAN), // unusable: ignored
            (date!(2026 - 04 - 14), 8.5),
        ],
    );
    assert_eq!(got, vec![Some(N), Some(B), None, None, None, Some(O)]);
}

fn batch(input: &str) -> (Result<BatchSummary, GrowthError>, String) {
    let mut out = Vec::new();
    let r = run_batch(input.as_bytes(), &mut out, &mut |_| {});
    (r, String::from_utf8(out).unwrap())
}

#[test]
fn batch_dates_passthrough_and_errors() {
    let input = "id,sex,birth_date,visit_date,weight_kg,height_cm,measure,oedema\n\
                 a1,L,2024-01-01,2024-01-01,3.3464,49.8842,,\n\
                 a2,p,2022-01-01,2024-01-02,11,85.0,h,n\n\
                 a3,1,2024-02-01,2024-01-01,5,60,l,n\n\
                 a4,1,2024-13-01,2024-14-01,5,60,l,n\n\
                 a5,9,2024-01-01,2024-03-01,5,60,l,n\n";
    let (r, out) = batch(input);
    let s = r.unwrap();
    assert_eq!(s.rows, 5);
    assert_eq!(s.ok, 2);
    assert_eq!(s.errors, 3);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "id,sex,birth_date,visit_date,weight_kg,height_cm,measure,oedema,age_days,reference,zwfa,zlhfa,zwfl,zbmi,zhcfa,zmuac,fwfa,flhfa,fwfl,fbmi,fhcfa,fmuac,bbu,tbu,bbtb,imtu,error"
    );
    assert!(lines[1].starts_with("a1,L,2024-01-01,2024-01-01,3.3464,49.8842,,,0,WHO2006,0.00,0.00,0.14,0.03,,,,,,,,,Berat badan normal,Normal,Gizi baik,Gizi baik,"), "{}", lines[1]);
    assert!(lines[2].starts_with("a2,p,2022-01-01,2024-01-02,11,85.0,h,n,731,WHO2006,"));
    assert!(lines[3].contains("lebih awal dari tanggal lahir"), "{}", lines[3]);
    assert!(lines[4].contains("Format tanggal tidak valid"), "{}", lines[4]);
    assert!(lines[5].ends_with(",Jenis kelamin tidak dikenal: 9"), "{}", lines[5]);
}

#[test]
fn batch_missing_header_aborts() {
    let (r, _) = batch("id,sex,age_days,height_cm\n1,1,10,50\n");
    assert_eq!(r, Err(GrowthError::MissingColumn("weight_kg".into())));
    let (r, _) = batch("sex,weight_kg,height_cm\n1,3,50\n");
    assert!(matches!(r, Err(GrowthError::MissingColumn(_))));
    let (r, _) = batch("sex,birth_date,weight_kg,height_cm\n1,2024-01-01,3,50\n");
    assert_eq!(r, Err(GrowthError::MissingColumn("visit_date".into())));
    let (r, _) = batch("");
    assert!(r.is_err());
}

#[test]
fn batch_ragged_rows_and_long_lines() {
    let (r, out) = batch("sex,age_days,weight_kg,height_cm\n1,10\n1,10,3.5,50,extra\n1,10,3.5,50\n");
    let s = r.unwrap();
    assert_eq!((s.rows, s.ok, s.errors), (3, 1, 2));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[1].starts_with("1,10,,,,"), "{}", lines[1]);
    assert!(lines[1].contains("Jumlah kolom tidak sesuai"));
    // every output row has the same number of fields
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    for rec in rdr.records() {
        assert_eq!(rec.unwrap().len(), 4 + 19);
    }
    let long = format!("sex,age_days,weight_kg,height_cm,note\n1,10,3.5,50,{}\n", "x".repeat(70_000));
    let (r, _) = batch(&long);
    assert!(matches!(r, Err(GrowthError::LineTooLong { line: 2, .. })), "{r:?}");
    assert!(r.unwrap_err().to_string().contains("terlalu panjang"));
    let long_header = format!("sex,age_days,weight_kg,height_cm,{}\n", "x".repeat(70_000));
    assert!(matches!(batch(&long_header).0, Err(GrowthError::LineTooLong { line: 1, .. })));
}

#[test]
fn batch_invalid_utf8_row_is_reported_not_fatal() {
    let mut input = b"sex,age_days,weight_kg,height_cm\n1,10,3.5,\xff\xfe\n1,10,3.5,50\n".to_vec();
    input.extend_from_slice(b"");
    let mut out = Vec::new();
    let s = run_batch(&input[..], &mut out, &mut |_| {}).unwrap();
    assert_eq!((s.rows, s.ok, s.errors), (2, 1, 1));
}

#[test]
fn batch_row_limit() {
    // MAX_ROWS + 1 tiny rows → TooManyRows (about 8 MB of input, fast).
    let mut input = String::from("sex,age_days,weight_kg,height_cm\n");
    input.reserve((MAX_ROWS as usize + 1) * 8);
    for _ in 0..=MAX_ROWS {
        input.push_str("1,0,,\n");
    }
    let mut progress = Vec::new();
    let r = run_batch(input.as_bytes(), std::io::sink(), &mut |n| progress.push(n));
    assert_eq!(r, Err(GrowthError::TooManyRows(MAX_ROWS)));
    assert_eq!(progress.len() as u64, MAX_ROWS / 1000);
}

#[test]
fn assess_is_fast_after_first_call() {
    let mut a = child(Sex::Male, 500);
    a.weight_kg = Some(10.0);
    a.length_height_cm = Some(77.35);
    a.head_cm = Some(46.0);
    a.muac_cm = Some(14.0);
    assess(&a).unwrap();
    let n = 100_000;
    let t0 = std::time::Instant::now();
    let mut acc = 0.0;
    for i in 0..n {
        a.age_days = i % 1800;
        acc += assess(&a).unwrap().zwfa.unwrap_or(0.0);
    }
    let per = t0.elapsed() / n as u32;
    assert!(acc.is_finite());
    // generous bound so that debug builds pass too
    assert!(per < std::time::Duration::from_micros(50), "{per:?} per assessment");
}

#[test]
fn reference_switch_at_boundary_days() {
    use GrowthReference::*;
    let r = |d| growth_reference(d).map(|x| (x.reference, x.key));
    assert_eq!(r(-1), None);
    assert_eq!(r(0), Some((Who2006, 0)));
    assert_eq!(r(1826), Some((Who2006, 1826)));
    assert_eq!(r(1827), Some((Who2006, 1827)));
    // 60 completed months end at day 1856 (60.98 months); day 1857 is 61.01 months
    assert_eq!(r(1856), Some((Who2006, 1856)));
    assert_eq!(r(1857), Some((Who2007, 61)));
    assert_eq!(r(1887), Some((Who2007, 61))); // 61.996
    assert_eq!(r(1888), Some((Who2007, 62))); // 62.029
                                              // weight-for-age stops at 120 months: day 3682 is 120.97, day 3683 is 121.00
    assert_eq!(r(3682), Some((Who2007, 120)));
    assert_eq!(r(3683), Some((Who2007, 121)));
    // 228 completed months end at day 6970 (228.99); day 6971 is 229.02
    assert_eq!(r(6970), Some((Who2007, 228)));
    assert_eq!(r(6971), None);
    assert_eq!(r(i64::MAX), None);
    // the month key is floor(days / 30.4375) on every day of the WHO 2007 range
    for d in 1857..=6970 {
        let k = growth_reference(d).unwrap().key;
        assert_eq!(k, (d as f64 / DAYS_PER_MONTH).floor() as i64, "day {d}");
    }
    // weight-for-age scored at 120 months, not at 121
    let mut a = child(Sex::Female, 3682);
    a.weight_kg = Some(31.0);
    a.length_height_cm = Some(138.0);
    assert!(assess(&a).unwrap().zwfa.is_some());
    a.age_days = 3683;
    let g = assess(&a).unwrap();
    assert!(g.zwfa.is_none() && g.zbmi.is_some() && g.zlhfa.is_some());
}

#[test]
fn who2007_row_median_gives_zero() {
    // hfa.csv 2007, sex 1, month 61: L 1, M 110.2647, S 0.04164
    // wfa.csv 2007, sex 1, month 61: L -0.2026, M 18.5057, S 0.12988
    // bfa.csv 2007, sex 1, month 61: L -0.7387, M 15.2641, S 0.0839
    let mut a = child(Sex::Male, 1857);
    a.length_height_cm = Some(110.2647);
    a.measure = Some(Measure::Standing);
    a.weight_kg = Some(18.5057);
    let g = assess(&a).unwrap();
    assert_eq!(g.reference, Some(GrowthReference::Who2007));
    assert!(close(g.zlhfa, 0.0, 1e-9), "{:?}", g.zlhfa);
    assert!(close(g.zwfa, 0.0, 1e-9), "{:?}", g.zwfa);
    assert_eq!(g.tbu, Some(HeightForAge::Normal));
    // BMI median: weight = 15.2641 * 1.102647^2
    a.weight_kg = Some(15.2641 * 1.102647f64.powi(2));
    let g = assess(&a).unwrap();
    assert!(close(g.zbmi, 0.0, 1e-9), "{:?}", g.zbmi);
    assert_eq!(g.imtu, Some(NutritionStatus::GiziBaik));
    // hfa.csv 2007, sex 2, month 228: L 1, M 163.1548, S 0.04009 (day 6970)
    let mut a = child(Sex::Female, 6970);
    a.length_height_cm = Some(163.1548);
    assert!(close(assess(&a).unwrap().zlhfa, 0.0, 1e-9));
    // a lying height from 731 days is corrected by -0.7 cm here too
    a.measure = Some(Measure::Lying);
    a.length_height_cm = Some(163.8548);
    assert!(close(assess(&a).unwrap().zlhfa, 0.0, 1e-9));
}

#[test]
fn who2007_bmi_sd23_by_hand() {
    // Boy, 61 months (day 1857), bfa.csv 2007: L = -0.7387, M = 15.2641, S = 0.0839.
    // Height 100 cm standing, weight 22 kg → BMI = 22 / 1.0^2 = 22.0.
    // L*S = -0.06197693
    // Unrestricted: (22 / 15.2641)^L = 1.44129035^-0.7387 = 0.76336155
    //   z = (0.76336155 - 1) / -0.06197693 = 3.8182  (> 3, so restrict)
    // SD3pos = M (1 + 3 L S)^(1/L) = 15.2641 * 0.81406921^-1.35372952
    //        = 15.2641 * 1.32111431 = 20.1656
    // SD2pos = M (1 + 2 L S)^(1/L) = 15.2641 * 0.87604614^-1.35372952
    //        = 15.2641 * 1.19619759 = 18.2589
    // SD23pos = 20.1656 - 18.2589 = 1.9067
    // z* = 3 + (22.0 - 20.1656) / 1.9067 = 3 + 0.9620 = 3.9620
    let mut a = child(Sex::Male, 1857);
    a.length_height_cm = Some(100.0);
    a.measure = Some(Measure::Standing);
    a.weight_kg = Some(22.0);
    let g = assess(&a).unwrap();
    assert!(close(g.bmi, 22.0, 1e-12));
    assert!(close(g.zbmi, 3.9620, 1e-3), "{:?}", g.zbmi);
    let lms = Lms { l: -0.7387, m: 15.2641, s: 0.0839 };
    assert!(close(lms.z_raw(22.0), 3.8182, 1e-3));
    assert!(!g.flags.bmi);
    // 5-18 years: > +2 is obesitas (0-60 months would say "Obesitas" only > +3)
    assert_eq!(g.imtu, Some(NutritionStatus::Obesitas));
    // height-for-age is not restricted: z = (100 / 110.2647 - 1) / 0.04164 = -2.2356
    assert!(close(g.zlhfa, (100.0 / 110.2647 - 1.0) / 0.04164, 1e-9));
    assert!(close(g.zlhfa, -2.2356, 1e-3));
    assert_eq!(g.tbu, Some(HeightForAge::Pendek));
    // weight-for-age 2007 is restricted: 22 kg at 61 months is +1.1 SD, unrestricted
    assert!(g.zwfa.is_some_and(|z| z > 1.0 && z < 2.0));
    assert_eq!(g.bbu, None, "Permenkes 2/2020 has no BB/U category past 60 months");
    // oedema blanks the weight-based 2007 scores too
    a.oedema = true;
    let g = assess(&a).unwrap();
    assert!(g.zbmi.is_none() && g.zwfa.is_none() && g.zlhfa.is_some());
}

#[test]
fn rule_tables_5_18_and_0_60() {
    use NutritionStatus::*;
    let c = |z| IMTU_5_18.classify(z);
    assert_eq!(c(-3.0001), Some(GiziBuruk));
    assert_eq!(c(-3.0), Some(GiziKurang));
    assert_eq!(c(-2.0001), Some(GiziKurang));
    assert_eq!(c(-2.0), Some(GiziBaik));
    assert_eq!(c(1.0), Some(GiziBaik));
    assert_eq!(c(1.0001), Some(GiziLebih));
    assert_eq!(c(2.0), Some(GiziLebih));
    assert_eq!(c(2.0001), Some(Obesitas));
    assert_eq!(c(f64::NAN), None);
    assert_eq!(c(f64::INFINITY), None);
    assert_eq!(NutritionStatus::from_z_5_18(2.5), Some(Obesitas));
    assert_eq!(NutritionStatus::from_z(2.5), Some(GiziLebih));
    assert_eq!(TBU_5_18.classify(3.0), Some(HeightForAge::Normal));
    assert_eq!(TBU_5_18.classify(3.0001), Some(HeightForAge::Tinggi));
    assert_eq!(TBU_5_18.classify(-2.0001), Some(HeightForAge::Pendek));
    // every table: bands increase, the last one is open-ended, a source is cited
    fn check<C: Copy>(t: &RuleTable<C>) {
        assert!(t.bands.windows(2).all(|w| w[0].upper < w[1].upper), "{}", t.indicator);
        assert_eq!(t.bands.last().map(|b| b.upper), Some(f64::INFINITY));
        assert!(!t.source.is_empty());
    }
    check(&BBU_0_60);
    check(&TBU_0_60);
    check(&TBU_5_18);
    check(&BBTB_0_60);
    check(&IMTU_0_60);
    check(&IMTU_5_18);
    assert!(IMTU_5_18.source.contains("Nomor 2 Tahun 2020"));
}

#[test]
fn batch_scores_1827_to_1856_and_who2007() {
    // boy: day 1826/1827/1856 by WHO 2006, 1857 and 7 years by WHO 2007,
    // 121 months without weight-for-age, 19 years outside both
    let input = "sex,birth_date,visit_date,weight_kg,height_cm,head_cm,muac_cm\n\
                 1,2020-01-01,2024-12-31,18.3352,109.9593,50,16.5\n\
                 1,2020-01-01,2025-01-01,18.3406,109.9773,50,16.5\n\
                 1,2020-01-01,2025-01-30,18.4968,110.4969,50,16.5\n\
                 1,2020-01-01,2025-01-31,18.5057,110.2647,50,16.5\n\
                 1,2020-01-01,2027-01-01,22,100,,\n\
                 2,2010-01-01,2020-02-03,31,138,,\n\
                 2,2000-01-01,2019-01-31,55,160,,\n";
    let (r, out) = batch(input);
    assert_eq!(r.unwrap().ok, 7);
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|x| x.unwrap()).collect();
    let get = |row: &csv::StringRecord, name: &str| row[h.iter().position(|c| c == name).unwrap()].to_string();
    let days: Vec<String> = rows.iter().map(|r| get(r, "age_days")).collect();
    assert_eq!(days, ["1826", "1827", "1856", "1857", "2557", "3685", "6970"]);
    let refs: Vec<String> = rows.iter().map(|r| get(r, "reference")).collect();
    assert_eq!(refs, ["WHO2006", "WHO2006", "WHO2006", "WHO2007", "WHO2007", "WHO2007", "WHO2007"]);
    // medians of wfa/lhfa at days 1826, 1827, 1856 (boy): z = 0.00, scored on every day
    for row in &rows[..3] {
        assert_eq!(get(row, "zwfa"), "0.00");
        assert_eq!(get(row, "zlhfa"), "0.00");
        for c in ["zbmi", "zwfl", "zhcfa", "zmuac", "bbu", "tbu", "bbtb", "imtu"] {
            assert!(!get(row, c).is_empty(), "{c} empty at day {}", get(row, "age_days"));
        }
    }
    // day 1857 = 61 months: WHO 2007 medians
    assert_eq!(get(&rows[3], "zwfa"), "0.00");
    assert_eq!(get(&rows[3], "zlhfa"), "0.00");
    for c in ["zwfl", "zhcfa", "zmuac", "bbu", "bbtb"] {
        assert_eq!(get(&rows[3], c), "", "{c}");
    }
    // 7 years: BMI 22 at 84 months is far above +2 SD → Obesitas (5-18 year table)
    assert_eq!(get(&rows[4], "imtu"), "Obesitas");
    assert!(!get(&rows[4], "zwfa").is_empty());
    // 121 months: no weight-for-age, BMI-for-age and height-for-age still
    assert_eq!(get(&rows[5], "zwfa"), "");
    assert!(!get(&rows[5], "zbmi").is_empty() && !get(&rows[5], "zlhfa").is_empty());
    // 228 months (day 6970): still scored
    assert!(!get(&rows[6], "zbmi").is_empty());
    let (r, out) = batch("sex,age_days,weight_kg,height_cm\n2,6971,55,160\n");
    assert_eq!(r.unwrap().ok, 1);
    let line = out.lines().nth(1).unwrap().to_string();
    assert!(line.starts_with("2,6971,55,160,6971,,,,,"), "{line}");
}
