//! Batch z-scores from CSV, like WHO Anthro's survey mode.
//!
//! Input columns: `sex` (1/2 or L/P), either `birth_date` + `visit_date`
//! (YYYY-MM-DD) or `age_days`, `weight_kg`, `height_cm`, and optionally
//! `measure` (l/h, empty = by age), `oedema` (y/n, empty = n), `head_cm`,
//! `muac_cm`. Other columns pass through unchanged. Output: the input columns,
//! then `age_days`, `reference` (`WHO2006` for days 0..=1856, `WHO2007` for 61..=228
//! completed months, empty outside both; [`super::growth_reference`]),
//! `zwfa,zlhfa,zwfl,zbmi,zhcfa,zmuac`, the flags `fwfa,flhfa,fwfl,fbmi,fhcfa,fmuac`,
//! the categories `bbu,tbu,bbtb,imtu` and `error`. With `WHO2007`, `zwfa` is
//! weight-for-age 2007 (to 120 months), `zlhfa` height-for-age 2007, `zbmi`
//! BMI-for-age 2007, `imtu`/`tbu` the 5-18 year categories; `zwfl`, `zhcfa`,
//! `zmuac` and `bbu` stay empty. A bad row gets its message in `error` and no scores; only a
//! missing required column, an over-long line, too many rows or an I/O
//! failure stop the batch.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

use super::{age_days, assess, round_half_away, Anthropometry, GrowthAssessment, GrowthError, Measure, Sex};

/// Longest accepted input line, bytes.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Most data rows accepted in one batch.
pub const MAX_ROWS: u64 = 1_000_000;
/// How often `progress` is called (rows), besides once at the end.
const PROGRESS_EVERY: u64 = 1000;

const OUT_COLUMNS: [&str; 19] = [
    "age_days",
    "reference",
    "zwfa",
    "zlhfa",
    "zwfl",
    "zbmi",
    "zhcfa",
    "zmuac",
    "fwfa",
    "flhfa",
    "fwfl",
    "fbmi",
    "fhcfa",
    "fmuac",
    "bbu",
    "tbu",
    "bbtb",
    "imtu",
    "error",
];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSummary {
    /// Data rows read.
    pub rows: u64,
    /// Rows scored without error.
    pub ok: u64,
    /// Rows with an error message.
    pub errors: u64,
    /// Rows with at least one implausible flag.
    pub flagged: u64,
}

/// Reader that fails once a line grows past `MAX_LINE_BYTES`.
struct LineLimit<R> {
    inner: R,
    current: usize,
    line: u64,
}

#[derive(Debug)]
struct LineTooLong(u64);
impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {} too long", self.0)
    }
}
impl std::error::Error for LineTooLong {}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if b == b'\n' {
                self.current = 0;
                self.line += 1;
            } else {
                self.current += 1;
                if self.current > MAX_LINE_BYTES {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, LineTooLong(self.line + 1)));
                }
            }
        }
        Ok(n)
    }
}

fn map_csv_err(e: csv::Error) -> GrowthError {
    if let csv::ErrorKind::Io(ioe) = e.kind() {
        if let Some(LineTooLong(line)) = ioe.get_ref().and_then(|i| i.downcast_ref::<LineTooLong>()) {
            return GrowthError::LineTooLong { line: *line, limit: MAX_LINE_BYTES };
        }
        return GrowthError::Io(ioe.to_string());
    }
    GrowthError::Csv(e.to_string())
}

struct Columns {
    sex: usize,
    birth: Option<usize>,
    visit: Option<usize>,
    age: Option<usize>,
    weight: usize,
    height: usize,
    measure: Option<usize>,
    oedema: Option<usize>,
    head: Option<usize>,
    muac: Option<usize>,
}

