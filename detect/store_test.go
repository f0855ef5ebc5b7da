package detect_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/detect"
	"github.com/whispersync/whispersync/mock"
	"github.com/whispersync/whispersync/seal"
)

const owner = "_system"

func newStore(t *testing.T) (*detect.Store, *mock.Tables, *seal.Sealer) {
	t.Helper()
	kr, _, err := seal.OpenKeyFile(filepath.Join(t.TempDir(), "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kr.Close() })
	tables := mock.NewTables()
	sealer := seal.NewSealer(kr, tables, seal.SealerOptions{Logger: slog.New(slog.DiscardHandler)})
	return detect.NewStore(tables, sealer, owner), tables, sealer
}

func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	seen := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	f := detect.Finding{ID: "f_1", Type: "login_failures", Severity: detect.High, Count: 3, LastSeen: seen}
	if err := s.Put(ctx, f); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := s.Get(ctx, "f_1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.ID != f.ID || got.Type != f.Type {
		t.Errorf("Get: got id %s of type %s, want %s of type %s", got.ID, got.Type, f.ID, f.Type)
	}
	if got.Severity != f.Severity {
		t.Errorf("severity: got %s, want %s", got.Severity, f.Severity)
	}
	if got.Count != f.Count {
		t.Errorf("count: got %d, want %d", got.Count, f.Count)
	}
	if !got.LastSeen.Equal(seen) {
		t.Errorf("last seen: got %s, want %s", got.LastSeen, seen)
	}

	if err := s.PutState(ctx, detect.State{LastRun: seen}); err != nil {
		t.Fatalf("PutState: %v", err)
	}
	st, err := s.State(ctx)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	if !st.LastRun.Equal(seen) {
		t.Errorf("State: last run %s, want %s", st.LastRun, seen)
	}
}

// TestStoreDamagedItems checks that the errors of items that do not open or
// do not decode name the step and the record.
func TestStoreDamagedItems(t *testing.T) {
	ctx := context.Background()
	s, tables, sealer := newStore(t)
	if err := s.Put(ctx, detect.Finding{ID: "f_1", Severity: detect.Low}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutState(ctx, detect.State{}); err != nil {
		t.Fatal(err)
	}
	finding, err := tables.GetItem(ctx, "findings", owner, "f_1")
	if err != nil {
		t.Fatal(err)
	}
	state, err := tables.GetItem(ctx, "detection", owner, "state")
	if err != nil {
		t.Fatal(err)
	}
	notJSON := func(table, key string) []byte {
		data, err := sealer.Seal(ctx, seal.Identity{Owner: owner, Kind: table, ID: key, Version: 1}, whispersync.KeyClassPII, []byte("not json"))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	put := func(table string, item whispersync.Item, data []byte) {
		item.Data = data
		if err := tables.PutItem(ctx, table, item, whispersync.Always); err != nil {
			t.Fatal(err)
		}
	}

	finding.Data, state.Data = state.Data, finding.Data
	put("findings", finding, finding.Data)
	put("detection", state, state.Data)
	_, err = s.Get(ctx, "f_1")
	checkErr(t, err, "detect: open finding f_1: ", true)
	_, err = s.State(ctx)
	checkErr(t, err, "detect: open state: ", true)

	put("findings", finding, notJSON("findings", "f_1"))
	put("detection", state, notJSON("detection", "state"))
	_, err = s.Get(ctx, "f_1")
	checkErr(t, err, "detect: decode finding f_1: ", false)
	_, err = s.List(ctx)
	checkErr(t, err, "detect: decode finding f_1: ", false)
	_, err = s.State(ctx)
	checkErr(t, err, "detect: decode state: ", false)
}

func checkErr(t *testing.T, err error, prefix string, decrypt bool) {
	t.Helper()
	if err == nil || !strings.HasPrefix(err.Error(), prefix) {
		t.Errorf("got %v, want an error starting %q", err, prefix)
	}
	if errors.Is(err, seal.ErrDecrypt) != decrypt {
		t.Errorf("%v: wraps ErrDecrypt %t, want %t", err, !decrypt, decrypt)
	}
}
