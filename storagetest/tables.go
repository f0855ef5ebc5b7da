package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/whispersync/whispersync"
)

// Tables runs the contract tests of whispersync.Tables. open returns new,
// empty tables for each subtest and arranges their cleanup with t.Cleanup.
//
// Beyond the interface documentation, the contract fixes these choices,
// each the one DynamoDB makes:
//
//   - Deleting a missing item succeeds. An item put again after a delete
//     starts over at revision 1.
//   - IfRevision on a missing item is ECONFLICT.
//   - An empty table name, owner or key is EINVALID.
//   - A transaction of no writes, or with two writes to one item, is
//     EINVALID.
//   - Sort keys compare by their UTF-8 bytes. A Query Limit of 0 lists every
//     match. After excludes the keys up to and including it in the listing
//     order, so a caller pages by passing the last key it received.
//
// An item stored without attributes may read back with nil or empty Attrs,
// and one without data with nil or empty Data.
func Tables(t *testing.T, open func(t *testing.T) whispersync.Tables) {
	tests := []struct {
		name string
		run  func(t *testing.T, s whispersync.Tables)
	}{
		{"PutGet", testTablesPutGet},
		{"GetMissing", testTablesGetMissing},
		{"RevisionCounts", testTablesRevisionCounts},
		{"IfAbsent", testTablesIfAbsent},
		{"IfRevision", testTablesIfRevision},
		{"IfRevisionMissing", testTablesIfRevisionMissing},
		{"Delete", testTablesDelete},
		{"DeleteMissing", testTablesDeleteMissing},
		{"DeleteIfRevision", testTablesDeleteIfRevision},
		{"OwnerIsolation", testTablesOwnerIsolation},
		{"TableIsolation", testTablesTableIsolation},
		{"QueryPrefix", testTablesQueryPrefix},
		{"QueryPrefixIsLiteral", testTablesQueryPrefixIsLiteral},
		{"QueryBytewiseOrder", testTablesQueryBytewiseOrder},
		{"QueryPaging", testTablesQueryPaging},
		{"QueryEmpty", testTablesQueryEmpty},
		{"TransactWriteApplies", testTablesTransactWriteApplies},
		{"TransactWriteAllOrNothing", testTablesTransactWriteAllOrNothing},
		{"TransactWriteDuplicateItem", testTablesTransactWriteDuplicateItem},
		{"TransactWriteEmpty", testTablesTransactWriteEmpty},
		{"InvalidKeys", testTablesInvalidKeys},
		{"ItemsAreCopied", testTablesItemsAreCopied},
		{"ConcurrentIncrements", testTablesConcurrentIncrements},
		{"ConcurrentIfAbsent", testTablesConcurrentIfAbsent},
		{"ConcurrentTransfers", testTablesConcurrentTransfers},
		{"CanceledContext", testTablesCanceledContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, open(t))
		})
	}
}

// Owners and tables of the tests. Owners look like user ids.
const (
	ownerA = "u_aaaaaaaaaaaaaaaa"
	ownerB = "u_bbbbbbbbbbbbbbbb"
	memos  = "memos"
)

func testTablesPutGet(t *testing.T, s whispersync.Tables) {
	item := whispersync.Item{
		Owner: ownerA,
		Key:   "memo#01",
		Attrs: map[string]string{"status": "queued", "bucket": "work"},
		Data:  []byte{0x00, 0x01, 0xfe, 0xff},
	}
	mustPutItem(t, s, memos, item, whispersync.Always)

	got := mustGetItem(t, s, memos, ownerA, "memo#01")
	item.Revision = 1
	wantItem(t, "item", got, item)
}

func testTablesGetMissing(t *testing.T, s whispersync.Tables) {
	_, err := s.GetItem(t.Context(), memos, ownerA, "memo#01")
	wantCode(t, "get of missing item", err, whispersync.ENOTFOUND)
}

func testTablesRevisionCounts(t *testing.T, s whispersync.Tables) {
	for want := int64(1); want <= 3; want++ {
		item := whispersync.Item{Owner: ownerA, Key: "k", Attrs: map[string]string{"n": strconv.FormatInt(want, 10)}}
		mustPutItem(t, s, memos, item, whispersync.Always)
		got := mustGetItem(t, s, memos, ownerA, "k")
		if got.Revision != want || got.Attrs["n"] != item.Attrs["n"] {
			t.Errorf("after put %d: got revision %d with n=%s, want revision %d with n=%s", want, got.Revision, got.Attrs["n"], want, item.Attrs["n"])
		}
	}
}

