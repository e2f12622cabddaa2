//! Compares the growth module with the independent Python reference
//! (tests/fixtures/who_reference.py → tests/fixtures/growth_cases.csv): WHO 2006
//! (days 0..=1856) and WHO 2007 (61..=228 months) cases, every z-score within 5e-7
//! of the reference (which prints 6 decimals), flags, categories, the reference
//! used and the error rows exactly.

use posyandu_records::growth::{assess, run_batch, Anthropometry, GrowthReference, Measure, Sex};

const CASES: &str = include_str!("fixtures/growth_cases.csv");
const INPUT_COLS: [&str; 10] =
    ["id", "note", "sex", "age_days", "weight_kg", "height_cm", "measure", "oedema", "head_cm", "muac_cm"];
const Z: [&str; 6] = ["zwfa", "zlhfa", "zwfl", "zbmi", "zhcfa", "zmuac"];
const F: [&str; 6] = ["fwfa", "flhfa", "fwfl", "fbmi", "fhcfa", "fmuac"];
const CAT: [&str; 4] = ["bbu", "tbu", "bbtb", "imtu"];

fn cases() -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_reader(CASES.as_bytes());
    let h = r.headers().unwrap().clone();
    assert_eq!(&h.iter().take(10).collect::<Vec<_>>(), &INPUT_COLS);
    r.records().map(|x| x.unwrap()).collect()
}

fn col(name: &str) -> usize {
    let mut r = csv::Reader::from_reader(CASES.as_bytes());
    r.headers().unwrap().iter().position(|c| c == name).unwrap()
}

fn opt(s: &str) -> Option<f64> {
    (!s.is_empty()).then(|| s.parse().unwrap())
}

/// Near a category cut-off the two implementations may legitimately differ.
fn near_cutoff(z: Option<f64>) -> bool {
    z.is_some_and(|z| [-3.0, -2.0, 1.0, 2.0, 3.0].iter().any(|c| (z - c).abs() < 1e-6))
}

#[test]
fn growth_batch_matches_python_reference() {
    let cases = cases();
    // Feed only the input columns to run_batch.
    let mut input = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut input);
        w.write_record(INPUT_COLS).unwrap();
        for c in &cases {
            w.write_record(c.iter().take(INPUT_COLS.len())).unwrap();
        }
    }
    let mut output = Vec::new();
    let mut last = 0;
    let summary = run_batch(&input[..], &mut output, &mut |n| last = n).unwrap();
    assert_eq!(summary.rows as usize, cases.len());
    assert_eq!(last as usize, cases.len());

    let mut rdr = csv::Reader::from_reader(&output[..]);
    let out_h = rdr.headers().unwrap().clone();
    let base = INPUT_COLS.len();
    // input columns + age_days + reference + 6 z + 6 flags + 4 categories + error
    assert_eq!(out_h.len(), base + 19);
    assert_eq!(&out_h[base + 1], "reference");
    let out_rows: Vec<_> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(out_rows.len(), cases.len());

    let mut max_diff = 0.0f64;
    let mut compared = 0;
    let mut errors = 0;
    let mut who2007 = 0;
    for (c, o) in cases.iter().zip(&out_rows) {
        let id = &c[0];
        // pass-through unchanged
        for i in 0..base {
            assert_eq!(&c[i], &o[i], "case {id}: column {i} not passed through");
        }
        let exp_err = &c[col("exp_error")] == "1";
        let err = &o[base + 18];
        assert_eq!(exp_err, !err.is_empty(), "case {id} ({}): error mismatch: {err:?}", &c[1]);
        if exp_err {
            errors += 1;
            for k in 0..17 {
                assert!(o[base + 1 + k].is_empty(), "case {id}: error row has output");
            }
            continue;
        }
        assert_eq!(&c[col("exp_reference")], &o[base + 1], "case {id} ({}): reference", &c[1]);
        who2007 += (&o[base + 1] == "WHO2007") as usize;
        for (k, name) in Z.iter().enumerate() {
            let exp = opt(&c[col(&format!("exp_{name}"))]);
            let got = opt(&o[base + 2 + k]);
            match (exp, got) {
                (None, None) => {}
                (Some(e), Some(g)) => {
                    let d = (e - g).abs();
                    max_diff = max_diff.max(d);
                    compared += 1;
                    assert!(d <= 0.01 + 1e-9, "case {id} ({}): {name} expected {e}, got {g}", &c[1]);
                }
                _ => panic!("case {id} ({}): {name} expected {exp:?}, got {got:?}", &c[1]),
            }
            assert_eq!(&c[col(&format!("exp_{}", F[k]))], &o[base + 8 + k], "case {id}: flag {}", F[k]);
        }
        for (k, name) in CAT.iter().enumerate() {
            let zname = ["zwfa", "zlhfa", "zwfl", "zbmi"][k];
            if near_cutoff(opt(&c[col(&format!("exp_{zname}"))])) {
                continue;
            }
            assert_eq!(&c[col(&format!("exp_{name}"))], &o[base + 14 + k], "case {id}: category {name}");
        }
    }
    assert!(compared > 2000, "only {compared} z-scores compared");
    assert!(errors >= 10);
    assert!(who2007 >= 400, "only {who2007} WHO 2007 rows");
    eprintln!(
        "batch vs reference: {} rows ({errors} error rows, {who2007} WHO 2007), {compared} z-scores, \
         max |diff| = {max_diff:.4} (2-decimal output)",
        cases.len()
    );
}

