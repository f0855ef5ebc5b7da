package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/whispersync/whispersync"
)

// Limits taken from DynamoDB, so that callers that fit here also fit there.
const (
	maxOwnerBytes     = 2048 // a partition key
	maxKeyBytes       = 1024 // a sort key
	maxTransactWrites = 100  // the writes of one TransactWriteItems call
)

// Tables returns the tables kept in db.
func (db *DB) Tables() whispersync.Tables {
	return &tables{db: db}
}

// tables implements whispersync.Tables on the items table.
type tables struct {
	db *DB
}

// GetItem returns the item, or ENOTFOUND.
func (t *tables) GetItem(ctx context.Context, table, owner, key string) (whispersync.Item, error) {
	if err := checkItemKey(table, owner, key); err != nil {
		return whispersync.Item{}, fmt.Errorf("sqlite: get item: %w", err)
	}

	const q = `SELECT attrs, data, revision FROM items WHERE tbl = ? AND owner = ? AND key = ?`
	item := whispersync.Item{Owner: owner, Key: key}
	var attrs string
	err := t.db.read.QueryRowContext(ctx, q, table, owner, key).Scan(&attrs, &item.Data, &item.Revision)
	if errors.Is(err, sql.ErrNoRows) {
		err = whispersync.Errorf(whispersync.ENOTFOUND, "item %q not found in table %q", key, table)
		return whispersync.Item{}, fmt.Errorf("sqlite: get item: %w", err)
	}
	if err != nil {
		return whispersync.Item{}, fmt.Errorf("sqlite: get item: %w", err)
	}
	if item.Attrs, err = decodeAttrs(attrs); err != nil {
		return whispersync.Item{}, fmt.Errorf("sqlite: get item: %w", err)
	}
	return item, nil
}

// PutItem writes the item under cond. A failed condition is ECONFLICT.
func (t *tables) PutItem(ctx context.Context, table string, item whispersync.Item, cond whispersync.Condition) error {
	w, err := prepareWrite(whispersync.Write{Table: table, Item: item, Condition: cond})
	if err != nil {
		return fmt.Errorf("sqlite: put item: %w", err)
	}
	if err := t.db.write(ctx, w.apply); err != nil {
		return fmt.Errorf("sqlite: put item: %w", err)
	}
	return nil
}

// DeleteItem removes the item. Removing a missing item succeeds, as in
// DynamoDB.
func (t *tables) DeleteItem(ctx context.Context, table, owner, key string) error {
	w, err := prepareWrite(whispersync.Write{Table: table, Item: whispersync.Item{Owner: owner, Key: key}, Delete: true})
	if err != nil {
		return fmt.Errorf("sqlite: delete item: %w", err)
	}
	if err := t.db.write(ctx, w.apply); err != nil {
		return fmt.Errorf("sqlite: delete item: %w", err)
	}
	return nil
}

// TransactWrite applies every write or none. It takes 1 to 100 writes, at
// most one per item, as DynamoDB does.
func (t *tables) TransactWrite(ctx context.Context, writes []whispersync.Write) error {
	prepared, err := prepareTransact(writes)
	if err != nil {
		return fmt.Errorf("sqlite: transact write: %w", err)
	}
	if err := t.db.write(ctx, prepared.apply); err != nil {
		return fmt.Errorf("sqlite: transact write: %w", err)
	}
	return nil
}

// transact contains the checked writes of one TransactWrite.
type transact []itemWrite

// prepareTransact checks writes as one TransactWrite call.
func prepareTransact(writes []whispersync.Write) (transact, error) {
	if len(writes) == 0 || len(writes) > maxTransactWrites {
		return nil, whispersync.Errorf(whispersync.EINVALID, "transaction of %d writes: pass 1 to %d writes", len(writes), maxTransactWrites)
	}
	prepared := make(transact, len(writes))
	seen := make(map[[3]string]bool, len(writes))
	for i, w := range writes {
		pw, err := prepareWrite(w)
		if err != nil {
			return nil, fmt.Errorf("write %d: %w", i, err)
		}
		id := [3]string{w.Table, w.Item.Owner, w.Item.Key}
		if seen[id] {
			err := whispersync.Errorf(whispersync.EINVALID, "transaction writes item %q of table %q twice: merge the writes into one", w.Item.Key, w.Table)
			return nil, fmt.Errorf("write %d: %w", i, err)
		}
		seen[id] = true
		prepared[i] = pw
	}
	return prepared, nil
}