func testTablesIfAbsent(t *testing.T, s whispersync.Tables) {
	first := whispersync.Item{Owner: ownerA, Key: "k", Data: []byte("first")}
	mustPutItem(t, s, memos, first, whispersync.IfAbsent)

	second := whispersync.Item{Owner: ownerA, Key: "k", Data: []byte("second")}
	err := s.PutItem(t.Context(), memos, second, whispersync.IfAbsent)
	wantCode(t, "put IfAbsent over an existing item", err, whispersync.ECONFLICT)

	first.Revision = 1
	wantItem(t, "item after failed put", mustGetItem(t, s, memos, ownerA, "k"), first)
}

func testTablesIfRevision(t *testing.T, s whispersync.Tables) {
	mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: "k", Data: []byte("v1")}, whispersync.Always)
	read := mustGetItem(t, s, memos, ownerA, "k")

	read.Data = []byte("v2")
	mustPutItem(t, s, memos, read, whispersync.IfRevision)

	stale := read // still carries revision 1
	stale.Data = []byte("lost update")
	err := s.PutItem(t.Context(), memos, stale, whispersync.IfRevision)
	wantCode(t, "put with a stale revision", err, whispersync.ECONFLICT)

	want := whispersync.Item{Owner: ownerA, Key: "k", Data: []byte("v2"), Revision: 2}
	wantItem(t, "item after stale put", mustGetItem(t, s, memos, ownerA, "k"), want)
}

func testTablesIfRevisionMissing(t *testing.T, s whispersync.Tables) {
	for _, rev := range []int64{0, 1} {
		item := whispersync.Item{Owner: ownerA, Key: "k", Revision: rev}
		err := s.PutItem(t.Context(), memos, item, whispersync.IfRevision)
		wantCode(t, fmt.Sprintf("put IfRevision %d of a missing item", rev), err, whispersync.ECONFLICT)
	}
	_, err := s.GetItem(t.Context(), memos, ownerA, "k")
	wantCode(t, "get after failed puts", err, whispersync.ENOTFOUND)
}

func testTablesDelete(t *testing.T, s whispersync.Tables) {
	mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: "k"}, whispersync.Always)
	mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: "k"}, whispersync.Always)
	if err := s.DeleteItem(t.Context(), memos, ownerA, "k"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err := s.GetItem(t.Context(), memos, ownerA, "k")
	wantCode(t, "get after delete", err, whispersync.ENOTFOUND)

	mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: "k"}, whispersync.IfAbsent)
	if got := mustGetItem(t, s, memos, ownerA, "k"); got.Revision != 1 {
		t.Errorf("revision of an item put again after delete: got %d, want 1", got.Revision)
	}
}

func testTablesDeleteMissing(t *testing.T, s whispersync.Tables) {
	if err := s.DeleteItem(t.Context(), memos, ownerA, "never-written"); err != nil {
		t.Errorf("delete of missing item: got %v, want nil", err)
	}
}

func testTablesDeleteIfRevision(t *testing.T, s whispersync.Tables) {
	mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: "k"}, whispersync.Always)
	mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: "k"}, whispersync.Always)

	stale := whispersync.Write{Table: memos, Item: whispersync.Item{Owner: ownerA, Key: "k", Revision: 1}, Condition: whispersync.IfRevision, Delete: true}
	err := s.TransactWrite(t.Context(), []whispersync.Write{stale})
	wantCode(t, "delete with a stale revision", err, whispersync.ECONFLICT)
	mustGetItem(t, s, memos, ownerA, "k")

	current := stale
	current.Item.Revision = 2
	if err := s.TransactWrite(t.Context(), []whispersync.Write{current}); err != nil {
		t.Fatalf("delete with the current revision: %v", err)
	}
	_, err = s.GetItem(t.Context(), memos, ownerA, "k")
	wantCode(t, "get after delete", err, whispersync.ENOTFOUND)
}

