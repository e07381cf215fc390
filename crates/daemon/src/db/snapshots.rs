//! Snapshot rows (`storage_volume_snapshots`, migration 0002): one per snapshot of a volume,
//! found by the volume's key and the snapshot's name.

use super::{config_from_text, config_to_text, is_unique_violation, Db, DbError, VolumeKey};
use crate::backend::{Config, VolumeType};
use rusqlite::{params, OptionalExtension};

/// A snapshot row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRow {
    pub volume: VolumeKey,
    pub name: String,
    pub description: String,
    /// When it expires (RFC 3339, UTC); `None`: never.
    pub expires_at: Option<String>,
    pub created_at: String,
    /// The volume's config when the snapshot was taken.
    pub config: Config,
}

/// The id of a volume, from its key (?1 pool, ?2 project, ?3 type, ?4 name).
const VOLUME_ID: &str = "(SELECT v.id FROM storage_volumes v JOIN storage_pools p ON p.id = v.pool_id \
     WHERE p.name = ?1 AND v.project = ?2 AND v.type = ?3 AND v.name = ?4)";

const COLUMNS: &str =
    "p.name, v.project, v.type, v.name, s.name, s.description, s.expires_at, s.created_at, s.config";

const FROM: &str = "storage_volume_snapshots s JOIN storage_volumes v ON v.id = s.volume_id \
     JOIN storage_pools p ON p.id = v.pool_id";

type Fields = (String, String, String, String, String, String, String, String, String);

fn fields(row: &rusqlite::Row<'_>) -> rusqlite::Result<Fields> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
    ))
}

fn snapshot_row(f: Fields) -> Result<SnapshotRow, DbError> {
    let (pool, project, vol_type, volume, name, description, expires_at, created_at, config) = f;
    let what = format!("snapshot {name} of volume {vol_type}/{volume} of pool {pool}");
    let vol_type = VolumeType::parse(&vol_type)
        .ok_or_else(|| DbError::Corrupt(format!("{what}: unknown type \"{vol_type}\"")))?;
    Ok(SnapshotRow {
        volume: VolumeKey { pool, project, vol_type, name: volume },
        config: config_from_text(&config, &what)?,
        name,
        description,
        expires_at: Some(expires_at).filter(|e| !e.is_empty()),
        created_at,
    })
}

