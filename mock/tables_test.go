package mock_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/mock"
)

func TestTablesPutGet(t *testing.T) {
	ctx := context.Background()
	tb := mock.NewTables()
	item := whispersync.Item{Owner: "u", Key: "k", Attrs: map[string]string{"state": "new"}, Data: []byte("sealed")}
	if err := tb.PutItem(ctx, "t", item, whispersync.IfAbsent); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	item.Attrs["state"] = "changed by caller"
	item.Data[0] = 'X'

	got, err := tb.GetItem(ctx, "t", "u", "k")
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if got.Revision != 1 || got.Attrs["state"] != "new" || string(got.Data) != "sealed" {
		t.Errorf("GetItem: got %+v, want revision 1 with the stored copy", got)
	}
	got.Data[0] = 'Y'
	if again, _ := tb.GetItem(ctx, "t", "u", "k"); string(again.Data) != "sealed" {
		t.Errorf("GetItem after changing a returned item: got %q, want %q", again.Data, "sealed")
	}

	for name, key := range map[string][3]string{"other owner": {"t", "v", "k"}, "other table": {"t2", "u", "k"}, "other key": {"t", "u", "k2"}} {
		if _, err := tb.GetItem(ctx, key[0], key[1], key[2]); !whispersync.IsNotFound(err) {
			t.Errorf("GetItem of %s: got %v, want ENOTFOUND", name, err)
		}
	}
}

func TestTablesConditions(t *testing.T) {
	ctx := context.Background()
	tb := mock.NewTables()
	put := func(rev int64, cond whispersync.Condition) error {
		return tb.PutItem(ctx, "t", whispersync.Item{Owner: "u", Key: "k", Revision: rev}, cond)
	}
	tests := []struct {
		name     string
		rev      int64
		cond     whispersync.Condition
		wantCode string
		wantRev  int64
	}{
		{"revision on missing item", 0, whispersync.IfRevision, whispersync.ECONFLICT, 0},
		{"absent", 0, whispersync.IfAbsent, "", 1},
		{"absent again", 0, whispersync.IfAbsent, whispersync.ECONFLICT, 1},
		{"always", 0, whispersync.Always, "", 2},
		{"stale revision", 1, whispersync.IfRevision, whispersync.ECONFLICT, 2},
		{"current revision", 2, whispersync.IfRevision, "", 3},
		{"unknown condition", 0, whispersync.Condition(9), whispersync.EINVALID, 3},
	}
	for _, tt := range tests {
		err := put(tt.rev, tt.cond)
		if code := whispersync.ErrorCode(err); code != tt.wantCode {
			t.Errorf("%s: code got %q, want %q", tt.name, code, tt.wantCode)
		}
		got, _ := tb.GetItem(ctx, "t", "u", "k")
		if got.Revision != tt.wantRev {
			t.Errorf("%s: revision got %d, want %d", tt.name, got.Revision, tt.wantRev)
		}
	}
	if err := tb.DeleteItem(ctx, "t", "u", "missing"); err != nil {
		t.Errorf("DeleteItem of a missing item: got %v, want nil", err)
	}
	if err := tb.PutItem(ctx, "t", whispersync.Item{Owner: "", Key: "k"}, whispersync.Always); whispersync.ErrorCode(err) != whispersync.EINVALID {
		t.Errorf("PutItem without owner: got %v, want EINVALID", err)
	}
}

