//! The layering rule, checked on the source tree: only `shared/src/db/` (repositories and
//! the pool/transaction plumbing) may name the PostgreSQL driver or the pool.

use std::{
    fs,
    path::{Path, PathBuf},
};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Source files of the three crates that name the driver outside `shared/src/db/`.
fn driver_leaks(root: &Path) -> (usize, Vec<String>) {
    let mut files = Vec::new();
    for crate_src in ["shared/src", "functions/src", "local/src"] {
        rust_files(&root.join(crate_src), &mut files);
    }
    let db_dir = root.join("shared/src/db");
    let leaks = files
        .iter()
        .filter(|f| !f.starts_with(&db_dir))
        .filter(|f| {
            let text = fs::read_to_string(f).unwrap_or_default();
            text.contains("tokio_postgres") || text.contains("deadpool_postgres")
        })
        .map(|f| f.strip_prefix(root).unwrap_or(f).display().to_string())
        .collect();
    (files.len(), leaks)
}

#[test]
fn the_database_driver_appears_only_under_shared_src_db() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let (scanned, leaks) = driver_leaks(root);
    assert!(scanned > 20, "the scan found the source tree ({scanned} files)");
    assert!(leaks.is_empty(), "the driver leaks outside shared/src/db/: {leaks:?}");
}

#[test]
fn a_leak_is_caught() {
    let root = std::env::temp_dir().join(format!("crm-arch-{}", std::process::id()));
    for (file, text) in [
        ("shared/src/db/users/repository.rs", "use tokio_postgres::Row;"),
        ("functions/src/tickets.rs", "use deadpool_postgres::Pool;"),
        ("shared/src/service/users.rs", "use crate::db::Tx;"),
    ] {
        let path = root.join(file);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    let (scanned, leaks) = driver_leaks(&root);
    let _ = fs::remove_dir_all(&root);
    assert_eq!(scanned, 3);
    assert_eq!(leaks, ["functions/src/tickets.rs"]);
}
