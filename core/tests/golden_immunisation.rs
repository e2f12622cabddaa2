//! Golden vectors `tests/golden/immunisation.json` (issue 10) through
//! `posyandu_core::rules`: immunisation status, the due list's overdue antigens, the
//! vitamin A capsule for an age and a missed vitamin A round. The same file is run by
//! the Kotlin and Python binding tests.

use posyandu_core::model::{format_date, parse_date};
use posyandu_core::rules::immunisation::{self, AntigenGroup, DoseStatus};
use posyandu_core::rules::vitamin_a;
use serde_json::Value;

fn cases() -> Vec<Value> {
    let dir = std::env::var("POSYANDU_GOLDEN_DIR")
        .unwrap_or_else(|_| format!("{}/../tests/golden", env!("CARGO_MANIFEST_DIR")));
    let text = std::fs::read_to_string(format!("{dir}/immunisation.json")).expect("golden file");
    let v: Value = serde_json::from_str(&text).expect("golden JSON");
    v["cases"].as_array().expect("cases").clone()
}

fn date(v: &Value) -> time::Date {
    parse_date(v.as_str().expect("date text")).expect("YYYY-MM-DD")
}

#[test]
fn golden_immunisation() {
    let mut failures = Vec::new();
    let all = cases();
    assert!(all.len() >= 30, "golden cases: {}", all.len());
    for c in &all {
        let name = c["name"].as_str().unwrap();
        assert!(!c["why"].as_str().unwrap_or("").is_empty(), "{name}: no why");
        let mut check = |ok: bool, what: String| {
            if !ok {
                failures.push(format!("{name}: {what}"));
            }
        };
        match c["kind"].as_str().unwrap() {
            "immunisation_status" => {
                let birth = date(&c["birth_date"]);
                let today = date(&c["today"]);
                let given: Vec<(String, time::Date)> = c["given"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| (g["code"].as_str().unwrap().to_string(), date(&g["date"])))
                    .collect();
                let got = immunisation::immunisation_status(birth, &given, today);
                check(got.len() as u64 == c["expected_len"].as_u64().unwrap(), format!("len {}", got.len()));
                for (code, exp) in c["expected_status"].as_object().unwrap() {
                    let s = got.iter().find(|s| s.code == *code).map(|s| s.status);
                    let want = exp["status"].as_str().unwrap();
                    let got_date = match s {
                        Some(DoseStatus::Given { date }) => Some(format_date(date)),
                        _ => None,
                    };
                    check(
                        s.map(|s| s.as_str()) == Some(want)
                            && got_date.as_deref() == exp.get("date").and_then(Value::as_str),
                        format!("{code}: got {s:?}, want {exp}"),
                    );
                }
                let want: Vec<&str> =
                    c["expected_overdue"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
                // The due list's rule ...
                let codes: Vec<String> = given.iter().map(|(c, _)| c.clone()).collect();
                let overdue = immunisation::overdue(birth, &codes, today);
                check(overdue == want, format!("overdue {overdue:?}, want {want:?}"));
                // ... agrees with the statuses.
                let from_status: Vec<&str> = got
                    .iter()
                    .filter(|s| s.group == AntigenGroup::Anak && s.status == DoseStatus::Overdue)
                    .map(|s| s.code.as_str())
                    .collect();
                check(from_status == want, format!("overdue statuses {from_status:?}, want {want:?}"));
            }
            "vitamin_a_capsule" => {
                let got =
                    vitamin_a::expected_capsule(date(&c["birth_date"]), date(&c["on"]), c["nifas"].as_bool().unwrap());
                let want = c["expected_capsule"].as_str();
                check(got.map(|x| x.as_str()) == want, format!("capsule {got:?}, want {want:?}"));
            }
            "vitamin_a_missed" => {
                let last = c["last_vitamin_a"].as_str().map(|s| parse_date(s).unwrap());
                let got = vitamin_a::missed(date(&c["birth_date"]), last, date(&c["today"]));
                let want = c["expected_missed"].as_bool().unwrap();
                check(got == want, format!("missed {got}, want {want}"));
            }
            other => check(false, format!("unknown kind {other}")),
        }
    }
    assert!(failures.is_empty(), "{} failing golden cases:\n{}", failures.len(), failures.join("\n"));
}
