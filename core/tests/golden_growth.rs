//! Golden vectors `tests/golden/growth.json`, in Rust. The same file is run through the
//! Kotlin and Python bindings (`bindings/tests/*/`golden_growth*), so every language
//! gets the same z-scores and category labels from the one rulebook.

use posyandu_core::growth::{age_days, assess, Anthropometry, Measure, Sex};
use posyandu_core::model::parse_date;
use serde_json::Value;

const GOLDEN: &str = include_str!("../../tests/golden/growth.json");

fn opt_f(v: &Value) -> Option<f64> {
    v.as_f64()
}

#[test]
fn golden_growth() {
    let doc: Value = serde_json::from_str(GOLDEN).unwrap();
    let tol = doc["tolerance"].as_f64().unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 50);
    for c in cases {
        let why = c["why"].as_str().unwrap();
        let i = &c["input"];
        let e = &c["expected"];
        let birth = parse_date(i["birth_date"].as_str().unwrap()).unwrap();
        let on = parse_date(i["measured_on"].as_str().unwrap()).unwrap();
        let days = age_days(birth, on).unwrap();
        assert_eq!(Some(days), e["age_days"].as_i64(), "{why}");
        let g = assess(&Anthropometry {
            sex: if i["sex"] == "male" { Sex::Male } else { Sex::Female },
            age_days: days,
            weight_kg: opt_f(&i["weight_kg"]),
            length_height_cm: opt_f(&i["length_height_cm"]),
            measure: match i["measure"].as_str() {
                Some("lying") => Some(Measure::Lying),
                Some("standing") => Some(Measure::Standing),
                _ => None,
            },
            oedema: i["oedema"].as_bool().unwrap(),
            head_cm: opt_f(&i["head_circumference_cm"]),
            muac_cm: opt_f(&i["muac_cm"]),
        })
        .unwrap();
        assert_eq!(g.reference.map(|r| r.code()), e["reference"].as_str(), "{why}: reference");
        for (name, got) in [
            ("zwfa", g.zwfa),
            ("zlhfa", g.zlhfa),
            ("zwfl", g.zwfl),
            ("zbmi", g.zbmi),
            ("zhcfa", g.zhcfa),
            ("zmuac", g.zmuac),
        ] {
            match (opt_f(&e[name]), got) {
                (None, None) => {}
                (Some(x), Some(y)) => assert!((x - y).abs() <= tol + 1e-12, "{why}: {name} expected {x}, got {y}"),
                (x, y) => panic!("{why}: {name} expected {x:?}, got {y:?}"),
            }
        }
        assert_eq!(g.bbu.map(|c| c.label_id()), e["bbu_label"].as_str(), "{why}: bbu");
        assert_eq!(g.tbu.map(|c| c.label_id()), e["tbu_label"].as_str(), "{why}: tbu");
        assert_eq!(g.bbtb.map(|c| c.label_id()), e["bbtb_label"].as_str(), "{why}: bbtb");
        assert_eq!(g.imtu.map(|c| c.label_id()), e["imtu_label"].as_str(), "{why}: imtu");
    }
}
