//! Picking the backend from the URL and opening the pool.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Once;

use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteSynchronous};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor, Row};

use super::{Backend, Result, StoreError, SQLITE_FILE};

/// Per-connection settings; WAL itself is stored in the file (set once in
/// [`prepare_sqlite_file`]). With WAL, `synchronous = NORMAL` still keeps
/// every committed transaction across a process kill (it is in the WAL
/// file); only a power loss may drop the last commits. `busy_timeout` lets
/// the CLI and the server write the same file, each waiting up to 5 s.
const SQLITE_PRAGMAS: &str =
    "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Target {
    pub(crate) fn parse(url: &str, data_dir: &Path) -> Result<Target> {
        let url = url.trim();
        if url.is_empty() {
            return Ok(Target::Sqlite(data_dir.join(SQLITE_FILE)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_string()));
        }
        let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        else {
            return Err(StoreError::Invalid(format!(
                "database URL must be empty, sqlite://PATH, postgres:// or postgresql://, got scheme of {:?}",
                url.split(':').next().unwrap_or_default()
            )));
        };
        if rest.starts_with(":memory:") || rest.contains("mode=memory") {
            return Err(StoreError::Invalid(
                "in-memory SQLite is not supported: the CLI and the server must share a file"
                    .into(),
            ));
        }
        let path_part = rest.split('?').next().unwrap_or_default();
        if path_part.is_empty() {
            return Ok(Target::Sqlite(data_dir.join(SQLITE_FILE)));
        }
        // Let sqlx decode the path (percent-escapes) and refuse bad parameters.
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Invalid(format!("database URL: {e}")))?;
        let path = opts.get_filename();
        Ok(Target::Sqlite(if path.is_absolute() {
            path.to_path_buf()
        } else {
            data_dir.join(path)
        }))
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Target::Sqlite(_) => Backend::Sqlite,
            Target::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Creates the data directory, private to the service user on unix.
pub(crate) fn create_data_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| {
        StoreError::Invalid(format!(
            "cannot create data directory {}: {e}",
            dir.display()
        ))
    })
}

fn install_drivers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(sqlx::any::install_default_drivers);
}

pub(crate) async fn open_pool(target: &Target, settings: super::PoolSettings) -> Result<AnyPool> {
    install_drivers();
    let max_connections = settings.max_connections.max(1);
    let nice = settings.sqlite_thread_nice;
    match target {
        Target::Postgres(url) => Ok(AnyPoolOptions::new()
            .max_connections(max_connections)
            .connect(url)
            .await?),
        Target::Sqlite(path) => {
            let path = absolute(path)?;
            let opts = sqlite_options(&path);
            prepare_sqlite_file(&opts).await?;
            let url = opts.to_url_lossy().to_string();
            Ok(AnyPoolOptions::new()
                .max_connections(max_connections)
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        conn.execute(SQLITE_PRAGMAS).await?;
                        // The new connection's thread exists by now.
                        if nice > 0 {
                            lower_db_thread_priority(nice);
                        }
                        Ok(())
                    })
                })
                .connect(&url)
                .await?)
        }
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let cwd = std::env::current_dir()
        .map_err(|e| StoreError::Invalid(format!("cannot resolve {}: {e}", path.display())))?;
    Ok(cwd.join(path))
}

/// sqlx runs each SQLite connection on a thread of its own, named
/// `sqlx-sqlite-worker-N`; the kernel keeps 15 bytes of a name. (The Any
/// driver connects from a URL, so a name of our own would not get through;
/// the test below notices if sqlx renames them.)
const DB_THREAD_PREFIX: &str = "sqlx-sqlite-wor";

/// Gives SQLite's connection threads the nice value `nice`, so that on a
/// busy machine the RADIUS workers go first: a log batch of thousands of
/// rows otherwise takes a core for milliseconds at a time and delays the
/// replies queued behind it (BENCHMARKS.md: PAP p99 2.2 -> 1.5 ms on two
/// cores). The writes are batched and catch up in the gaps. Linux applies
/// the nice value per thread; a failure only costs latency, so it is
/// logged, not returned.
#[cfg(target_os = "linux")]
fn lower_db_thread_priority(nice: i32) {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    for task in tasks.flatten() {
        let Ok(comm) = std::fs::read_to_string(task.path().join("comm")) else {
            continue;
        };
        if !comm.starts_with(DB_THREAD_PREFIX) {
            continue;
        }
        let tid = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<i32>().ok());
        let Some(pid) = tid.and_then(rustix::process::Pid::from_raw) else {
            continue;
        };
        if let Err(e) = rustix::process::setpriority_process(Some(pid), nice) {
            tracing::warn!(error = %e, thread = comm.trim(), "cannot lower the database thread's priority");
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_db_thread_priority(_nice: i32) {}

fn sqlite_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        .synchronous(SqliteSynchronous::Normal)
}

/// Creates the file if missing and switches it to WAL once. Switching needs
/// an exclusive lock that busy_timeout does not wait for, so it is skipped
/// when the file is already in WAL (e.g. the server has it open).
async fn prepare_sqlite_file(opts: &SqliteConnectOptions) -> Result<()> {
    let mut conn = opts.connect().await?;
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await?
        .try_get(0)?;
    if !mode.eq_ignore_ascii_case("wal") {
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nice values of this process's SQLite connection threads.
    #[cfg(target_os = "linux")]
    fn db_thread_nice_values() -> Vec<i64> {
        let mut out = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if !comm.starts_with(DB_THREAD_PREFIX) {
                continue;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            // Fields after the command name: state is field 3, nice field 19.
            let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
            if let Some(nice) = after.split_whitespace().nth(16) {
                out.push(nice.parse().unwrap());
            }
        }
        out
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn sqlite_threads_get_the_configured_nice_value() {
        let dir = tempfile::tempdir().unwrap();
        let settings = crate::store::PoolSettings {
            max_connections: 2,
            sqlite_thread_nice: 7,
        };
        let store = crate::store::Store::open_with("", dir.path(), settings)
            .await
            .unwrap();
        store.ping().await.unwrap();
        // Other tests' stores run threads of the same name at nice 0.
        assert!(
            db_thread_nice_values().contains(&7),
            "{:?}",
            db_thread_nice_values()
        );
    }

    #[test]
    fn parses_targets() {
        let dir = Path::new("/var/lib/portico");
        assert_eq!(
            Target::parse("", dir).unwrap(),
            Target::Sqlite(dir.join("portico.db"))
        );
        assert_eq!(
            Target::parse("sqlite://", dir).unwrap(),
            Target::Sqlite(dir.join("portico.db"))
        );
        assert_eq!(
            Target::parse("sqlite:///srv/x.db", dir).unwrap(),
            Target::Sqlite(PathBuf::from("/srv/x.db"))
        );
        assert_eq!(
            Target::parse("sqlite://other.db", dir).unwrap(),
            Target::Sqlite(dir.join("other.db"))
        );
        assert_eq!(
            Target::parse("postgresql://u@h/db", dir).unwrap(),
            Target::Postgres("postgresql://u@h/db".into())
        );
        assert!(matches!(
            Target::parse("mysql://x", dir),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            Target::parse("sqlite::memory:", dir),
            Err(StoreError::Invalid(_))
        ));
    }
}
