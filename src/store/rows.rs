//! Small decoding helpers shared by the aggregates.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Result, StoreError};

/// Reads a boolean column: PostgreSQL returns BOOLEAN, SQLite an INTEGER
/// (the `Any` driver cannot decode a column SQLite declares BOOLEAN, so the
/// SQLite schema declares INTEGER 0/1).
pub(crate) fn get_bool(row: &AnyRow, col: &str) -> Result<bool> {
    match row.try_get::<bool, _>(col) {
        Ok(b) => Ok(b),
        Err(_) => Ok(row.try_get::<i64, _>(col)? != 0),
    }
}

/// True when the error is a UNIQUE or PRIMARY KEY violation.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Maps a unique violation to `Conflict(what)`, anything else to `Database`.
pub(crate) fn conflict_or(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(what())
    } else {
        StoreError::Database(e)
    }
}

pub(crate) use crate::clock::now_ms;

/// Lists of names are stored as JSON text (portable, read whole).
/// Records TOTP step `step` as used by `username` in `table` (users or
/// admins, each with a `totp_last_step` column): true only when it is
/// later than the last one used, so a code works once, across restarts,
/// nodes and two sign-ins racing with it.
pub(crate) async fn use_totp_step(
    pool: &sqlx::AnyPool,
    table: &'static str,
    username: &str,
    step: i64,
) -> Result<bool> {
    let n = sqlx::query(&format!(
        "UPDATE {table} SET totp_last_step = $1 WHERE username = $2 \
         AND (totp_last_step IS NULL OR totp_last_step < $1)"
    ))
    .bind(step)
    .bind(username)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(format!("cannot encode JSON: {e}")))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Invalid(format!("stored {what}: {e}")))
}

/// Names of groups, users and NAS clients: trimmed, non-empty, short, no
/// control characters.
pub(crate) fn check_name<'a>(kind: &str, name: &'a str) -> Result<&'a str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid(format!("{kind} name is empty")));
    }
    if name.len() > 253 {
        return Err(StoreError::Invalid(format!(
            "{kind} name is longer than 253 bytes"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{kind} name contains control characters"
        )));
    }
    Ok(name)
}

/// Group lists: checked, trimmed, duplicates removed, order kept.
pub(crate) fn clean_groups(groups: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(groups.len());
    for g in groups {
        let g = check_name("group", g)?;
        if !out.iter().any(|x| x == g) {
            out.push(g.to_string());
        }
    }
    Ok(out)
}

/// Placeholders `($1, .., $cols), ($cols+1, ..)` for a multi-row INSERT of
/// `rows` rows: one statement per chunk instead of one per row is what lets
/// the logs keep up with a busy RADIUS server. SQLite gets plain `?`: it
/// looks numbered parameters up by name in a list, once per bound value,
/// which turns a wide statement quadratic.
pub(crate) fn values_placeholders(backend: super::Backend, rows: usize, cols: usize) -> String {
    let numbered = backend == super::Backend::Postgres;
    let mut out = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            if numbered {
                out.push('$');
                out.push_str(&(r * cols + c + 1).to_string());
            } else {
                out.push('?');
            }
        }
        out.push(')');
    }
    out
}

/// `$1`-numbered placeholders as plain `?`, for a statement that SQLite
/// runs inside a multi-statement text: there `?` counts on across the
/// statements, while `$N` would name the N-th value of the whole text.
/// The values must then be bound in order of appearance.
pub(crate) fn positional(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.next_if(char::is_ascii_digit).is_some() {}
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// Row counts a multi-row statement is built for. Splitting a batch into
/// these sizes only keeps the distinct statement texts few, so every one
/// stays in the connection's prepared-statement cache; a statement per
/// batch length would be prepared again and again (SQLite's parser is the
/// dearest part of a small insert).
const STATEMENT_ROWS: [usize; 7] = [64, 32, 16, 8, 4, 2, 1];

/// Splits `items` into consecutive chunks of the sizes above, largest first.
pub(crate) fn statement_chunks<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        let size = STATEMENT_ROWS.iter().copied().find(|&n| n <= rest.len())?;
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        Some(chunk)
    })
}

#[cfg(test)]
mod placeholder_tests {
    #[test]
    fn statement_chunks_cover_everything_in_order_with_few_sizes() {
        for n in 0..200usize {
            let items: Vec<usize> = (0..n).collect();
            let chunks: Vec<&[usize]> = super::statement_chunks(&items).collect();
            let flat: Vec<usize> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
            assert_eq!(flat, items);
            assert!(chunks
                .iter()
                .all(|c| c.len().is_power_of_two() && c.len() <= 64));
            assert!(chunks.len() <= n / 64 + 6);
        }
    }

    #[test]
    fn numbered_placeholders_become_positional() {
        assert_eq!(
            super::positional("a = $1 AND b < $12 OR c = '$' || $3"),
            "a = ? AND b < ? OR c = '$' || ?"
        );
    }

    #[test]
    fn numbers_run_across_rows() {
        use crate::store::Backend;
        assert_eq!(
            super::values_placeholders(Backend::Postgres, 2, 2),
            "($1, $2), ($3, $4)"
        );
        assert_eq!(super::values_placeholders(Backend::Postgres, 1, 1), "($1)");
        assert_eq!(
            super::values_placeholders(Backend::Sqlite, 2, 2),
            "(?, ?), (?, ?)"
        );
    }
}
