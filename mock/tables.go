// Package mock holds in-memory fakes of the whispersync interfaces for unit
// tests of packages that depend on them.
package mock

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/whispersync/whispersync"
)

// Tables is an in-memory whispersync.Tables that follows the interface's
// documented semantics. It is safe for concurrent use. Items go in and come
// out as deep copies, so a caller that changes an item it passed or received
// does not change the stored one.
//
// The zero value is not ready: use NewTables.
type Tables struct {
	// Fault, when set, is called before each operation with the method name
	// ("GetItem", "PutItem", "DeleteItem", "Query" or "TransactWrite") and
	// the table. A non-nil result fails the operation with that error and
	// changes nothing. TransactWrite calls it once for each write.
	Fault func(op, table string) error

	mu     sync.Mutex
	tables map[string]map[itemKey]whispersync.Item
}

type itemKey struct{ owner, key string }

var _ whispersync.Tables = (*Tables)(nil)

// NewTables returns empty tables.
func NewTables() *Tables {
	return &Tables{tables: make(map[string]map[itemKey]whispersync.Item)}
}

// GetItem returns a copy of the item, or ENOTFOUND.
func (t *Tables) GetItem(ctx context.Context, table, owner, key string) (whispersync.Item, error) {
	if err := t.begin(ctx, "GetItem", table); err != nil {
		return whispersync.Item{}, err
	}
	if err := validateKey(table, owner, key); err != nil {
		return whispersync.Item{}, err
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	item, ok := t.tables[table][itemKey{owner, key}]
	if !ok {
		return whispersync.Item{}, whispersync.Errorf(whispersync.ENOTFOUND, "item %q of owner %q not found in table %q", key, owner, table)
	}
	return cloneItem(item), nil
}

// PutItem stores a copy of the item under cond and sets its revision.
func (t *Tables) PutItem(ctx context.Context, table string, item whispersync.Item, cond whispersync.Condition) error {
	return t.transact(ctx, "PutItem", []whispersync.Write{{Table: table, Item: item, Condition: cond}})
}

// DeleteItem removes the item. Deleting a missing item succeeds, as it does
// in DynamoDB.
func (t *Tables) DeleteItem(ctx context.Context, table, owner, key string) error {
	item := whispersync.Item{Owner: owner, Key: key}
	return t.transact(ctx, "DeleteItem", []whispersync.Write{{Table: table, Item: item, Delete: true}})
}

// Query returns copies of the owner's items in the table whose sort key
// starts with q.Prefix, in sort-key order. A Limit of 0 or less means no
// limit. After excludes keys up to and including it in the listing order, so
// a caller pages by passing the last key it received.
func (t *Tables) Query(ctx context.Context, q whispersync.Query) ([]whispersync.Item, error) {
	if err := t.begin(ctx, "Query", q.Table); err != nil {
		return nil, err
	}
	if q.Table == "" || q.Owner == "" {
		return nil, whispersync.Errorf(whispersync.EINVALID, "query needs a table and an owner: got table %q, owner %q", q.Table, q.Owner)
	}

	t.mu.Lock()
	var items []whispersync.Item
	for k, item := range t.tables[q.Table] {
		if k.owner != q.Owner || !strings.HasPrefix(k.key, q.Prefix) {
			continue
		}
		if q.After != "" && (!q.Descending && k.key <= q.After || q.Descending && k.key >= q.After) {
			continue
		}
		items = append(items, cloneItem(item))
	}
	t.mu.Unlock()

	slices.SortFunc(items, func(a, b whispersync.Item) int {
		if q.Descending {
			return strings.Compare(b.Key, a.Key)
		}
		return strings.Compare(a.Key, b.Key)
	})
	if q.Limit > 0 && len(items) > q.Limit {
		items = items[:q.Limit]
	}
	return items, nil
}

// TransactWrite applies every write or none. A failed condition fails the
// whole transaction with ECONFLICT; two writes to the same item are EINVALID,
// as in DynamoDB.
func (t *Tables) TransactWrite(ctx context.Context, writes []whispersync.Write) error {
	return t.transact(ctx, "TransactWrite", writes)
}

func (t *Tables) transact(ctx context.Context, op string, writes []whispersync.Write) error {
	for _, w := range writes {
		if err := t.begin(ctx, op, w.Table); err != nil {
			return err
		}
	}
	if len(writes) == 0 {
		return whispersync.Errorf(whispersync.EINVALID, "transaction has no writes: pass at least one")
	}
	seen := make(map[[3]string]bool, len(writes))
	for _, w := range writes {
		if err := validateKey(w.Table, w.Item.Owner, w.Item.Key); err != nil {
			return err
		}
		id := [3]string{w.Table, w.Item.Owner, w.Item.Key}
		if seen[id] {
			return whispersync.Errorf(whispersync.EINVALID, "transaction writes item %q of owner %q in table %q twice: merge the writes", w.Item.Key, w.Item.Owner, w.Table)
		}
		seen[id] = true
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	for _, w := range writes {
		stored, exists := t.tables[w.Table][itemKey{w.Item.Owner, w.Item.Key}]
		if err := checkCondition(w, stored, exists); err != nil {
			return err
		}
	}
	for _, w := range writes {
		t.apply(w)
	}
	return nil
}

// apply carries out one write whose condition holds; t.mu is held.
func (t *Tables) apply(w whispersync.Write) {
	k := itemKey{w.Item.Owner, w.Item.Key}
	rows := t.tables[w.Table]
	if w.Delete {
		delete(rows, k)
		return
	}
	if rows == nil {
		rows = make(map[itemKey]whispersync.Item)
		t.tables[w.Table] = rows
	}
	item := cloneItem(w.Item)
	item.Revision = rows[k].Revision + 1
	rows[k] = item
}

func (t *Tables) begin(ctx context.Context, op, table string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if t.Fault != nil {
		return t.Fault(op, table)
	}
	return nil
}

func checkCondition(w whispersync.Write, stored whispersync.Item, exists bool) error {
	switch w.Condition {
	case whispersync.Always:
		return nil
	case whispersync.IfAbsent:
		if exists {
			return whispersync.Errorf(whispersync.ECONFLICT, "item %q of owner %q already exists in table %q", w.Item.Key, w.Item.Owner, w.Table)
		}
		return nil
	case whispersync.IfRevision:
		if !exists || stored.Revision != w.Item.Revision {
			return whispersync.Errorf(whispersync.ECONFLICT, "item %q of owner %q in table %q is not at revision %d: read it again and retry", w.Item.Key, w.Item.Owner, w.Table, w.Item.Revision)
		}
		return nil
	}
	return whispersync.Errorf(whispersync.EINVALID, "unknown write condition %d: use Always, IfAbsent or IfRevision", w.Condition)
}

func validateKey(table, owner, key string) error {
	if table == "" || owner == "" || key == "" {
		return whispersync.Errorf(whispersync.EINVALID, "item needs a table, an owner and a key: got table %q, owner %q, key %q", table, owner, key)
	}
	return nil
}

func cloneItem(item whispersync.Item) whispersync.Item {
	item.Attrs = maps.Clone(item.Attrs)
	item.Data = slices.Clone(item.Data)
	return item
}