impl Columns {
    fn from_header(h: &csv::StringRecord) -> Result<Columns, GrowthError> {
        let find =
            |name: &str| h.iter().position(|c| c.trim().trim_start_matches('\u{feff}').eq_ignore_ascii_case(name));
        let need = |name: &str| find(name).ok_or_else(|| GrowthError::MissingColumn(name.to_string()));
        let birth = find("birth_date");
        let visit = find("visit_date");
        let age = find("age_days");
        if age.is_none() {
            match (birth, visit) {
                (Some(_), Some(_)) => {}
                (None, _) => return Err(GrowthError::MissingColumn("age_days atau birth_date".into())),
                (_, None) => return Err(GrowthError::MissingColumn("visit_date".into())),
            }
        }
        Ok(Columns {
            sex: need("sex")?,
            birth,
            visit,
            age,
            weight: need("weight_kg")?,
            height: need("height_cm")?,
            measure: find("measure"),
            oedema: find("oedema"),
            head: find("head_cm"),
            muac: find("muac_cm"),
        })
    }
}

fn field(rec: &csv::StringRecord, i: Option<usize>) -> &str {
    i.and_then(|i| rec.get(i)).map(str::trim).unwrap_or("")
}

fn parse_num(field_name: &'static str, s: &str) -> Result<Option<f64>, GrowthError> {
    if s.is_empty() {
        return Ok(None);
    }
    // Accept a decimal comma ("12,5") as typed on Indonesian devices.
    let v: f64 = s
        .replace(',', ".")
        .parse()
        .map_err(|_| GrowthError::InvalidNumber { field: field_name, value: s.chars().take(40).collect() })?;
    Ok(Some(v))
}

fn parse_date(s: &str) -> Result<time::Date, GrowthError> {
    let bad = || GrowthError::InvalidDate(s.chars().take(40).collect());
    let mut it = s.split('-');
    let (Some(y), Some(m), Some(d), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let y: i32 = y.parse().map_err(|_| bad())?;
    let m: u8 = m.parse().map_err(|_| bad())?;
    let d: u8 = d.parse().map_err(|_| bad())?;
    let month = time::Month::try_from(m).map_err(|_| bad())?;
    time::Date::from_calendar_date(y, month, d).map_err(|_| bad())
}

fn parse_row(rec: &csv::StringRecord, c: &Columns) -> Result<Anthropometry, GrowthError> {
    let sex = Sex::parse(field(rec, Some(c.sex)))?;
    let age_str = field(rec, c.age);
    let age = if !age_str.is_empty() {
        let v: i64 = age_str
            .parse()
            .map_err(|_| GrowthError::InvalidNumber { field: "age_days", value: age_str.chars().take(40).collect() })?;
        v
    } else {
        let b = field(rec, c.birth);
        let v = field(rec, c.visit);
        if b.is_empty() || v.is_empty() {
            return Err(GrowthError::MissingAge);
        }
        age_days(parse_date(b)?, parse_date(v)?)?
    };
    let oedema = match field(rec, c.oedema).to_ascii_lowercase().as_str() {
        "" | "n" => false,
        "y" => true,
        other => return Err(GrowthError::UnknownOedema(other.chars().take(40).collect())),
    };
    Ok(Anthropometry {
        sex,
        age_days: age,
        weight_kg: parse_num("weight_kg", field(rec, Some(c.weight)))?,
        length_height_cm: parse_num("height_cm", field(rec, Some(c.height)))?,
        measure: Measure::parse(field(rec, c.measure))?,
        oedema,
        head_cm: parse_num("head_cm", field(rec, c.head))?,
        muac_cm: parse_num("muac_cm", field(rec, c.muac))?,
    })
}

fn fmt_z(z: Option<f64>) -> String {
    match z {
        Some(z) => {
            let r = round_half_away(z, 2);
            // avoid "-0.00"
            let r = if r == 0.0 { 0.0 } else { r };
            format!("{r:.2}")
        }
        None => String::new(),
    }
}

fn fmt_flag(f: bool) -> &'static str {
    if f {
        "1"
    } else {
        ""
    }
}

