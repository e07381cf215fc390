-- Snapshots of storage volumes, as Incus keeps them: one row per snapshot, under its volume
-- (a volume's rename carries its snapshots along; deleting a volume's row deletes theirs).
-- Times are RFC 3339 in UTC as the daemon writes them (`time::rfc3339`), so they compare as
-- text; `expires_at` is '' for "never".
CREATE TABLE storage_volume_snapshots (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    volume_id   INTEGER NOT NULL REFERENCES storage_volumes (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    expires_at  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    config      TEXT NOT NULL DEFAULT '{}',
    UNIQUE (volume_id, name)
);

CREATE INDEX storage_volume_snapshots_expiry ON storage_volume_snapshots (expires_at)
    WHERE expires_at != '';
