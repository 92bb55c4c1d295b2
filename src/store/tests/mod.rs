//! Store tests. Every test body runs against SQLite (temporary directory)
//! and PostgreSQL (a fresh database per test under
//! `PORTICO_TEST_DATABASE_URL`, dropped afterwards).

mod admin;
mod core;
mod identity;
mod logs;
mod network;

use std::future::Future;
use std::path::{Path, PathBuf};

use rand::RngCore;
use sqlx::Connection;

use super::{Backend, Store};

const PG_ENV: &str = "PORTICO_TEST_DATABASE_URL";

/// What a test body gets: the open store, its data directory and the URL
/// it was opened with (to open it again). The temporary directory itself
/// stays with the runner, so it outlives the body whatever the body keeps.
pub(super) struct Harness {
    pub store: Store,
    pub dir: PathBuf,
    pub url: String,
}

impl Harness {
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// Opens a second store on the same database and data directory.
    pub async fn reopen(&self) -> super::Result<Store> {
        Store::open(&self.url, self.data_dir(), 4).await
    }
}

/// Runs `body` once on SQLite, then once on PostgreSQL.
pub(super) async fn both<F, Fut>(body: F)
where
    F: Fn(Harness) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_sqlite(&body).await;
    run_postgres(&body).await;
}

async fn run_sqlite<F, Fut>(body: &F)
where
    F: Fn(Harness) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open("", dir.path(), 4)
        .await
        .expect("open SQLite store");
    assert_eq!(store.backend(), Backend::Sqlite);
    body(Harness {
        store,
        dir: dir.path().to_path_buf(),
        url: String::new(),
    })
    .await;
    drop(dir);
}

async fn run_postgres<F, Fut>(body: &F)
where
    F: Fn(Harness) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(base) = std::env::var(PG_ENV).ok().filter(|s| !s.is_empty()) else {
        let reason = format!("skipping PostgreSQL half: {PG_ENV} not set");
        if std::env::var_os("CI").is_some() {
            panic!("{reason}");
        }
        eprintln!("{reason}");
        return;
    };
    let name = format!("portico_t_{:016x}", rand::rngs::OsRng.next_u64());
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .expect("connect to PORTICO_TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let url = with_database(&base, &name);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&url, dir.path(), 4)
        .await
        .expect("open PostgreSQL store");
    assert_eq!(store.backend(), Backend::Postgres);
    // Run in a task so that a failing body still lets us drop the database.
    let outcome = tokio::spawn(body(Harness {
        store: store.clone(),
        dir: dir.path().to_path_buf(),
        url,
    }))
    .await;
    drop(dir);
    store.close().await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await;
    let _ = admin.close().await;
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("PostgreSQL half did not finish: {e}");
    }
}

/// Replaces the database name (the URL path) of a PostgreSQL URL.
fn with_database(base: &str, name: &str) -> String {
    let (main, query) = match base.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (base, None),
    };
    let scheme_end = main.find("://").map(|i| i + 3).unwrap_or(0);
    let authority_end = main[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(main.len());
    let mut url = format!("{}/{}", &main[..authority_end], name);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

#[test]
fn with_database_replaces_the_path() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgresql://u:p@h/db?sslmode=disable", "x"),
        "postgresql://u:p@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
}

/// Milliseconds for test timestamps.
pub(super) fn now() -> i64 {
    super::rows::now_ms()
}

/// Raw bytes of one BLOB column, for the encryption-at-rest checks.
pub(super) async fn raw_blob(store: &Store, sql: &str) -> Vec<u8> {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_one(&store.pool)
        .await
        .expect("raw query")
        .try_get::<Vec<u8>, _>(0)
        .expect("blob column")
}
