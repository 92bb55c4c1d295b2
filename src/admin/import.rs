//! Importing staff accounts from CSV, for the CLI (`portico user import`)
//! and the dashboard alike: every line checked first, every bad line
//! named, and nothing imported unless every line is good.

use crate::credentials;
use crate::radius::mschap;
use crate::store::users::NewUser;
use crate::store::{Store, StoreError};

/// Users per import: each password is hashed with argon2id (deliberately
/// slow), so a bigger file would hold both cores for minutes.
pub const MAX_ROWS: usize = 10_000;

/// One CSV row, checked but not yet hashed.
#[derive(Debug, PartialEq)]
pub struct ImportRow {
    pub line: usize,
    pub username: String,
    pub password: String,
    pub groups: Vec<String>,
    pub display_name: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The bad lines, each with its line number; nothing was imported.
    #[error("{} error(s); nothing imported", .0.len())]
    Lines(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Parses and checks the whole file; every bad row is reported by line.
pub fn parse_user_csv(text: &str) -> Result<Vec<ImportRow>, Vec<String>> {
    const KNOWN: &[&str] = &["username", "password", "groups", "display_name"];
    crate::csv_import::read(text, KNOWN, &["username", "password"], "username", |row| {
        let username = row.get("username").unwrap_or_default();
        let password = row.raw("password");
        let mut problems = Vec::new();
        let key = match crate::domain::validate_username(&username) {
            Ok(u) => u.to_string(),
            Err(why) => {
                problems.push(why);
                username.clone()
            }
        };
        if let Err(e) = credentials::check_new_password(&password) {
            problems.push(e.to_string());
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let groups = row
            .get("groups")
            .map(|g| {
                g.split(';')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        Ok((
            key,
            ImportRow {
                line: row.line,
                username,
                password,
                groups,
                display_name: row.get("display_name"),
            },
        ))
    })
}

/// A staff password as stored: its argon2id hash, and its NT hash when
/// `store_nt` (MS-CHAPv2). Slow by design: call off the async threads.
pub fn staff_credentials(
    password: &str,
    store_nt: bool,
) -> Result<(String, Option<[u8; 16]>), ImportError> {
    let phc = credentials::hash_password(password).map_err(|e| ImportError::Hash(e.to_string()))?;
    Ok((phc, store_nt.then(|| mschap::nt_password_hash(password))))
}

/// Checks `text`, refuses names that exist, hashes every password (on
/// every core: argon2id is slow by design) and adds all users in one
/// transaction. Returns how many were imported.
pub async fn import_users(store: &Store, store_nt: bool, text: &str) -> Result<u64, ImportError> {
    let rows = parse_user_csv(text).map_err(ImportError::Lines)?;
    if rows.len() > MAX_ROWS {
        return Err(ImportError::Lines(vec![format!(
            "{} users in one file; import at most {MAX_ROWS} at a time",
            rows.len()
        )]));
    }
    let mut existing = Vec::new();
    for r in &rows {
        if store.users().get(&r.username).await?.is_some() {
            existing.push(format!(
                "line {}: user {} already exists",
                r.line, r.username
            ));
        }
    }
    if !existing.is_empty() {
        return Err(ImportError::Lines(existing));
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let new_users = tokio::task::spawn_blocking(move || hash_rows(rows, store_nt, threads))
        .await
        .map_err(|e| ImportError::Hash(e.to_string()))??;
    Ok(store.users().import(&new_users).await? as u64)
}

fn hash_rows(
    rows: Vec<ImportRow>,
    store_nt: bool,
    threads: usize,
) -> Result<Vec<NewUser>, ImportError> {
    let chunk = rows.len().div_ceil(threads.max(1)).max(1);
    let results: Vec<Result<Vec<NewUser>, ImportError>> = std::thread::scope(|s| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|r| {
                            let (phc, nt) = staff_credentials(&r.password, store_nt)
                                .map_err(|e| ImportError::Hash(format!("line {}: {e}", r.line)))?;
                            Ok(NewUser {
                                username: r.username.clone(),
                                display_name: r.display_name.clone(),
                                password_hash: Some(phc),
                                nt_hash: nt,
                                groups: r.groups.clone(),
                                valid_until: None,
                            })
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(ImportError::Hash("hashing thread failed".into())))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(rows.len());
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}
