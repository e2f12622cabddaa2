//! Golden vectors `tests/golden/screening.json`: adult screening and NIK warnings,
//! through `posyandu_core::rules` (the same file is run by the Kotlin and Python
//! binding tests).

use posyandu_core::model::{parse_date, Measurements, Sex};
use posyandu_core::rules::{identity, screening};
use serde_json::Value;

fn cases() -> Vec<Value> {
    let dir = std::env::var("POSYANDU_GOLDEN_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/golden").to_string());
    let text = std::fs::read_to_string(format!("{dir}/screening.json")).expect("tests/golden/screening.json");
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    doc["cases"].as_array().expect("cases").clone()
}

fn sex(v: &Value) -> Sex {
    match v.as_str() {
        Some("male") => Sex::Male,
        Some("female") => Sex::Female,
        other => panic!("sex {other:?}"),
    }
}

fn date(v: &Value) -> time::Date {
    parse_date(v.as_str().expect("date")).expect("YYYY-MM-DD")
}

#[test]
fn golden_screening() {
    let mut failures = Vec::new();
    let mut n = 0;
    for c in cases().iter().filter(|c| c["kind"] == "screening") {
        n += 1;
        let why = c["why"].as_str().expect("every case says why");
        let m: Measurements = serde_json::from_value(c["measurements"].clone()).expect("measurements");
        let r = screening::screen(sex(&c["sex"]), date(&c["birth_date"]), date(&c["visit_date"]), &m);
        // Serialised field names and codes are those of the golden file.
        let got = serde_json::to_value(&r).unwrap();
        let exp = &c["expected"];
        let same = exp.as_object().unwrap().iter().all(|(k, e)| match (e, &got[k]) {
            (Value::Number(a), Value::Number(b)) => (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-9,
            (a, b) => a == b,
        });
        if !same {
            failures.push(format!("{why}\n  expected {exp}\n  got      {got}"));
        }
    }
    assert!(n >= 20, "only {n} screening cases");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn golden_nik_warnings() {
    let mut failures = Vec::new();
    let mut n = 0;
    for c in cases().iter().filter(|c| c["kind"] == "nik") {
        n += 1;
        let why = c["why"].as_str().expect("every case says why");
        let w = identity::nik_warnings(c["nik"].as_str().unwrap(), date(&c["birth_date"]), sex(&c["sex"]));
        let codes: Vec<&str> = w.iter().map(|w| w.code()).collect();
        let exp: Vec<&str> = c["expected"]["codes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        if codes != exp {
            failures.push(format!("{why}: expected {exp:?}, got {codes:?}"));
        }
        if let Some(msgs) = c["expected"]["messages"].as_array() {
            let got: Vec<String> = w.iter().map(|w| w.message()).collect();
            let exp: Vec<&str> = msgs.iter().map(|v| v.as_str().unwrap()).collect();
            if got != exp {
                failures.push(format!("{why}: expected {exp:?}, got {got:?}"));
            }
        }
    }
    assert!(n >= 5, "only {n} NIK cases");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
