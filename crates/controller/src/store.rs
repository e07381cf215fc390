//! Persistence of the controller state: a `Store` trait and its SQLite implementation.
//!
//! The schema is versioned with `PRAGMA user_version`; each migration in `migrations/` runs
//! once, in order, inside a transaction.

use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the database schema version {found} is newer than this Strand knows ({known}); use a newer Strand"
    )]
    TooNew { found: i64, known: i64 },
}

/// One row change of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Put { kind: &'static str, key: String, body: String },
    Delete { kind: &'static str, key: String },
}

pub trait Store: Send {
    /// Every stored object as (kind, key, body).
    fn load(&mut self) -> Result<Vec<(String, String, String)>, StoreError>;
    /// Applies all changes atomically: all or nothing.
    fn apply(&mut self, changes: &[Change]) -> Result<(), StoreError>;
}

const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_objects.sql")];

pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)?;
        // WAL with FULL sync: a commit that returned survives a crash of the process and of
        // the machine.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Self::migrate(conn)
    }

    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::migrate(Connection::open_in_memory()?)
    }

    fn migrate(mut conn: Connection) -> Result<SqliteStore, StoreError> {
        let known = MIGRATIONS.len() as i64;
        let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if found > known {
            return Err(StoreError::TooNew { found, known });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", index as i64 + 1)?;
            tx.commit()?;
        }
        Ok(SqliteStore { conn })
    }

    /// The stored body of one object, for tests and tools.
    pub fn get(&self, kind: &str, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT body FROM objects WHERE kind = ?1 AND key = ?2", params![kind, key], |row| {
                row.get(0)
            })
            .optional()?)
    }
}

impl Store for SqliteStore {
    fn load(&mut self) -> Result<Vec<(String, String, String)>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT kind, key, body FROM objects ORDER BY kind, key")?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn apply(&mut self, changes: &[Change]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut put = tx.prepare_cached(
                "INSERT INTO objects (kind, key, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body",
            )?;
            let mut delete = tx.prepare_cached("DELETE FROM objects WHERE kind = ?1 AND key = ?2")?;
            for change in changes {
                match change {
                    Change::Put { kind, key, body } => put.execute(params![kind, key, body])?,
                    Change::Delete { kind, key } => delete.execute(params![kind, key])?,
                };
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_round_trip_and_migrations_run_once() {
        let dir = std::env::temp_dir().join(format!("strand-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ctrl.db");
        {
            let mut store = SqliteStore::open(&path).unwrap();
            store
                .apply(&[
                    Change::Put { kind: "node", key: "A".into(), body: "{}".into() },
                    Change::Put { kind: "node", key: "B".into(), body: "{}".into() },
                ])
                .unwrap();
            store.apply(&[Change::Delete { kind: "node", key: "B".into() }]).unwrap();
        }
        let mut store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.load().unwrap(), vec![("node".into(), "A".into(), "{}".into())]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
