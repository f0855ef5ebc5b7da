-- Users and their API tokens. Names are unique regardless of ASCII case, so
-- "Alice" cannot pose as "alice". Times are Unix nanoseconds, 0 for none.
CREATE TABLE users (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    created_at INTEGER NOT NULL
);

-- Tokens are kept by the SHA-256 hash of their secret only.
CREATE TABLE tokens (
    id         TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    hash       BLOB    NOT NULL UNIQUE,
    -- JSON array of scope names.
    scopes     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL DEFAULT 0,
    revoked_at INTEGER NOT NULL DEFAULT 0,
    last_used  INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX tokens_user ON tokens (user_id, created_at);
