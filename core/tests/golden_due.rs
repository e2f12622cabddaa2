//! Golden vectors `tests/golden/due.json` (issue 10) through `posyandu_core::rules`:
//! the due list's reasons for a member's history (`rules::due::reasons`, what
//! `Store::due_visits` asks) and whether this month's hari buka has taken place
//! (`rules::session::session_held`). The same file is run by the Kotlin and Python
//! binding tests (`due_reasons`, `session_held`).

use posyandu_core::growth::Sex;
use posyandu_core::model::parse_date;
use posyandu_core::rules::due::{reasons, DueReason, History};
use posyandu_core::rules::lifestage::LifeStage;
use posyandu_core::rules::session::session_held;
use serde_json::Value;

fn cases() -> Vec<Value> {
    let dir = std::env::var("POSYANDU_GOLDEN_DIR")
        .unwrap_or_else(|_| format!("{}/../tests/golden", env!("CARGO_MANIFEST_DIR")));
    let text = std::fs::read_to_string(format!("{dir}/due.json")).expect("golden file");
    let v: Value = serde_json::from_str(&text).expect("golden JSON");
    v["cases"].as_array().expect("cases").clone()
}

fn date(v: &Value) -> time::Date {
    parse_date(v.as_str().expect("date text")).expect("YYYY-MM-DD")
}

/// `NOT_WEIGHED_THIS_MONTH` (the bindings' `DueReasonCode` name) of a reason.
fn code(r: &DueReason) -> String {
    let v = serde_json::to_value(r).unwrap();
    v["reason"].as_str().unwrap().to_uppercase()
}

/// `BAYI_BALITA` → the core's life stage (serde name in lower case).
fn stage(s: &str) -> LifeStage {
    serde_json::from_value(Value::String(s.to_lowercase())).expect("life stage")
}

#[test]
fn golden_due() {
    let all = cases();
    assert!(all.len() >= 25, "golden cases: {}", all.len());
    let mut failures = Vec::new();
    for c in &all {
        let name = c["name"].as_str().unwrap();
        assert!(!c["why"].as_str().unwrap_or("").is_empty(), "{name}: no why");
        let today = date(&c["today"]);
        match c["kind"].as_str().unwrap() {
            "due_reasons" => {
                let mut h = History {
                    sex: Some(if c["sex"] == "MALE" { Sex::Male } else { Sex::Female }),
                    session_held: c["session_held"].as_bool().unwrap(),
                    ..Default::default()
                };
                for v in c["visits"].as_array().unwrap() {
                    let antigens: Vec<String> = v["antigens"]
                        .as_array()
                        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
                        .unwrap_or_default();
                    h.add_visit(
                        date(&v["date"]),
                        v["weight_kg"].as_f64(),
                        v["vitamin_a"].as_bool().unwrap_or(false),
                        &antigens,
                    );
                }
                let r = reasons(
                    date(&c["birth_date"]),
                    stage(c["stage"].as_str().unwrap()),
                    c["kek"].as_bool().unwrap(),
                    &h,
                    today,
                );
                let got: Vec<String> = r.iter().map(code).collect();
                let want: Vec<String> =
                    c["expected"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
                if got != want {
                    failures.push(format!("{name}: got {got:?}, want {want:?}"));
                }
                if let Some(labels) = c.get("expected_labels").and_then(Value::as_array) {
                    let got: Vec<String> = r.iter().map(DueReason::label_id).collect();
                    let want: Vec<String> = labels.iter().map(|x| x.as_str().unwrap().to_string()).collect();
                    if got != want {
                        failures.push(format!("{name}: labels {got:?}, want {want:?}"));
                    }
                }
            }
            "session" => {
                let dates: Vec<time::Date> = c["session_dates"].as_array().unwrap().iter().map(date).collect();
                let got = session_held(dates, today);
                if got != c["expected_held"].as_bool().unwrap() {
                    failures.push(format!("{name}: held {got}"));
                }
            }
            k => panic!("{name}: kind {k}"),
        }
    }
    assert!(failures.is_empty(), "{} golden due case(s) failed:\n{}", failures.len(), failures.join("\n"));
}