#[test]
fn growth_assess_matches_python_reference_unrounded() {
    let mut max_diff = 0.0f64;
    let mut n = 0;
    let mut n2007 = 0;
    for c in cases() {
        if &c[col("exp_error")] == "1" {
            continue;
        }
        let sex = match c[2].to_ascii_lowercase().as_str() {
            "1" | "l" => Sex::Male,
            _ => Sex::Female,
        };
        let num = |s: &str| opt(&s.replace(',', "."));
        let a = Anthropometry {
            sex,
            age_days: c[3].parse().unwrap(),
            weight_kg: num(&c[4]),
            length_height_cm: num(&c[5]),
            measure: match &c[6] {
                "l" => Some(Measure::Lying),
                "h" => Some(Measure::Standing),
                _ => None,
            },
            oedema: c[7].eq_ignore_ascii_case("y"),
            head_cm: num(&c[8]),
            muac_cm: num(&c[9]),
        };
        let g = assess(&a).unwrap();
        let is_2007 = g.reference == Some(GrowthReference::Who2007);
        assert_eq!(&c[col("exp_reference")], g.reference.map_or("", |r| r.code()), "case {}", &c[0]);
        let got = [g.zwfa, g.zlhfa, g.zwfl, g.zbmi, g.zhcfa, g.zmuac];
        for (k, name) in Z.iter().enumerate() {
            let exp = opt(&c[col(&format!("exp_{name}"))]);
            match (exp, got[k]) {
                (None, None) => {}
                (Some(e), Some(v)) => {
                    let d = (e - v).abs();
                    max_diff = max_diff.max(d);
                    n += 1;
                    n2007 += is_2007 as usize;
                    // reference printed to 6 decimals: at most half a unit of the
                    // 6th decimal apart (plus float noise)
                    assert!(d <= 5e-7 + 1e-12, "case {}: {name} expected {e}, got {v} (diff {d:e})", &c[0]);
                }
                (e, v) => panic!("case {}: {name} expected {e:?}, got {v:?}", &c[0]),
            }
        }
    }
    assert!(n > 2000 && n2007 > 700, "{n} z-scores, {n2007} of them WHO 2007");
    eprintln!("assess vs reference: {n} z-scores ({n2007} WHO 2007), max |diff| = {max_diff:.2e}");
}
