-- Items of every table, keyed like DynamoDB items: tbl names the table, owner
-- is the partition key and key the sort key. The BINARY collation of key
-- orders sort keys by their UTF-8 bytes, as DynamoDB does.
CREATE TABLE items (
    tbl        TEXT    NOT NULL,
    owner      TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    -- JSON object of plaintext attributes: identifiers, states and dates.
    attrs      TEXT    NOT NULL DEFAULT '{}',
    -- The sealed payload.
    data       BLOB,
    -- Counts successful writes of the item, starting at 1.
    revision   INTEGER NOT NULL,
    -- Unix time of the last write, in milliseconds.
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tbl, owner, key)
);