func testTablesOwnerIsolation(t *testing.T, s whispersync.Tables) {
	for _, key := range []string{"memo#1", "memo#2", "memo#3"} {
		mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: key, Data: []byte("A")}, whispersync.Always)
	}
	mustPutItem(t, s, memos, whispersync.Item{Owner: ownerB, Key: "memo#2", Data: []byte("B")}, whispersync.Always)

	queries := []whispersync.Query{
		{Table: memos, Owner: ownerB},
		{Table: memos, Owner: ownerB, Prefix: "memo#"},
		{Table: memos, Owner: ownerB, Descending: true},
		{Table: memos, Owner: ownerB, After: "memo#1"},
		// An owner that prefixes another's id reaches none of its items.
		{Table: memos, Owner: ownerA[:len(ownerA)-1]},
	}
	for _, q := range queries {
		items := mustQuery(t, s, q)
		for _, it := range items {
			if it.Owner != q.Owner || string(it.Data) != "B" {
				t.Errorf("query %+v: got item of owner %q with data %q, want only items of %q", q, it.Owner, it.Data, q.Owner)
			}
		}
	}

	if got := mustGetItem(t, s, memos, ownerB, "memo#2"); string(got.Data) != "B" {
		t.Errorf("B's item: got data %q, want %q", got.Data, "B")
	}
	_, err := s.GetItem(t.Context(), memos, ownerB, "memo#1")
	wantCode(t, "get of A's key as B", err, whispersync.ENOTFOUND)

	if err := s.DeleteItem(t.Context(), memos, ownerB, "memo#1"); err != nil {
		t.Fatalf("delete of A's key as B: %v", err)
	}
	if err := s.PutItem(t.Context(), memos, whispersync.Item{Owner: ownerB, Key: "memo#3"}, whispersync.IfAbsent); err != nil {
		t.Errorf("put IfAbsent of A's key as B: got %v, want nil", err)
	}
	if got := keysOf(mustQuery(t, s, whispersync.Query{Table: memos, Owner: ownerA})); !slices.Equal(got, []string{"memo#1", "memo#2", "memo#3"}) {
		t.Errorf("A's keys after B's writes: got %q, want all three", got)
	}
}

func testTablesTableIsolation(t *testing.T, s whispersync.Tables) {
	mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: "k", Data: []byte("memo")}, whispersync.Always)
	mustPutItem(t, s, "journal", whispersync.Item{Owner: ownerA, Key: "k", Data: []byte("journal")}, whispersync.Always)

	if got := mustGetItem(t, s, memos, ownerA, "k"); string(got.Data) != "memo" || got.Revision != 1 {
		t.Errorf("memos item: got data %q revision %d, want %q revision 1", got.Data, got.Revision, "memo")
	}
	if got := keysOf(mustQuery(t, s, whispersync.Query{Table: "journal", Owner: ownerA})); len(got) != 1 {
		t.Errorf("journal keys: got %q, want one", got)
	}
	_, err := s.GetItem(t.Context(), "theory_of_mind", ownerA, "k")
	wantCode(t, "get from a table never written", err, whispersync.ENOTFOUND)
}

func testTablesQueryPrefix(t *testing.T, s whispersync.Tables) {
	for _, key := range []string{"memo", "memo#1", "memo#10", "memo#2", "memo$", "note#1", "mem"} {
		mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: key}, whispersync.Always)
	}
	tests := []struct {
		name string
		q    whispersync.Query
		want []string
	}{
		{"all", whispersync.Query{}, []string{"mem", "memo", "memo#1", "memo#10", "memo#2", "memo$", "note#1"}},
		{"prefix", whispersync.Query{Prefix: "memo#"}, []string{"memo#1", "memo#10", "memo#2"}},
		{"prefix is a key", whispersync.Query{Prefix: "memo#1"}, []string{"memo#1", "memo#10"}},
		{"descending", whispersync.Query{Prefix: "memo#", Descending: true}, []string{"memo#2", "memo#10", "memo#1"}},
		{"limit", whispersync.Query{Prefix: "memo#", Limit: 2}, []string{"memo#1", "memo#10"}},
		{"descending limit", whispersync.Query{Prefix: "memo", Descending: true, Limit: 2}, []string{"memo$", "memo#2"}},
		{"after", whispersync.Query{Prefix: "memo#", After: "memo#1"}, []string{"memo#10", "memo#2"}},
		{"after a missing key", whispersync.Query{Prefix: "memo#", After: "memo#15"}, []string{"memo#2"}},
		{"descending after", whispersync.Query{Prefix: "memo#", After: "memo#2", Descending: true}, []string{"memo#10", "memo#1"}},
		{"no match", whispersync.Query{Prefix: "zzz"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.Table, tt.q.Owner = memos, ownerA
			if got := keysOf(mustQuery(t, s, tt.q)); !slices.Equal(got, tt.want) {
				t.Errorf("keys: got %q, want %q", got, tt.want)
			}
		})
	}
}