func TestTablesQuery(t *testing.T) {
	ctx := context.Background()
	tb := mock.NewTables()
	for _, k := range []string{"a#1", "a#2", "a#3", "b#1"} {
		if err := tb.PutItem(ctx, "t", whispersync.Item{Owner: "u", Key: k}, whispersync.Always); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.PutItem(ctx, "t", whispersync.Item{Owner: "v", Key: "a#9"}, whispersync.Always); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		q    whispersync.Query
		want string
	}{
		{"all", whispersync.Query{Table: "t", Owner: "u"}, "[a#1 a#2 a#3 b#1]"},
		{"prefix", whispersync.Query{Table: "t", Owner: "u", Prefix: "a#"}, "[a#1 a#2 a#3]"},
		{"limit", whispersync.Query{Table: "t", Owner: "u", Limit: 2}, "[a#1 a#2]"},
		{"after", whispersync.Query{Table: "t", Owner: "u", After: "a#2"}, "[a#3 b#1]"},
		{"descending", whispersync.Query{Table: "t", Owner: "u", Descending: true, Limit: 2}, "[b#1 a#3]"},
		{"descending after", whispersync.Query{Table: "t", Owner: "u", Descending: true, After: "a#3"}, "[a#2 a#1]"},
		{"other owner", whispersync.Query{Table: "t", Owner: "v"}, "[a#9]"},
		{"empty table", whispersync.Query{Table: "none", Owner: "u"}, "[]"},
	}
	for _, tt := range tests {
		items, err := tb.Query(ctx, tt.q)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		keys := []string{}
		for _, it := range items {
			keys = append(keys, it.Key)
		}
		if got := fmt.Sprint(keys); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestTablesTransactWrite(t *testing.T) {
	ctx := context.Background()
	tb := mock.NewTables()
	if err := tb.PutItem(ctx, "t", whispersync.Item{Owner: "u", Key: "taken"}, whispersync.Always); err != nil {
		t.Fatal(err)
	}

	failing := []whispersync.Write{
		{Table: "t", Item: whispersync.Item{Owner: "u", Key: "new"}},
		{Table: "t", Item: whispersync.Item{Owner: "u", Key: "taken"}, Delete: true},
		{Table: "t", Item: whispersync.Item{Owner: "u", Key: "taken"}, Condition: whispersync.IfAbsent},
	}
	if err := tb.TransactWrite(ctx, failing[:1:1]); err != nil {
		t.Fatalf("TransactWrite of one write: %v", err)
	}
	if err := tb.DeleteItem(ctx, "t", "u", "new"); err != nil {
		t.Fatal(err)
	}
	if err := tb.TransactWrite(ctx, []whispersync.Write{failing[0], failing[2]}); !whispersync.IsConflict(err) {
		t.Errorf("TransactWrite with a failed condition: got %v, want ECONFLICT", err)
	}
	if _, err := tb.GetItem(ctx, "t", "u", "new"); !whispersync.IsNotFound(err) {
		t.Errorf("item of a failed transaction: got %v, want ENOTFOUND", err)
	}
	if err := tb.TransactWrite(ctx, failing); whispersync.ErrorCode(err) != whispersync.EINVALID {
		t.Errorf("TransactWrite writing one item twice: got %v, want EINVALID", err)
	}
	if err := tb.TransactWrite(ctx, failing[:2]); err != nil {
		t.Fatalf("TransactWrite: %v", err)
	}
	if _, err := tb.GetItem(ctx, "t", "u", "taken"); !whispersync.IsNotFound(err) {
		t.Errorf("item deleted in a transaction: got %v, want ENOTFOUND", err)
	}
}

func TestTablesFaultAndContext(t *testing.T) {
	tb := mock.NewTables()
	outage := errors.New("disk on fire")
	tb.Fault = func(op, table string) error {
		if op == "PutItem" {
			return outage
		}
		return nil
	}
	if err := tb.PutItem(context.Background(), "t", whispersync.Item{Owner: "u", Key: "k"}, whispersync.Always); !errors.Is(err, outage) {
		t.Errorf("PutItem with a fault: got %v, want the fault", err)
	}
	if _, err := tb.GetItem(context.Background(), "t", "u", "k"); !whispersync.IsNotFound(err) {
		t.Errorf("item of a faulted write: got %v, want ENOTFOUND", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tb.Query(ctx, whispersync.Query{Table: "t", Owner: "u"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Query with a canceled context: got %v, want context.Canceled", err)
	}
}

func TestTablesConcurrentIfAbsent(t *testing.T) {
	ctx := context.Background()
	tb := mock.NewTables()
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 16 {
		wg.Go(func() {
			err := tb.PutItem(ctx, "t", whispersync.Item{Owner: "u", Key: "k"}, whispersync.IfAbsent)
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !whispersync.IsConflict(err) {
				t.Errorf("PutItem: got %v, want nil or ECONFLICT", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("IfAbsent writes that won: got %d, want 1", wins)
	}
}