// apply runs the writes inside the committer's transaction.
func (t transact) apply(ctx context.Context, tx *statements) error {
	for i := range t {
		if err := t[i].apply(ctx, tx); err != nil {
			return fmt.Errorf("write %d: %w", i, err)
		}
	}
	return nil
}

// Query lists one owner's items of one table in sort key order. A Limit of
// 0 lists every match.
func (t *tables) Query(ctx context.Context, q whispersync.Query) ([]whispersync.Item, error) {
	if err := checkQuery(q); err != nil {
		return nil, fmt.Errorf("sqlite: query: %w", err)
	}

	var b strings.Builder
	b.WriteString(`SELECT key, attrs, data, revision FROM items WHERE tbl = ? AND owner = ?`)
	args := []any{q.Table, q.Owner}
	if q.Prefix != "" {
		// A key range rather than LIKE: it uses the primary key index and
		// gives '%' and '_' in a prefix no special meaning.
		b.WriteString(` AND key >= ?`)
		args = append(args, q.Prefix)
		if end, ok := prefixEnd(q.Prefix); ok {
			b.WriteString(` AND key < ?`)
			args = append(args, end)
		}
	}
	order := "ASC"
	if q.After != "" {
		if q.Descending {
			b.WriteString(` AND key < ?`)
		} else {
			b.WriteString(` AND key > ?`)
		}
		args = append(args, q.After)
	}
	if q.Descending {
		order = "DESC"
	}
	b.WriteString(` ORDER BY key ` + order)
	if q.Limit > 0 {
		b.WriteString(` LIMIT ?`)
		args = append(args, q.Limit)
	}

	rows, err := t.db.read.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: query: %w", err)
	}
	defer rows.Close()
	var items []whispersync.Item
	for rows.Next() {
		item := whispersync.Item{Owner: q.Owner}
		var attrs string
		if err := rows.Scan(&item.Key, &attrs, &item.Data, &item.Revision); err != nil {
			return nil, fmt.Errorf("sqlite: query: %w", err)
		}
		if item.Attrs, err = decodeAttrs(attrs); err != nil {
			return nil, fmt.Errorf("sqlite: query: %w", err)
		}
		items = append(items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: query: %w", err)
	}
	return items, nil
}

// itemWrite is a validated write with its attributes already encoded, ready
// to run on the committer.
type itemWrite struct {
	whispersync.Write
	attrs string
}

// prepareWrite validates w and encodes its attributes.
func prepareWrite(w whispersync.Write) (itemWrite, error) {
	if err := checkItemKey(w.Table, w.Item.Owner, w.Item.Key); err != nil {
		return itemWrite{}, err
	}
	switch w.Condition {
	case whispersync.Always, whispersync.IfAbsent, whispersync.IfRevision:
	default:
		return itemWrite{}, whispersync.Errorf(whispersync.EINVALID, "unknown write condition %d: use Always, IfAbsent or IfRevision", w.Condition)
	}
	attrs := "{}"
	if len(w.Item.Attrs) > 0 && !w.Delete {
		b, err := json.Marshal(w.Item.Attrs)
		if err != nil {
			return itemWrite{}, fmt.Errorf("encode attributes: %w", err)
		}
		attrs = string(b)
	}
	return itemWrite{Write: w, attrs: attrs}, nil
}