func testTablesQueryPrefixIsLiteral(t *testing.T, s whispersync.Tables) {
	keys := []string{"a%b", "axb", "a_c", "abc", `a\d`, "a*e", "a?f", "a[g"}
	for _, key := range keys {
		mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: key}, whispersync.Always)
	}
	for _, prefix := range []string{"a%", "a_", `a\`, "a*", "a?", "a["} {
		got := keysOf(mustQuery(t, s, whispersync.Query{Table: memos, Owner: ownerA, Prefix: prefix}))
		if len(got) != 1 || got[0][:2] != prefix {
			t.Errorf("prefix %q: got %q, want only the key that starts with it", prefix, got)
		}
	}
}

func testTablesQueryBytewiseOrder(t *testing.T, s whispersync.Tables) {
	// UTF-8 byte order: upper case before lower case, then Latin-1, then
	// the rest of the Basic Multilingual Plane, then emoji.
	want := []string{"k#A", "k#Z", "k#a", "k#z", "k#é", "k#ÿ", "k#日", "k#😀"}
	for _, i := range []int{5, 2, 7, 0, 3, 6, 1, 4} {
		mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: want[i]}, whispersync.Always)
	}
	if got := keysOf(mustQuery(t, s, whispersync.Query{Table: memos, Owner: ownerA, Prefix: "k#"})); !slices.Equal(got, want) {
		t.Errorf("keys: got %q, want %q", got, want)
	}
	if got := keysOf(mustQuery(t, s, whispersync.Query{Table: memos, Owner: ownerA, Prefix: "k#é"})); !slices.Equal(got, []string{"k#é"}) {
		t.Errorf("keys with a multi-byte prefix: got %q, want %q", got, []string{"k#é"})
	}
}

func testTablesQueryPaging(t *testing.T, s whispersync.Tables) {
	var want []string
	for i := range 11 {
		key := fmt.Sprintf("memo#%02d", i)
		want = append(want, key)
		mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: key}, whispersync.Always)
	}
	mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: "other"}, whispersync.Always)

	for _, descending := range []bool{false, true} {
		t.Run(fmt.Sprintf("descending=%t", descending), func(t *testing.T) {
			var got []string
			q := whispersync.Query{Table: memos, Owner: ownerA, Prefix: "memo#", Limit: 3, Descending: descending}
			for page := 0; ; page++ {
				if page > len(want) {
					t.Fatalf("pages: got more than %d, want paging to end", len(want))
				}
				items := mustQuery(t, s, q)
				if len(items) > q.Limit {
					t.Fatalf("page %d: got %d items, want at most %d", page, len(items), q.Limit)
				}
				if len(items) == 0 {
					break
				}
				got = append(got, keysOf(items)...)
				q.After = items[len(items)-1].Key
			}
			wantKeys := slices.Clone(want)
			if descending {
				slices.Reverse(wantKeys)
			}
			if !slices.Equal(got, wantKeys) {
				t.Errorf("paged keys: got %q, want %q", got, wantKeys)
			}
		})
	}
}

func testTablesQueryEmpty(t *testing.T, s whispersync.Tables) {
	items, err := s.Query(t.Context(), whispersync.Query{Table: memos, Owner: ownerA})
	if err != nil || len(items) != 0 {
		t.Errorf("query of an empty table: got %d items, %v; want none, nil", len(items), err)
	}
}

func testTablesTransactWriteApplies(t *testing.T, s whispersync.Tables) {
	mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: "update"}, whispersync.Always)
	mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: "delete"}, whispersync.Always)
	writes := []whispersync.Write{
		{Table: memos, Item: whispersync.Item{Owner: ownerA, Key: "new", Data: []byte("n")}, Condition: whispersync.IfAbsent},
		{Table: memos, Item: whispersync.Item{Owner: ownerA, Key: "update", Data: []byte("u"), Revision: 1}, Condition: whispersync.IfRevision},
		{Table: memos, Item: whispersync.Item{Owner: ownerA, Key: "delete"}, Delete: true},
		{Table: "journal", Item: whispersync.Item{Owner: ownerA, Key: "entry", Data: []byte("j")}},
	}
	if err := s.TransactWrite(t.Context(), writes); err != nil {
		t.Fatalf("transact write: %v", err)
	}

	wantItem(t, "new item", mustGetItem(t, s, memos, ownerA, "new"), whispersync.Item{Owner: ownerA, Key: "new", Data: []byte("n"), Revision: 1})
	wantItem(t, "updated item", mustGetItem(t, s, memos, ownerA, "update"), whispersync.Item{Owner: ownerA, Key: "update", Data: []byte("u"), Revision: 2})
	wantItem(t, "item of the other table", mustGetItem(t, s, "journal", ownerA, "entry"), whispersync.Item{Owner: ownerA, Key: "entry", Data: []byte("j"), Revision: 1})
	_, err := s.GetItem(t.Context(), memos, ownerA, "delete")
	wantCode(t, "get of deleted item", err, whispersync.ENOTFOUND)
}

func testTablesTransactWriteAllOrNothing(t *testing.T, s whispersync.Tables) {
	mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: "exists", Data: []byte("before")}, whispersync.Always)
	mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: "victim", Data: []byte("before")}, whispersync.Always)
	ok := []whispersync.Write{
		{Table: memos, Item: whispersync.Item{Owner: ownerA, Key: "fresh", Data: []byte("after")}, Condition: whispersync.IfAbsent},
		{Table: memos, Item: whispersync.Item{Owner: ownerA, Key: "victim", Data: []byte("after")}},
		{Table: memos, Item: whispersync.Item{Owner: ownerB, Key: "victim"}, Delete: true},
	}
	failing := map[string]whispersync.Write{
		"IfAbsent over an item":  {Table: memos, Item: whispersync.Item{Owner: ownerA, Key: "exists", Data: []byte("after")}, Condition: whispersync.IfAbsent},
		"IfRevision stale":       {Table: memos, Item: whispersync.Item{Owner: ownerA, Key: "exists", Revision: 7}, Condition: whispersync.IfRevision},
		"IfRevision missing":     {Table: memos, Item: whispersync.Item{Owner: ownerA, Key: "missing", Revision: 1}, Condition: whispersync.IfRevision},
		"delete IfAbsent":        {Table: memos, Item: whispersync.Item{Owner: ownerA, Key: "exists"}, Condition: whispersync.IfAbsent, Delete: true},
		"delete IfRevision gone": {Table: memos, Item: whispersync.Item{Owner: ownerA, Key: "missing", Revision: 1}, Condition: whispersync.IfRevision, Delete: true},
	}
	for name, bad := range failing {
		for pos := 0; pos <= len(ok); pos++ {
			t.Run(fmt.Sprintf("%s at %d", name, pos), func(t *testing.T) {
				writes := slices.Insert(slices.Clone(ok), pos, bad)
				err := s.TransactWrite(t.Context(), writes)
				wantCode(t, "transaction with a failing condition", err, whispersync.ECONFLICT)

				_, err = s.GetItem(t.Context(), memos, ownerA, "fresh")
				wantCode(t, "get of the item the transaction would create", err, whispersync.ENOTFOUND)
				want := whispersync.Item{Owner: ownerA, Key: "victim", Data: []byte("before"), Revision: 1}
				wantItem(t, "item the transaction would overwrite", mustGetItem(t, s, memos, ownerA, "victim"), want)
				want = whispersync.Item{Owner: ownerA, Key: "exists", Data: []byte("before"), Revision: 1}
				wantItem(t, "item the condition names", mustGetItem(t, s, memos, ownerA, "exists"), want)
			})
		}
	}
}

func testTablesTransactWriteDuplicateItem(t *testing.T, s whispersync.Tables) {
	writes := []whispersync.Write{
		{Table: memos, Item: whispersync.Item{Owner: ownerA, Key: "k", Data: []byte("1")}},
		{Table: memos, Item: whispersync.Item{Owner: ownerA, Key: "k"}, Delete: true},
	}
	err := s.TransactWrite(t.Context(), writes)
	wantCode(t, "transaction writing one item twice", err, whispersync.EINVALID)
	_, err = s.GetItem(t.Context(), memos, ownerA, "k")
	wantCode(t, "get after rejected transaction", err, whispersync.ENOTFOUND)

	// The same key of another owner or table is another item.
	writes[1] = whispersync.Write{Table: memos, Item: whispersync.Item{Owner: ownerB, Key: "k"}}
	writes = append(writes, whispersync.Write{Table: "journal", Item: whispersync.Item{Owner: ownerA, Key: "k"}})
	if err := s.TransactWrite(t.Context(), writes); err != nil {
		t.Errorf("transaction writing one key of two owners and two tables: %v", err)
	}
}

func testTablesTransactWriteEmpty(t *testing.T, s whispersync.Tables) {
	err := s.TransactWrite(t.Context(), nil)
	wantCode(t, "transaction of no writes", err, whispersync.EINVALID)
}

func testTablesInvalidKeys(t *testing.T, s whispersync.Tables) {
	tests := []struct {
		name              string
		table, owner, key string
	}{
		{"empty table", "", ownerA, "k"},
		{"empty owner", memos, "", "k"},
		{"empty key", memos, ownerA, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			item := whispersync.Item{Owner: tt.owner, Key: tt.key}
			wantCode(t, "put", s.PutItem(ctx, tt.table, item, whispersync.Always), whispersync.EINVALID)
			_, err := s.GetItem(ctx, tt.table, tt.owner, tt.key)
			wantCode(t, "get", err, whispersync.EINVALID)
			wantCode(t, "delete", s.DeleteItem(ctx, tt.table, tt.owner, tt.key), whispersync.EINVALID)
			err = s.TransactWrite(ctx, []whispersync.Write{{Table: tt.table, Item: item}})
			wantCode(t, "transact write", err, whispersync.EINVALID)
			if tt.key != "" {
				_, err = s.Query(ctx, whispersync.Query{Table: tt.table, Owner: tt.owner})
				wantCode(t, "query", err, whispersync.EINVALID)
			}
		})
	}
}

func testTablesItemsAreCopied(t *testing.T, s whispersync.Tables) {
	item := whispersync.Item{Owner: ownerA, Key: "k", Attrs: map[string]string{"status": "queued"}, Data: []byte("sealed")}
	mustPutItem(t, s, memos, item, whispersync.Always)
	item.Attrs["status"] = "changed"
	item.Data[0] = 'X'

	got := mustGetItem(t, s, memos, ownerA, "k")
	got.Attrs["status"] = "changed by reader"
	got.Data[0] = 'Y'

	want := whispersync.Item{Owner: ownerA, Key: "k", Attrs: map[string]string{"status": "queued"}, Data: []byte("sealed"), Revision: 1}
	wantItem(t, "item after callers changed their copies", mustGetItem(t, s, memos, ownerA, "k"), want)
}

// testTablesConcurrentIncrements has writers increment one counter by
// read, then write IfRevision, retrying on conflict: no increment may be
// lost.
func testTablesConcurrentIncrements(t *testing.T, s whispersync.Tables) {
	const workers, increments = 8, 20
	mustPutItem(t, s, memos, whispersync.Item{Owner: ownerA, Key: "counter", Attrs: map[string]string{"n": "0"}}, whispersync.IfAbsent)

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for done := 0; done < increments; {
				item, err := s.GetItem(t.Context(), memos, ownerA, "counter")
				if err != nil {
					errs <- err
					return
				}
				n, _ := strconv.Atoi(item.Attrs["n"])
				item.Attrs = map[string]string{"n": strconv.Itoa(n + 1)}
				err = s.PutItem(t.Context(), memos, item, whispersync.IfRevision)
				if whispersync.IsConflict(err) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				done++
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("increment: %v", err)
	}

	got := mustGetItem(t, s, memos, ownerA, "counter")
	if want := strconv.Itoa(workers * increments); got.Attrs["n"] != want {
		t.Errorf("counter: got %s, want %s", got.Attrs["n"], want)
	}
	if want := int64(workers*increments + 1); got.Revision != want {
		t.Errorf("revision: got %d, want %d", got.Revision, want)
	}
}

func testTablesConcurrentIfAbsent(t *testing.T, s whispersync.Tables) {
	const workers = 16
	var wg sync.WaitGroup
	results := make(chan error, workers)
	for i := range workers {
		wg.Go(func() {
			item := whispersync.Item{Owner: ownerA, Key: "claim", Data: []byte(strconv.Itoa(i))}
			results <- s.PutItem(t.Context(), memos, item, whispersync.IfAbsent)
		})
	}
	wg.Wait()
	close(results)

	var won int
	for err := range results {
		switch {
		case err == nil:
			won++
		case !whispersync.IsConflict(err):
			t.Errorf("put IfAbsent: got %v, want nil or a conflict", err)
		}
	}
	if won != 1 {
		t.Errorf("writers that created the item: got %d, want 1", won)
	}
	if got := mustGetItem(t, s, memos, ownerA, "claim"); got.Revision != 1 {
		t.Errorf("revision: got %d, want 1", got.Revision)
	}
}

// testTablesConcurrentTransfers moves units between two items in
// conditional transactions: a transaction that applied half would break
// the sum.
func testTablesConcurrentTransfers(t *testing.T, s whispersync.Tables) {
	const workers, transfers, start = 6, 10, 1000
	for _, key := range []string{"from", "to"} {
		mustPutItem(t, s, "balances", whispersync.Item{Owner: ownerA, Key: key, Attrs: map[string]string{"n": strconv.Itoa(start)}}, whispersync.Always)
	}

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for done := 0; done < transfers; {
				from, err1 := s.GetItem(t.Context(), "balances", ownerA, "from")
				to, err2 := s.GetItem(t.Context(), "balances", ownerA, "to")
				if err := errors.Join(err1, err2); err != nil {
					errs <- err
					return
				}
				f, _ := strconv.Atoi(from.Attrs["n"])
				n, _ := strconv.Atoi(to.Attrs["n"])
				from.Attrs = map[string]string{"n": strconv.Itoa(f - 1)}
				to.Attrs = map[string]string{"n": strconv.Itoa(n + 1)}
				err := s.TransactWrite(t.Context(), []whispersync.Write{
					{Table: "balances", Item: from, Condition: whispersync.IfRevision},
					{Table: "balances", Item: to, Condition: whispersync.IfRevision},
				})
				if whispersync.IsConflict(err) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				done++
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("transfer: %v", err)
	}

	from := mustGetItem(t, s, "balances", ownerA, "from")
	to := mustGetItem(t, s, "balances", ownerA, "to")
	moved := workers * transfers
	if from.Attrs["n"] != strconv.Itoa(start-moved) || to.Attrs["n"] != strconv.Itoa(start+moved) {
		t.Errorf("balances: got from=%s to=%s, want from=%d to=%d", from.Attrs["n"], to.Attrs["n"], start-moved, start+moved)
	}
}

func testTablesCanceledContext(t *testing.T, s whispersync.Tables) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	err := s.PutItem(ctx, memos, whispersync.Item{Owner: ownerA, Key: "k"}, whispersync.Always)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("put with canceled context: got %v, want context.Canceled", err)
	}
	err = s.TransactWrite(ctx, []whispersync.Write{{Table: memos, Item: whispersync.Item{Owner: ownerA, Key: "k"}}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("transact write with canceled context: got %v, want context.Canceled", err)
	}
	_, err = s.GetItem(t.Context(), memos, ownerA, "k")
	wantCode(t, "get after canceled writes", err, whispersync.ENOTFOUND)
}

func mustPutItem(t *testing.T, s whispersync.Tables, table string, item whispersync.Item, cond whispersync.Condition) {
	t.Helper()
	if err := s.PutItem(t.Context(), table, item, cond); err != nil {
		t.Fatalf("put %q of %q in %q: %v", item.Key, item.Owner, table, err)
	}
}

func mustGetItem(t *testing.T, s whispersync.Tables, table, owner, key string) whispersync.Item {
	t.Helper()
	item, err := s.GetItem(t.Context(), table, owner, key)
	if err != nil {
		t.Fatalf("get %q of %q in %q: %v", key, owner, table, err)
	}
	return item
}

func mustQuery(t *testing.T, s whispersync.Tables, q whispersync.Query) []whispersync.Item {
	t.Helper()
	items, err := s.Query(t.Context(), q)
	if err != nil {
		t.Fatalf("query %+v: %v", q, err)
	}
	return items
}

func keysOf(items []whispersync.Item) []string {
	var keys []string
	for _, it := range items {
		keys = append(keys, it.Key)
	}
	return keys
}

// wantItem compares items, taking nil and empty Attrs or Data as equal.
func wantItem(t *testing.T, what string, got, want whispersync.Item) {
	t.Helper()
	if got.Owner != want.Owner || got.Key != want.Key || got.Revision != want.Revision ||
		!maps.Equal(got.Attrs, want.Attrs) || !bytes.Equal(got.Data, want.Data) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}
