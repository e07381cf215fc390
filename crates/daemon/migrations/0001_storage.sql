-- The storage daemon's own view of its pools and volumes, as Incus keeps one.
-- Configs are JSON objects of strings. Rows are written only after the backend did its part.

-- Server keys (`GET /1.0` config): storage.linstor.* and user.*.
CREATE TABLE config (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE storage_pools (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    driver      TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    config      TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE storage_volumes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    pool_id      INTEGER NOT NULL REFERENCES storage_pools (id) ON DELETE RESTRICT,
    project      TEXT NOT NULL,
    type         TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL,
    config       TEXT NOT NULL DEFAULT '{}',
    created_at   TEXT NOT NULL,
    UNIQUE (pool_id, project, type, name)
);
