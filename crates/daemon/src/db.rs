//! The daemon's database (`DATA/storage.db`): server keys, storage pools and volumes.
//!
//! Rules kept here:
//! - The schema is versioned with `PRAGMA user_version`; each file of `migrations/` runs once,
//!   in order, in its own transaction.
//! - SQLite runs in WAL mode with `synchronous=FULL`: an answered change survives a crash.
//! - Each method is one statement or one transaction; callers write a row only after the
//!   backend did its part (or undo the backend's part when the write fails).

use crate::backend::{Config, ContentType, PoolRef, VolumeSpec, VolumeType};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

mod snapshots;

pub use snapshots::SnapshotRow;

const MIGRATIONS: &[&str] =
    &[include_str!("../migrations/0001_storage.sql"), include_str!("../migrations/0002_snapshots.sql")];

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A row the daemon cannot read back (edited by hand, or written by a newer version).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The row to insert exists already.
    #[error("{0} exists already")]
    Exists(String),
    /// The row to change does not exist.
    #[error("{0} not found")]
    Missing(String),
    #[error(
        "the database at {path} is newer than this program (schema {found}, this program knows {known})"
    )]
    TooNew { path: String, found: i64, known: usize },
}

/// A storage pool row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRow {
    pub name: String,
    pub driver: String,
    pub description: String,
    pub status: String,
    pub config: Config,
}

impl PoolRow {
    pub fn pool_ref(&self) -> PoolRef {
        PoolRef { name: self.name.clone(), config: self.config.clone() }
    }
}

/// A storage volume row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeRow {
    pub pool: String,
    pub project: String,
    pub vol_type: VolumeType,
    pub name: String,
    pub description: String,
    pub content_type: ContentType,
    pub config: Config,
    pub created_at: String,
}

impl VolumeRow {
    pub fn spec(&self) -> VolumeSpec {
        VolumeSpec {
            project: self.project.clone(),
            vol_type: self.vol_type,
            name: self.name.clone(),
            content_type: self.content_type,
            config: self.config.clone(),
        }
    }
}

/// Identity of a volume: pool, project, type, name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VolumeKey {
    pub pool: String,
    pub project: String,
    pub vol_type: VolumeType,
    pub name: String,
}

impl std::fmt::Display for VolumeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "storage volume {}/{} of pool {} (project {})",
            self.vol_type, self.name, self.pool, self.project
        )
    }
}

pub struct Db {
    conn: Mutex<Connection>,
}

fn config_to_text(config: &Config) -> String {
    serde_json::to_string(config).unwrap_or_else(|_| "{}".to_string())
}

fn config_from_text(text: &str, what: &str) -> Result<Config, DbError> {
    serde_json::from_str(text).map_err(|err| DbError::Corrupt(format!("config of {what}: {err}")))
}

fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::ConstraintViolation)
}

const VOLUME_COLUMNS: &str =
    "p.name, v.project, v.type, v.name, v.description, v.content_type, v.config, v.created_at";

fn volume_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<VolumeRow, DbError>> {
    let pool: String = row.get(0)?;
    let project: String = row.get(1)?;
    let vol_type: String = row.get(2)?;
    let name: String = row.get(3)?;
    let description: String = row.get(4)?;
    let content_type: String = row.get(5)?;
    let config: String = row.get(6)?;
    let created_at: String = row.get(7)?;
    let what = format!("volume {vol_type}/{name} of pool {pool}");
    Ok((|| {
        Ok(VolumeRow {
            vol_type: VolumeType::parse(&vol_type)
                .ok_or_else(|| DbError::Corrupt(format!("{what}: unknown type \"{vol_type}\"")))?,
            content_type: ContentType::parse(&content_type).ok_or_else(|| {
                DbError::Corrupt(format!("{what}: unknown content type \"{content_type}\""))
            })?,
            config: config_from_text(&config, &what)?,
            pool,
            project,
            name,
            description,
            created_at,
        })
    })())
}

