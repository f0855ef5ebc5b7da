-- Identity and the API edge: passwords, account locks, login sessions,
-- service accounts, daily request counts, the block list and failed
-- authentication counters. Times are Unix nanoseconds, 0 for none.

-- Passwords as argon2id hashes in the PHC string format.
CREATE TABLE passwords (
    user_id    TEXT    PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash       TEXT    NOT NULL,
    changed_at INTEGER NOT NULL
);

-- A locked user cannot authenticate in any way until unlocked.
CREATE TABLE user_locks (
    user_id   TEXT    PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    locked_at INTEGER NOT NULL
);

-- Web UI sessions, kept by the SHA-256 hash of their secret only.
CREATE TABLE sessions (
    id         TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       BLOB    NOT NULL UNIQUE,
    csrf       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id);

-- Machine clients, kept by the SHA-256 hash of their secret only.
CREATE TABLE service_accounts (
    client_id   TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_hash BLOB    NOT NULL,
    -- JSON array of scope names.
    scopes      TEXT    NOT NULL,
    -- Hex SHA-256 of the pinned client certificate, '' when none.
    cert_sha256 TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    disabled_at INTEGER NOT NULL DEFAULT 0
);

-- Requests per key (a principal name) and UTC day, YYYY-MM-DD.
CREATE TABLE quotas (
    key   TEXT    NOT NULL,
    day   TEXT    NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, day)
) WITHOUT ROWID;

-- Blocked client addresses (kind 'ip', a CIDR prefix) and principals
-- (kind 'principal', a name such as token:t_…).
CREATE TABLE blocklist (
    kind       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;

-- Consecutive failed authentication attempts per key, such as
-- user:alice or ip:192.0.2.1; cleared by a success.
CREATE TABLE auth_failures (
    key      TEXT    PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_at  INTEGER NOT NULL
) WITHOUT ROWID;
