//! The `posyandu-relay export` command: pulls `/v1/export` page by page until no more
//! remains, writing each page to `DIR/export-<UTC time>-<n>.<ext>` and then the next
//! cursor to the `--since-file`, both atomically (write a temporary file, fsync,
//! rename). A crash between the two leaves the old cursor, so the page is fetched again
//! on the next run (households are upserted by id, so a repeat is harmless).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};

use super::{CURSOR_HEADER, MORE_HEADER};

#[derive(Debug, Clone)]
pub struct ExportArgs {
    pub url: String,
    pub token: String,
    pub since_file: PathBuf,
    /// `ndjson` or `csv`.
    pub format: String,
    pub out: PathBuf,
    pub limit: usize,
    pub posyandu: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub pages: usize,
    pub households: usize,
    pub bytes: u64,
    pub files: Vec<PathBuf>,
    pub cursor: String,
}

/// Writes `data` to `path` atomically. The file is created 0600 (owner only): export
/// pages hold names and NIKs, the cursor file reveals what was exported.
pub fn write_atomic(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().context("path has no file name")?.to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        #[cfg(unix)]
        {
            // A leftover temporary file of an earlier run keeps its mode: set it.
            use std::os::unix::fs::PermissionsExt as _;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename to {}", path.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Runs the export loop (blocking).
pub fn run_export(a: &ExportArgs) -> anyhow::Result<ExportSummary> {
    if !matches!(a.format.as_str(), "ndjson" | "csv") {
        bail!("format must be ndjson or csv");
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
    let mut cursor = match std::fs::read_to_string(&a.since_file) {
        Ok(s) => s.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", a.since_file.display())),
    };
    let client = reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(300)).build()?;
    let stamp = time::OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        stamp.year(),
        u8::from(stamp.month()),
        stamp.day(),
        stamp.hour(),
        stamp.minute(),
        stamp.second()
    );
    let base = a.url.trim_end_matches('/');
    let mut sum = ExportSummary::default();
    loop {
        let mut req = client
            .get(format!("{base}/v1/export"))
            .bearer_auth(&a.token)
            .query(&[("format", a.format.as_str()), ("limit", &a.limit.to_string())]);
        if !cursor.is_empty() {
            req = req.query(&[("since", cursor.as_str())]);
        }
        if let Some(p) = &a.posyandu {
            req = req.query(&[("posyandu", p.as_str())]);
        }
        let resp = req.send().context("request to relay failed")?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().unwrap_or_default();
            bail!("relay answered {status}: {}", body.chars().take(300).collect::<String>());
        }
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let next = header(CURSOR_HEADER).context("response without cursor header")?;
        let more = header(MORE_HEADER).as_deref() == Some("true");
        let households: usize = header("x-posyandu-households").and_then(|v| v.parse().ok()).unwrap_or(0);
        if header(super::RESET_HEADER).as_deref() == Some("true") {
            eprintln!(
                "PERHATIAN: relay dipulihkan dari cadangan; ekspor dimulai ulang dari awal. \
                 Ganti (jangan tambahkan) data yang sudah diimpor dengan halaman berikut."
            );
        }
        if let Some(doc) = header("x-posyandu-unreadable") {
            eprintln!(
                "PERHATIAN: rumah tangga {doc} tidak dapat dibaca di relay; ekspor berhenti sebelum data itu \
                 (akan dicoba lagi). Minta operator relay menjalankan `posyandu-relay admin problems`."
            );
        }
        let left_out: usize = header("x-posyandu-unreadable-records").and_then(|v| v.parse().ok()).unwrap_or(0);
        if left_out > 0 {
            eprintln!("PERHATIAN: {left_out} catatan tidak terbaca dilewati (lihat `posyandu-relay admin problems`).");
        }
        let body = resp.bytes().context("reading response body")?;
        sum.pages += 1;
        if households > 0 {
            let file = a.out.join(format!("export-{stamp}-{:04}.{}", sum.pages, a.format));
            write_atomic(&file, &body)?;
            sum.files.push(file);
        }
        write_atomic(&a.since_file, format!("{next}\n").as_bytes())?;
        sum.households += households;
        sum.bytes += body.len() as u64;
        eprintln!(
            "halaman {}: {} rumah tangga, {} byte (total {} rumah tangga){}",
            sum.pages,
            households,
            body.len(),
            sum.households,
            if more { "; lanjut…" } else { "; selesai" }
        );
        cursor = next;
        if !more {
            break;
        }
    }
    sum.cursor = cursor;
    Ok(sum)
}