impl Db {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Db::migrate(conn, &path.display().to_string())
    }

    /// A database in memory (tests).
    pub fn open_in_memory() -> Result<Db, DbError> {
        let conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Db::migrate(conn, ":memory:")
    }

    fn migrate(mut conn: Connection, path: &str) -> Result<Db, DbError> {
        let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if found > MIGRATIONS.len() as i64 {
            return Err(DbError::TooNew { path: path.to_string(), found, known: MIGRATIONS.len() });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(found).unwrap_or(0)) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", index as i64 + 1)?;
            tx.commit()?;
        }
        // Every statement of this module stays prepared (they are fewer than this).
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Db { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // ---- server config ----------------------------------------------------------------------

    pub fn server_config(&self) -> Result<Config, DbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT key, value FROM config")?;
        let rows = stmt.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))?;
        Ok(rows.collect::<Result<Config, _>>()?)
    }

    /// Replaces the whole server config.
    pub fn set_server_config(&self, config: &Config) -> Result<(), DbError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.prepare_cached("DELETE FROM config")?.execute([])?;
        for (key, value) in config {
            tx.prepare_cached("INSERT INTO config (key, value) VALUES (?1, ?2)")?
                .execute(params![key, value])?;
        }
        tx.commit()?;
        Ok(())
    }

    // ---- pools -------------------------------------------------------------------------------

    fn pool_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, String, String)> {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
    }

    fn pool_row(fields: (String, String, String, String, String)) -> Result<PoolRow, DbError> {
        let (name, driver, description, status, config) = fields;
        let config = config_from_text(&config, &format!("pool {name}"))?;
        Ok(PoolRow { name, driver, description, status, config })
    }

    /// Every pool, sorted by name.
    pub fn pools(&self) -> Result<Vec<PoolRow>, DbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT name, driver, description, status, config FROM storage_pools ORDER BY name",
        )?;
        let rows = stmt.query_map([], Db::pool_from)?.collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(Db::pool_row).collect()
    }

    pub fn pool(&self, name: &str) -> Result<Option<PoolRow>, DbError> {
        let conn = self.conn();
        let row = conn
            .prepare_cached(
                "SELECT name, driver, description, status, config FROM storage_pools WHERE name = ?1",
            )?
            .query_row([name], Db::pool_from)
            .optional()?;
        row.map(Db::pool_row).transpose()
    }

    pub fn insert_pool(&self, pool: &PoolRow) -> Result<(), DbError> {
        let conn = self.conn();
        let mut insert = conn.prepare_cached(
            "INSERT INTO storage_pools (name, driver, description, status, config) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        insert
            .execute(params![
                pool.name,
                pool.driver,
                pool.description,
                pool.status,
                config_to_text(&pool.config)
            ])
            .map_err(|err| {
                if is_unique_violation(&err) {
                    DbError::Exists(format!("storage pool {}", pool.name))
                } else {
                    err.into()
                }
            })?;
        Ok(())
    }

    pub fn update_pool(&self, name: &str, description: &str, config: &Config) -> Result<(), DbError> {
        let conn = self.conn();
        let changed = conn
            .prepare_cached("UPDATE storage_pools SET description = ?2, config = ?3 WHERE name = ?1")?
            .execute(params![name, description, config_to_text(config)])?;
        if changed == 0 {
            return Err(DbError::Missing(format!("storage pool {name}")));
        }
        Ok(())
    }

    pub fn delete_pool(&self, name: &str) -> Result<(), DbError> {
        let conn = self.conn();
        conn.prepare_cached("DELETE FROM storage_pools WHERE name = ?1")?.execute([name])?;
        Ok(())
    }

    // ---- volumes -----------------------------------------------------------------------------

    /// The volumes of a pool (of one project, or of all), sorted by type then name.
    pub fn volumes(&self, pool: &str, project: Option<&str>) -> Result<Vec<VolumeRow>, DbError> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {VOLUME_COLUMNS} FROM storage_volumes v JOIN storage_pools p ON p.id = v.pool_id \
             WHERE p.name = ?1 AND (?2 IS NULL OR v.project = ?2) ORDER BY v.type, v.name, v.project"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![pool, project], volume_from_row)?.collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().collect()
    }

    pub fn volume(&self, key: &VolumeKey) -> Result<Option<VolumeRow>, DbError> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {VOLUME_COLUMNS} FROM storage_volumes v JOIN storage_pools p ON p.id = v.pool_id \
             WHERE p.name = ?1 AND v.project = ?2 AND v.type = ?3 AND v.name = ?4"
        );
        let row = conn
            .prepare_cached(&sql)?
            .query_row(params![key.pool, key.project, key.vol_type.as_str(), key.name], volume_from_row)
            .optional()?;
        row.transpose()
    }

    pub fn insert_volume(&self, volume: &VolumeRow) -> Result<(), DbError> {
        let conn = self.conn();
        let mut insert = conn.prepare_cached(
            "INSERT INTO storage_volumes (pool_id, project, type, name, description, content_type, config, created_at) \
             SELECT id, ?2, ?3, ?4, ?5, ?6, ?7, ?8 FROM storage_pools WHERE name = ?1",
        )?;
        let inserted = insert
            .execute(params![
                volume.pool,
                volume.project,
                volume.vol_type.as_str(),
                volume.name,
                volume.description,
                volume.content_type.as_str(),
                config_to_text(&volume.config),
                volume.created_at
            ])
            .map_err(|err| {
                if is_unique_violation(&err) {
                    DbError::Exists(format!("storage volume {}/{}", volume.vol_type, volume.name))
                } else {
                    err.into()
                }
            })?;
        if inserted == 0 {
            return Err(DbError::Missing(format!("storage pool {}", volume.pool)));
        }
        Ok(())
    }

    fn volume_where() -> &'static str {
        "pool_id = (SELECT id FROM storage_pools WHERE name = ?1) AND project = ?2 AND type = ?3 AND name = ?4"
    }

    pub fn update_volume(&self, key: &VolumeKey, description: &str, config: &Config) -> Result<(), DbError> {
        let conn = self.conn();
        let sql =
            format!("UPDATE storage_volumes SET description = ?5, config = ?6 WHERE {}", Db::volume_where());
        let changed = conn.prepare_cached(&sql)?.execute(params![
            key.pool,
            key.project,
            key.vol_type.as_str(),
            key.name,
            description,
            config_to_text(config)
        ])?;
        if changed == 0 {
            return Err(DbError::Missing(key.to_string()));
        }
        Ok(())
    }

    pub fn rename_volume(&self, key: &VolumeKey, new_name: &str) -> Result<(), DbError> {
        let conn = self.conn();
        let sql = format!("UPDATE storage_volumes SET name = ?5 WHERE {}", Db::volume_where());
        let changed = conn
            .prepare_cached(&sql)?
            .execute(params![key.pool, key.project, key.vol_type.as_str(), key.name, new_name])
            .map_err(|err| {
                if is_unique_violation(&err) {
                    DbError::Exists(format!("storage volume {}/{new_name}", key.vol_type))
                } else {
                    err.into()
                }
            })?;
        if changed == 0 {
            return Err(DbError::Missing(key.to_string()));
        }
        Ok(())
    }

    pub fn delete_volume(&self, key: &VolumeKey) -> Result<(), DbError> {
        let conn = self.conn();
        let sql = format!("DELETE FROM storage_volumes WHERE {}", Db::volume_where());
        conn.prepare_cached(&sql)?.execute(params![
            key.pool,
            key.project,
            key.vol_type.as_str(),
            key.name
        ])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(name: &str) -> PoolRow {
        PoolRow {
            name: name.into(),
            driver: "linstor".into(),
            description: "d".into(),
            status: "Created".into(),
            config: [("linstor.resource_group.name".to_string(), name.to_string())].into(),
        }
    }

    fn volume(pool: &str, vol_type: VolumeType, name: &str) -> VolumeRow {
        VolumeRow {
            pool: pool.into(),
            project: "default".into(),
            vol_type,
            name: name.into(),
            description: String::new(),
            content_type: ContentType::Filesystem,
            config: [("size".to_string(), "1GiB".to_string())].into(),
            created_at: crate::time::now(),
        }
    }

    #[test]
    fn pools_and_volumes_round_trip() {
        let db = Db::open_in_memory().unwrap();
        db.insert_pool(&pool("b")).unwrap();
        db.insert_pool(&pool("a")).unwrap();
        assert!(matches!(db.insert_pool(&pool("a")), Err(DbError::Exists(_))));
        assert_eq!(db.pools().unwrap().iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(db.pool("a").unwrap(), Some(pool("a")));
        db.update_pool("a", "new", &Config::new()).unwrap();
        assert_eq!(db.pool("a").unwrap().unwrap().description, "new");
        assert!(matches!(db.update_pool("zz", "", &Config::new()), Err(DbError::Missing(_))));

        let v1 = volume("a", VolumeType::Custom, "v1");
        db.insert_volume(&v1).unwrap();
        db.insert_volume(&volume("a", VolumeType::Container, "c1")).unwrap();
        db.insert_volume(&volume("b", VolumeType::Custom, "v1")).unwrap();
        assert!(matches!(db.insert_volume(&v1), Err(DbError::Exists(_))));
        assert!(matches!(db.insert_volume(&volume("zz", VolumeType::Custom, "v")), Err(DbError::Missing(_))));
        let names: Vec<String> =
            db.volumes("a", None).unwrap().iter().map(|v| format!("{}/{}", v.vol_type, v.name)).collect();
        assert_eq!(names, ["container/c1", "custom/v1"]);
        assert!(db.volumes("a", Some("other")).unwrap().is_empty());

        let key = VolumeKey {
            pool: "a".into(),
            project: "default".into(),
            vol_type: VolumeType::Custom,
            name: "v1".into(),
        };
        assert_eq!(db.volume(&key).unwrap(), Some(v1.clone()));
        db.rename_volume(&key, "v2").unwrap();
        assert_eq!(db.volume(&key).unwrap(), None);
        let key2 = VolumeKey { name: "v2".into(), ..key.clone() };
        db.update_volume(&key2, "desc", &Config::new()).unwrap();
        let got = db.volume(&key2).unwrap().unwrap();
        assert_eq!((got.description.as_str(), got.config.len()), ("desc", 0));
        // A pool with volumes cannot go.
        assert!(db.delete_pool("a").is_err());
        db.delete_volume(&key2).unwrap();
        db.delete_volume(&VolumeKey { vol_type: VolumeType::Container, name: "c1".into(), ..key }).unwrap();
        db.delete_pool("a").unwrap();
        assert_eq!(db.pool("a").unwrap(), None);
    }

    #[test]
    fn server_config_and_reopen() {
        let dir = std::env::temp_dir().join(format!("strand-daemon-db-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("storage.db");
        {
            let db = Db::open(&path).unwrap();
            let config: Config =
                [("storage.linstor.controller_connection".to_string(), "a,b".to_string())].into();
            db.set_server_config(&config).unwrap();
            db.insert_pool(&pool("p")).unwrap();
        }
        let db = Db::open(&path).unwrap();
        assert_eq!(db.server_config().unwrap()["storage.linstor.controller_connection"], "a,b");
        assert_eq!(db.pools().unwrap().len(), 1);
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