impl Db {
    /// The snapshots of a volume, oldest first.
    pub fn snapshots(&self, volume: &VolumeKey) -> Result<Vec<SnapshotRow>, DbError> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE p.name = ?1 AND v.project = ?2 AND v.type = ?3 AND v.name = ?4 \
             ORDER BY s.created_at, s.id"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(params![volume.pool, volume.project, volume.vol_type.as_str(), volume.name], fields)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(snapshot_row).collect()
    }

    pub fn snapshot(&self, volume: &VolumeKey, name: &str) -> Result<Option<SnapshotRow>, DbError> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE p.name = ?1 AND v.project = ?2 AND v.type = ?3 AND v.name = ?4 \
             AND s.name = ?5"
        );
        let row = conn
            .prepare_cached(&sql)?
            .query_row(
                params![volume.pool, volume.project, volume.vol_type.as_str(), volume.name, name],
                fields,
            )
            .optional()?;
        row.map(snapshot_row).transpose()
    }

    /// Snapshots (of every volume) whose expiry is at or before `now` (RFC 3339, UTC).
    pub fn expired_snapshots(&self, now: &str) -> Result<Vec<SnapshotRow>, DbError> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE s.expires_at != '' AND s.expires_at <= ?1 ORDER BY s.expires_at, s.id"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![now], fields)?.collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(snapshot_row).collect()
    }

    pub fn insert_snapshot(&self, row: &SnapshotRow) -> Result<(), DbError> {
        let conn = self.conn();
        let v = &row.volume;
        let sql = format!(
            "INSERT INTO storage_volume_snapshots (volume_id, name, description, expires_at, created_at, config) \
             SELECT id, ?5, ?6, ?7, ?8, ?9 FROM storage_volumes WHERE id = {VOLUME_ID}"
        );
        let inserted = conn
            .prepare_cached(&sql)?
            .execute(params![
                v.pool,
                v.project,
                v.vol_type.as_str(),
                v.name,
                row.name,
                row.description,
                row.expires_at.as_deref().unwrap_or(""),
                row.created_at,
                config_to_text(&row.config)
            ])
            .map_err(|err| {
                if is_unique_violation(&err) {
                    DbError::Exists(format!("snapshot {} of {v}", row.name))
                } else {
                    err.into()
                }
            })?;
        if inserted == 0 {
            return Err(DbError::Missing(v.to_string()));
        }
        Ok(())
    }

    pub fn update_snapshot(
        &self,
        volume: &VolumeKey,
        name: &str,
        description: &str,
        expires_at: Option<&str>,
    ) -> Result<(), DbError> {
        let conn = self.conn();
        let sql = format!(
            "UPDATE storage_volume_snapshots SET description = ?6, expires_at = ?7 \
             WHERE volume_id = {VOLUME_ID} AND name = ?5"
        );
        let changed = conn.prepare_cached(&sql)?.execute(params![
            volume.pool,
            volume.project,
            volume.vol_type.as_str(),
            volume.name,
            name,
            description,
            expires_at.unwrap_or("")
        ])?;
        if changed == 0 {
            return Err(DbError::Missing(format!("snapshot {name} of {volume}")));
        }
        Ok(())
    }

    pub fn rename_snapshot(&self, volume: &VolumeKey, name: &str, new_name: &str) -> Result<(), DbError> {
        let conn = self.conn();
        let sql = format!(
            "UPDATE storage_volume_snapshots SET name = ?6 WHERE volume_id = {VOLUME_ID} AND name = ?5"
        );
        let changed = conn
            .prepare_cached(&sql)?
            .execute(params![
                volume.pool,
                volume.project,
                volume.vol_type.as_str(),
                volume.name,
                name,
                new_name
            ])
            .map_err(|err| {
                if is_unique_violation(&err) {
                    DbError::Exists(format!("snapshot {new_name} of {volume}"))
                } else {
                    err.into()
                }
            })?;
        if changed == 0 {
            return Err(DbError::Missing(format!("snapshot {name} of {volume}")));
        }
        Ok(())
    }

    pub fn delete_snapshot(&self, volume: &VolumeKey, name: &str) -> Result<(), DbError> {
        let conn = self.conn();
        let sql = format!("DELETE FROM storage_volume_snapshots WHERE volume_id = {VOLUME_ID} AND name = ?5");
        conn.prepare_cached(&sql)?.execute(params![
            volume.pool,
            volume.project,
            volume.vol_type.as_str(),
            volume.name,
            name
        ])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ContentType;
    use crate::db::{PoolRow, VolumeRow};

    fn setup() -> (Db, VolumeKey) {
        let db = Db::open_in_memory().expect("db");
        db.insert_pool(&PoolRow {
            name: "p".into(),
            driver: "linstor".into(),
            description: String::new(),
            status: "Created".into(),
            config: Config::new(),
        })
        .expect("pool");
        db.insert_volume(&VolumeRow {
            pool: "p".into(),
            project: "default".into(),
            vol_type: VolumeType::Custom,
            name: "v".into(),
            description: String::new(),
            content_type: ContentType::Filesystem,
            config: Config::new(),
            created_at: crate::time::now(),
        })
        .expect("volume");
        let key = VolumeKey {
            pool: "p".into(),
            project: "default".into(),
            vol_type: VolumeType::Custom,
            name: "v".into(),
        };
        (db, key)
    }

    fn snap(key: &VolumeKey, name: &str, created: &str, expires: Option<&str>) -> SnapshotRow {
        SnapshotRow {
            volume: key.clone(),
            name: name.into(),
            description: String::new(),
            expires_at: expires.map(str::to_string),
            created_at: created.into(),
            config: [("size".to_string(), "1GiB".to_string())].into(),
        }
    }

    #[test]
    fn snapshots_round_trip_follow_their_volume_and_expire() {
        let (db, key) = setup();
        let s1 = snap(&key, "s1", "2026-01-01T00:00:00.000000000Z", None);
        db.insert_snapshot(&s1).expect("s1");
        db.insert_snapshot(&snap(
            &key,
            "s0",
            "2026-01-02T00:00:00.000000000Z",
            Some("2026-02-01T00:00:00.000000000Z"),
        ))
        .expect("s0");
        assert!(matches!(db.insert_snapshot(&s1), Err(DbError::Exists(_))));
        let missing = VolumeKey { name: "nope".into(), ..key.clone() };
        assert!(matches!(db.insert_snapshot(&snap(&missing, "x", "t", None)), Err(DbError::Missing(_))));
        let names: Vec<String> = db.snapshots(&key).expect("list").into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["s1", "s0"], "oldest first");
        assert_eq!(db.snapshot(&key, "s1").expect("get"), Some(s1.clone()));

        assert_eq!(db.expired_snapshots("2026-01-31T00:00:00.000000000Z").expect("none").len(), 0);
        let expired = db.expired_snapshots("2026-02-01T00:00:00.000000000Z").expect("one");
        assert_eq!(expired.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["s0"]);

        db.update_snapshot(&key, "s1", "before upgrade", Some("2030-01-01T00:00:00.000000000Z"))
            .expect("update");
        let got = db.snapshot(&key, "s1").expect("get").expect("there");
        assert_eq!(got.description, "before upgrade");
        assert_eq!(got.expires_at.as_deref(), Some("2030-01-01T00:00:00.000000000Z"));
        assert!(matches!(db.rename_snapshot(&key, "s1", "s0"), Err(DbError::Exists(_))));
        db.rename_snapshot(&key, "s1", "first").expect("rename");
        assert!(db.snapshot(&key, "s1").expect("get").is_none());

        // A renamed volume keeps its snapshots; a deleted one takes them along.
        db.rename_volume(&key, "w").expect("rename volume");
        let renamed = VolumeKey { name: "w".into(), ..key.clone() };
        assert_eq!(db.snapshots(&renamed).expect("list").len(), 2);
        db.delete_snapshot(&renamed, "first").expect("delete");
        assert_eq!(db.snapshots(&renamed).expect("list").len(), 1);
        db.delete_volume(&renamed).expect("delete volume");
        assert!(db.expired_snapshots("9999").expect("none").is_empty());
    }
}
