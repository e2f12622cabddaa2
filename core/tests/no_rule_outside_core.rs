//! "One truth for health facts": no threshold of the rule tables is written again in
//! the Kotlin app or in the relay. The app shows what the core returns; the relay's
//! report, export and FHIR call the rulebook (`posyandu-records`, re-exported by the
//! core). A clinical number found outside the rulebook is a copy that can drift
//! (issue 10).

use std::path::{Path, PathBuf};

use posyandu_core::rules::table::TABLES;
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Threshold values of the tables that are distinctive enough to search for: numbers
/// with a fraction (23.5, 11.5) and whole numbers of 100 or more (126, 200, 280).
fn distinctive_values() -> Vec<f64> {
    fn walk(v: &Value, out: &mut Vec<f64>) {
        match v {
            Value::Object(m) => {
                if let Some(x) = m.get("value").and_then(Value::as_f64) {
                    if x.fract() != 0.0 || x >= 100.0 {
                        out.push(x);
                    }
                }
                m.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (_, text) in TABLES {
        walk(&serde_json::from_str(text).unwrap(), &mut out);
    }
    out.sort_by(f64::total_cmp);
    out.dedup();
    out
}

fn sources(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if p.is_dir() && name != "build" && name != "target" && !name.starts_with('.') {
            sources(&p, ext, out);
        } else if name.ends_with(ext) {
            out.push(p);
        }
    }
}

/// The literal `x` as code would write it (`23.5`, `23.5f`, `126`, `126.0`), not as
/// part of a longer number.
fn contains_literal(code: &str, x: f64) -> Option<usize> {
    let forms = if x.fract() == 0.0 { vec![format!("{x:.0}"), format!("{x:.1}")] } else { vec![format!("{x}")] };
    find_forms(code, &forms)
}

/// As [`contains_literal`], but a whole number only in its floating-point form
/// (`200.0`): Rust code is full of integers like 200 (lengths, HTTP codes, page sizes),
/// and an `f64` threshold is written with its fraction.
fn contains_float_literal(code: &str, x: f64) -> Option<usize> {
    let forms = if x.fract() == 0.0 { vec![format!("{x:.1}")] } else { vec![format!("{x}")] };
    find_forms(code, &forms)
}

fn find_forms(code: &str, forms: &[String]) -> Option<usize> {
    for (n, line) in code.lines().enumerate() {
        let code_part = line.split("//").next().unwrap_or("");
        for f in forms {
            let mut start = 0;
            while let Some(i) = code_part[start..].find(f.as_str()) {
                let at = start + i;
                let before = code_part[..at].chars().last();
                let after = code_part[at + f.len()..].chars().next();
                let digitish = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '.' || c == '_');
                if !digitish(before) && !digitish(after) {
                    return Some(n + 1);
                }
                start = at + f.len();
            }
        }
    }
    None
}

#[test]
fn the_app_holds_no_threshold_of_the_rule_tables() {
    let values = distinctive_values();
    assert!(values.contains(&23.5) && values.contains(&11.5), "the tables lost their thresholds: {values:?}");
    let mut files = Vec::new();
    sources(&repo().join("android-demo"), ".kt", &mut files);
    assert!(files.len() > 10, "android-demo sources not found");
    // Tests may use any number as an input; the app's code may not hold a threshold.
    files.retain(|f| !f.components().any(|c| c.as_os_str() == "test"));
    let mut found = Vec::new();
    for f in &files {
        let code = std::fs::read_to_string(f).unwrap();
        for &x in &values {
            if let Some(line) = contains_literal(&code, x) {
                found.push(format!("{}:{line}: {x}", f.strip_prefix(repo()).unwrap().display()));
            }
        }
    }
    assert!(found.is_empty(), "clinical thresholds copied into the app:\n{}", found.join("\n"));
}

#[test]
fn the_relay_and_the_bindings_hold_no_threshold_of_the_rule_tables() {
    let values = distinctive_values();
    let mut files = Vec::new();
    sources(&repo().join("server").join("src"), ".rs", &mut files);
    sources(&repo().join("bindings").join("src"), ".rs", &mut files);
    let mut found = Vec::new();
    for f in &files {
        let code = std::fs::read_to_string(f).unwrap();
        // Unit tests at the end of a file may use any number as an input.
        let code = code.split("#[cfg(test)]").next().unwrap_or("");
        for &x in &values {
            if let Some(line) = contains_float_literal(code, x) {
                found.push(format!("{}:{line}: {x}", f.strip_prefix(repo()).unwrap().display()));
            }
        }
    }
    assert!(found.is_empty(), "clinical thresholds copied outside the rulebook:\n{}", found.join("\n"));
}

#[test]
fn the_literal_finder_finds_what_it_should() {
    assert_eq!(contains_literal("if (muacCm < 11.5) red", 11.5), Some(1));
    assert_eq!(contains_literal("x\nval kek = 23.5f", 23.5), Some(2));
    assert_eq!(contains_literal("padding(123.5.dp)", 23.5), None);
    assert_eq!(contains_literal("// LiLA < 23.5 cm", 23.5), None);
    assert_eq!(contains_literal("glucose >= 126", 126.0), Some(1));
    assert_eq!(contains_literal("1260", 126.0), None);
    assert_eq!(contains_float_literal("truncate(&reason, 200)", 200.0), None);
    assert_eq!(contains_float_literal("pub const HIGH_GLUCOSE_MG_DL: f64 = 200.0;", 200.0), Some(1));
}
