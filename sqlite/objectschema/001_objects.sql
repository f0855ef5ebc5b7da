-- Versions and delete markers of objects, with the semantics of an S3
-- bucket that has versioning enabled. Version ids sort in the order they
-- were issued, so the newest version of a key has the highest id.
CREATE TABLE objects (
    id            INTEGER PRIMARY KEY,
    key           TEXT    NOT NULL,
    version_id    TEXT    NOT NULL,
    delete_marker INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    -- Hex SHA-256 of the body, empty for a delete marker.
    etag          TEXT    NOT NULL,
    -- Unix time in nanoseconds.
    last_modified INTEGER NOT NULL,
    -- JSON object of the version's tags.
    tags          TEXT    NOT NULL,
    -- Hex SHA-256 of the version's metadata record, which covers every
    -- column above, so a changed byte of metadata reads as corrupt.
    checksum      TEXT    NOT NULL,
    -- The body as given: callers seal it before it reaches the store.
    body          BLOB
);

CREATE UNIQUE INDEX objects_key_version ON objects (key, version_id);
