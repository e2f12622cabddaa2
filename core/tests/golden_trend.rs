//! Golden vectors `tests/golden/trend.json` (issue 10) through
//! `posyandu_core::rules::trend::series_trends`: the N/T/O/B of each weighing, as
//! the store (`weight_trends`), the growth preview and the Puskesmas report give it.
//! The same file is run by the Kotlin and Python binding tests (`kms_trends`).

use posyandu_core::growth::Sex;
use posyandu_core::model::parse_date;
use posyandu_core::rules::trend;
use serde_json::Value;

fn cases() -> Vec<Value> {
    let dir = std::env::var("POSYANDU_GOLDEN_DIR")
        .unwrap_or_else(|_| format!("{}/../tests/golden", env!("CARGO_MANIFEST_DIR")));
    let text = std::fs::read_to_string(format!("{dir}/trend.json")).expect("golden file");
    let v: Value = serde_json::from_str(&text).expect("golden JSON");
    v["cases"].as_array().expect("cases").clone()
}

fn date(v: &Value) -> time::Date {
    parse_date(v.as_str().expect("date text")).expect("YYYY-MM-DD")
}

#[test]
fn golden_trend() {
    let all = cases();
    assert!(all.len() >= 20, "golden cases: {}", all.len());
    let mut failures = Vec::new();
    for c in &all {
        let name = c["name"].as_str().unwrap();
        assert!(!c["why"].as_str().unwrap_or("").is_empty(), "{name}: no why");
        let sex = match c["sex"].as_str().unwrap() {
            "male" => Sex::Male,
            "female" => Sex::Female,
            s => panic!("{name}: sex {s}"),
        };
        let w: Vec<(time::Date, f64)> = c["weighings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (date(&x["date"]), x["weight_kg"].as_f64().unwrap()))
            .collect();
        let got: Vec<Option<&str>> =
            trend::series_trends(sex, date(&c["birth_date"]), &w).into_iter().map(|t| t.map(|t| t.code())).collect();
        let want: Vec<Option<&str>> = c["expected"].as_array().unwrap().iter().map(Value::as_str).collect();
        if got != want {
            failures.push(format!("{name}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{} golden trend case(s) failed:\n{}", failures.len(), failures.join("\n"));
}
