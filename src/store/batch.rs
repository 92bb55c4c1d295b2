//! Write batches on a kept connection: the logs' writers (accounting, the
//! authentication log) commit many rows per transaction, one transaction
//! after another, on a connection they keep. Its page cache stays warm (a
//! pooled connection that other writers used since starts cold) and their
//! statements stay prepared on it.

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection};

use super::{Backend, Result, Store};

pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// One statement of a batch: its text for the backend and its values.
pub(crate) trait BatchStatement {
    /// On SQLite the statements of a batch share one text, so their
    /// placeholders must be positional `?` (see [`super::rows::positional`]).
    fn sql(&self, backend: Backend) -> String;
    /// Rows it writes: what bounds how many statements share a text.
    fn rows(&self) -> usize;
    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q>;
}

pub(crate) struct BatchConnection {
    store: Store,
    conn: Option<PoolConnection<Any>>,
    /// False in a small pool, where a kept connection would starve
    /// everything else: the connection then goes back after each batch.
    keep: bool,
}

/// The two log writers may keep a connection each when the pool has at
/// least this many, leaving two or more for everything else.
const KEEP_FROM_POOL_SIZE: u32 = 4;

impl BatchConnection {
    pub(crate) fn new(store: &Store) -> Self {
        BatchConnection {
            store: store.clone(),
            conn: None,
            keep: store.pool.options().get_max_connections() >= KEEP_FROM_POOL_SIZE,
        }
    }

    /// Runs `statements` in ONE transaction. A failure rolls it back and
    /// lets the connection go, rather than hand a pooled connection that
    /// may still be inside a transaction to anyone else; the next batch
    /// takes a fresh one.
    pub(crate) async fn write<S: BatchStatement>(&mut self, statements: &[S]) -> Result<()> {
        if statements.is_empty() {
            return Ok(());
        }
        let backend = self.store.backend();
        let conn = match &mut self.conn {
            Some(conn) => conn,
            empty => empty.insert(self.store.pool.acquire().await?),
        };
        let result = run(conn, statements, backend).await;
        if result.is_err() {
            if let Some(mut conn) = self.conn.take() {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                let _ = conn.close().await;
            }
        } else if !self.keep {
            self.conn = None;
        }
        result
    }
}

/// Rows' worth of statements that share one text on SQLite: an
/// accounting batch of up to 64 requests (64 log rows and 64 session rows)
/// is one text. The bound keeps texts few and small, so that the
/// connection's prepared-statement cache (100 texts) holds them all
/// without growing large: a text per batch shape of 2,048 rows would be
/// megabytes each.
const ROWS_PER_TEXT: usize = 128;

/// SQLite: statements go to the database thread several per text (BEGIN
/// rides with the first, COMMIT with the last; SQLite runs a text's
/// statements in order and stops at the first error), so a batch costs a
/// round trip per text instead of one per statement, each of which wakes
/// two threads. PostgreSQL cannot take several statements with parameters
/// in one message: a round trip each.
async fn run<S: BatchStatement>(
    conn: &mut AnyConnection,
    statements: &[S],
    backend: Backend,
) -> Result<()> {
    match backend {
        Backend::Sqlite => {
            let texts = texts(statements);
            let last = texts.len().saturating_sub(1);
            for (i, group) in texts.into_iter().enumerate() {
                let mut sql = String::new();
                if i == 0 {
                    sql.push_str("BEGIN IMMEDIATE; ");
                }
                for (j, s) in group.iter().enumerate() {
                    if j > 0 {
                        sql.push_str("; ");
                    }
                    sql.push_str(&s.sql(backend));
                }
                if i == last {
                    sql.push_str("; COMMIT");
                }
                let q = group.iter().fold(sqlx::query(&sql), |q, s| s.bind(q));
                q.execute(&mut *conn).await?;
            }
        }
        Backend::Postgres => {
            sqlx::query("BEGIN").execute(&mut *conn).await?;
            for s in statements {
                let sql = s.sql(backend);
                s.bind(sqlx::query(&sql)).execute(&mut *conn).await?;
            }
            sqlx::query("COMMIT").execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Consecutive statements grouped greedily up to [`ROWS_PER_TEXT`] rows
/// (a larger statement goes alone).
fn texts<S: BatchStatement>(statements: &[S]) -> Vec<&[S]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut rows = 0;
    for (i, s) in statements.iter().enumerate() {
        if i > start && rows + s.rows() > ROWS_PER_TEXT {
            out.push(&statements[start..i]);
            start = i;
            rows = 0;
        }
        rows += s.rows();
    }
    if start < statements.len() {
        out.push(&statements[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rows(usize);

    impl BatchStatement for Rows {
        fn sql(&self, _: Backend) -> String {
            String::new()
        }
        fn rows(&self) -> usize {
            self.0
        }
        fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
            q
        }
    }

    fn shape(sizes: &[usize]) -> Vec<Vec<usize>> {
        let statements: Vec<Rows> = sizes.iter().map(|&n| Rows(n)).collect();
        texts(&statements)
            .iter()
            .map(|t| t.iter().map(|s| s.0).collect())
            .collect()
    }

    #[test]
    fn statements_share_texts_up_to_the_row_bound_in_order() {
        assert!(shape(&[]).is_empty());
        // A 64-request accounting batch: log rows and session rows, one text.
        assert_eq!(shape(&[64, 64]), vec![vec![64, 64]]);
        assert_eq!(shape(&[32, 4, 1, 32, 4, 1]), vec![vec![32, 4, 1, 32, 4, 1]]);
        // 2,048 log rows: two 64-row statements per text.
        assert_eq!(shape(&[64; 32]).len(), 16);
        assert_eq!(shape(&[64, 64, 1]), vec![vec![64, 64], vec![1]]);
        // Oversized statements go alone, nothing is lost or reordered.
        assert_eq!(shape(&[200, 1, 200]), vec![vec![200], vec![1], vec![200]]);
    }
}
