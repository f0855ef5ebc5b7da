-- Messages of every named queue. A message is visible when visible_at is not
-- after now; seq keeps the order of sending among messages that became
-- visible at the same time. Times are Unix nanoseconds.
CREATE TABLE queue_messages (
    seq           INTEGER PRIMARY KEY,
    queue         TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    body          BLOB    NOT NULL,
    sent_at       INTEGER NOT NULL,
    visible_at    INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    -- The handle of the latest receipt; NULL before the first receive.
    receipt       TEXT UNIQUE,
    -- The consumer's last recorded failure, free of user content.
    last_error    TEXT    NOT NULL DEFAULT '',
    UNIQUE (queue, id)
);

CREATE INDEX queue_messages_visible ON queue_messages (queue, visible_at, seq);

-- Messages that exhausted their receives. dead_at is when the message
-- became visible for the receive it was no longer allowed.
CREATE TABLE queue_dead_letters (
    seq           INTEGER PRIMARY KEY,
    queue         TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    body          BLOB    NOT NULL,
    sent_at       INTEGER NOT NULL,
    dead_at       INTEGER NOT NULL,
    receive_count INTEGER NOT NULL,
    last_error    TEXT    NOT NULL DEFAULT '',
    UNIQUE (queue, id)
);

CREATE INDEX queue_dead_letters_dead ON queue_dead_letters (queue, dead_at, seq);