fn output_fields(age: Option<i64>, g: Option<&GrowthAssessment>, err: Option<&GrowthError>) -> Vec<String> {
    let mut v = Vec::with_capacity(OUT_COLUMNS.len());
    v.push(age.map(|a| a.to_string()).unwrap_or_default());
    match g {
        Some(g) => {
            v.push(g.reference.map(|r| r.code()).unwrap_or("").to_string());
            for z in [g.zwfa, g.zlhfa, g.zwfl, g.zbmi, g.zhcfa, g.zmuac] {
                v.push(fmt_z(z));
            }
            let f = &g.flags;
            for b in [f.wfa, f.lhfa, f.wfl, f.bmi, f.hcfa, f.muac] {
                v.push(fmt_flag(b).to_string());
            }
            v.push(g.bbu.map(|c| c.label_id()).unwrap_or("").to_string());
            v.push(g.tbu.map(|c| c.label_id()).unwrap_or("").to_string());
            v.push(g.bbtb.map(|c| c.label_id()).unwrap_or("").to_string());
            v.push(g.imtu.map(|c| c.label_id()).unwrap_or("").to_string());
        }
        None => v.extend(std::iter::repeat_n(String::new(), OUT_COLUMNS.len() - 2)),
    }
    v.push(err.map(|e| e.to_string()).unwrap_or_default());
    v
}

/// Scores every row of `input` (CSV with header) and writes the result CSV to
/// `output`. `progress` receives the number of rows done so far (every 1000
/// rows and at the end).
pub fn run_batch<R: Read, W: Write>(
    input: R,
    output: W,
    progress: &mut dyn FnMut(u64),
) -> Result<BatchSummary, GrowthError> {
    let limited = LineLimit { inner: input, current: 0, line: 0 };
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(limited);
    let mut wtr = csv::WriterBuilder::new().flexible(false).from_writer(output);

    let header = rdr.headers().map_err(map_csv_err)?.clone();
    let cols = Columns::from_header(&header)?;
    let width = header.len();

    let mut out_header: Vec<String> = header.iter().map(str::to_string).collect();
    out_header.extend(OUT_COLUMNS.iter().map(|s| s.to_string()));
    wtr.write_record(&out_header).map_err(map_csv_err)?;

    let mut summary = BatchSummary::default();
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // An over-long line or an I/O failure stops the batch; a
                // malformed row (e.g. invalid UTF-8) is reported in its row.
                let ge = map_csv_err(e);
                match ge {
                    GrowthError::LineTooLong { .. } | GrowthError::Io(_) => return Err(ge),
                    _ => {
                        summary.rows += 1;
                        if summary.rows > MAX_ROWS {
                            return Err(GrowthError::TooManyRows(MAX_ROWS));
                        }
                        summary.errors += 1;
                        let mut fields = vec![String::new(); width];
                        fields.extend(output_fields(None, None, Some(&ge)));
                        wtr.write_record(&fields).map_err(map_csv_err)?;
                        continue;
                    }
                }
            }
        }
        summary.rows += 1;
        if summary.rows > MAX_ROWS {
            return Err(GrowthError::TooManyRows(MAX_ROWS));
        }
        let mut fields: Vec<String> = rec.iter().take(width).map(str::to_string).collect();
        fields.resize(width, String::new());

        let result = if rec.len() != width {
            Err(GrowthError::ColumnCount { expected: width, found: rec.len() })
        } else {
            parse_row(&rec, &cols).and_then(|a| assess(&a).map(|g| (a.age_days, g)))
        };
        match result {
            Ok((age, g)) => {
                summary.ok += 1;
                let f = g.flags;
                if f.wfa || f.lhfa || f.wfl || f.bmi || f.hcfa || f.muac {
                    summary.flagged += 1;
                }
                fields.extend(output_fields(Some(age), Some(&g), None));
            }
            Err(e) => {
                summary.errors += 1;
                fields.extend(output_fields(None, None, Some(&e)));
            }
        }
        wtr.write_record(&fields).map_err(map_csv_err)?;
        if summary.rows % PROGRESS_EVERY == 0 {
            progress(summary.rows);
        }
    }
    wtr.flush().map_err(|e| GrowthError::Io(e.to_string()))?;
    progress(summary.rows);
    Ok(summary)
}