// apply runs the write in tx. A failed condition is ECONFLICT.
func (w *itemWrite) apply(ctx context.Context, tx *statements) error {
	it := w.Item
	var res sql.Result
	var err error
	switch {
	case w.Delete && w.Condition == whispersync.IfAbsent:
		// Deleting what must not exist deletes nothing, so the write
		// only checks that it does not exist.
		var n int
		const q = `SELECT COUNT(*) FROM items WHERE tbl = ? AND owner = ? AND key = ?`
		if err := tx.QueryRowContext(ctx, q, w.Table, it.Owner, it.Key).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return w.conflict()
		}
		return nil
	case w.Delete && w.Condition == whispersync.IfRevision:
		const q = `DELETE FROM items WHERE tbl = ? AND owner = ? AND key = ? AND revision = ?`
		res, err = tx.ExecContext(ctx, q, w.Table, it.Owner, it.Key, it.Revision)
	case w.Delete:
		const q = `DELETE FROM items WHERE tbl = ? AND owner = ? AND key = ?`
		_, err = tx.ExecContext(ctx, q, w.Table, it.Owner, it.Key)
		return err
	case w.Condition == whispersync.IfAbsent:
		const q = `INSERT INTO items (tbl, owner, key, attrs, data, revision, updated_at)
			VALUES (?, ?, ?, ?, ?, 1, ?)
			ON CONFLICT (tbl, owner, key) DO NOTHING`
		res, err = tx.ExecContext(ctx, q, w.Table, it.Owner, it.Key, w.attrs, it.Data, time.Now().UnixMilli())
	case w.Condition == whispersync.IfRevision:
		const q = `UPDATE items SET attrs = ?, data = ?, revision = revision + 1, updated_at = ?
			WHERE tbl = ? AND owner = ? AND key = ? AND revision = ?`
		res, err = tx.ExecContext(ctx, q, w.attrs, it.Data, time.Now().UnixMilli(), w.Table, it.Owner, it.Key, it.Revision)
	default:
		const q = `INSERT INTO items (tbl, owner, key, attrs, data, revision, updated_at)
			VALUES (?, ?, ?, ?, ?, 1, ?)
			ON CONFLICT (tbl, owner, key) DO UPDATE SET
				attrs = excluded.attrs, data = excluded.data,
				revision = items.revision + 1, updated_at = excluded.updated_at`
		_, err = tx.ExecContext(ctx, q, w.Table, it.Owner, it.Key, w.attrs, it.Data, time.Now().UnixMilli())
		return err
	}
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return w.conflict()
	}
	return nil
}

// conflict returns the ECONFLICT error of a failed condition.
func (w *itemWrite) conflict() error {
	if w.Condition == whispersync.IfAbsent {
		return whispersync.Errorf(whispersync.ECONFLICT, "item %q of table %q already exists: read it and write with its revision", w.Item.Key, w.Table)
	}
	return whispersync.Errorf(whispersync.ECONFLICT, "item %q of table %q is missing or not at revision %d: read it again and retry", w.Item.Key, w.Table, w.Item.Revision)
}

// checkItemKey rejects what DynamoDB would reject as a table name or key.
func checkItemKey(table, owner, key string) error {
	if err := checkOwner(table, owner); err != nil {
		return err
	}
	switch {
	case key == "":
		return whispersync.Errorf(whispersync.EINVALID, "empty item key in table %q: give every item a sort key", table)
	case len(key) > maxKeyBytes:
		return whispersync.Errorf(whispersync.EINVALID, "item key of %d bytes in table %q: keep keys within %d bytes", len(key), table, maxKeyBytes)
	case !utf8.ValidString(key):
		return whispersync.Errorf(whispersync.EINVALID, "item key in table %q is not valid UTF-8: use UTF-8 keys", table)
	}
	return nil
}

// checkOwner rejects an empty table name and an empty, long or non-UTF-8
// owner.
func checkOwner(table, owner string) error {
	switch {
	case table == "":
		return whispersync.Errorf(whispersync.EINVALID, "empty table name: name the table, such as memos")
	case owner == "":
		return whispersync.Errorf(whispersync.EINVALID, "empty owner in table %q: every item belongs to a user id", table)
	case len(owner) > maxOwnerBytes:
		return whispersync.Errorf(whispersync.EINVALID, "owner of %d bytes in table %q: keep owners within %d bytes", len(owner), table, maxOwnerBytes)
	case !utf8.ValidString(owner):
		return whispersync.Errorf(whispersync.EINVALID, "owner in table %q is not valid UTF-8: use UTF-8 user ids", table)
	}
	return nil
}

// checkQuery rejects a query without table or owner and a negative limit.
func checkQuery(q whispersync.Query) error {
	if err := checkOwner(q.Table, q.Owner); err != nil {
		return err
	}
	if q.Limit < 0 {
		return whispersync.Errorf(whispersync.EINVALID, "query limit %d: use 0 for no limit or a positive number", q.Limit)
	}
	return nil
}

// prefixEnd returns the least string greater than every string that starts
// with prefix, comparing bytes, and false when there is none (a prefix of
// 0xff bytes only).
func prefixEnd(prefix string) (string, bool) {
	end := []byte(prefix)
	for len(end) > 0 && end[len(end)-1] == 0xff {
		end = end[:len(end)-1]
	}
	if len(end) == 0 {
		return "", false
	}
	end[len(end)-1]++
	return string(end), true
}

// decodeAttrs decodes stored attributes. No attributes decode to a nil map.
func decodeAttrs(s string) (map[string]string, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var attrs map[string]string
	if err := json.Unmarshal([]byte(s), &attrs); err != nil {
		return nil, fmt.Errorf("decode attributes: %w", err)
	}
	return attrs, nil
}
