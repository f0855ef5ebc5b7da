package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/agent/memory"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/seal"
)

const memoryMemo = `We took the kids to the beach on Sunday and Lucia built a giant sandcastle with a
moat, and Mateo kept running the water up from the waves in a little bucket. My mom came
too and she laughed so hard when the tide finally knocked the tower down. I want to
remember that afternoon forever, everyone sunburnt and happy.`

const workMemo = `Okay so end of the shift, the inventory count is done, we were short on the
twelve millimetre bolts again. I talked to Gordon in purchasing and he'll push the
order through. Tomorrow I need to call the supplier about the late pallets, update the
stock sheet, and schedule the forklift inspection with Teresa.`

var operator = pipeline.Actor{Principal: "operator:tester", Source: "test"}

type dirs struct{ data, keyFile string }

func newDirs(t *testing.T) dirs {
	base := t.TempDir()
	return dirs{data: filepath.Join(base, "data"), keyFile: filepath.Join(base, "config", "keyring.json")}
}

func openApp(t *testing.T, d dirs) *app.App {
	t.Helper()
	a, err := app.Open(context.Background(), app.Config{DataDir: d.data, KeyFile: d.keyFile, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return a
}

// processMemos submits the memos for user and processes them.
func processMemos(t *testing.T, a *app.App, user *whispersync.User, memos ...string) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for i, text := range memos {
		r, err := a.Pipeline.Submit(ctx, pipeline.Submission{Actor: operator, Owner: user.ID, Source: "memo" + string(rune('a'+i)) + ".txt", Raw: []byte(text)})
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
		ids = append(ids, r.MemoID)
	}
	if _, err := a.Pipeline.Drain(ctx, pipeline.WorkerOptions{}); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	return ids
}

// userTables are the tables that hold a user's sealed items.
var userTables = []string{"memos", "journal", "memories", "ideas", "review", "training_signals"}

// sealedRecords opens every sealed item and object version of owner and
// returns how many there were and the errors of those that failed.
func sealedRecords(t *testing.T, a *app.App, owner string) (int, []error) {
	t.Helper()
	ctx := context.Background()
	n := 0
	var errs []error
	for _, table := range userTables {
		items, err := a.DB.Tables().Query(ctx, whispersync.Query{Table: table, Owner: owner})
		if err != nil {
			t.Fatalf("query %s: %v", table, err)
		}
		for _, it := range items {
			if len(it.Data) == 0 {
				continue
			}
			n++
			if _, err := a.Sealer.Open(ctx, seal.Identity{Owner: owner, Kind: table, ID: it.Key}, it.Data); err != nil {
				errs = append(errs, err)
			}
		}
	}
	versions, err := a.Objects.ListObjectVersions(ctx, "transcripts/"+owner+"/")
	if err != nil {
		t.Fatalf("ListObjectVersions: %v", err)
	}
	for _, v := range versions {
		if v.DeleteMarker {
			continue
		}
		obj, err := a.Objects.GetObject(ctx, v.Key, v.VersionID)
		if err != nil {
			t.Fatalf("GetObject %s: %v", v.Key, err)
		}
		n++
		id := strings.TrimPrefix(v.Key, "transcripts/"+owner+"/")
		if _, err := a.Sealer.Open(ctx, seal.Identity{Owner: owner, Kind: "transcripts", ID: id, Version: 1}, obj.Body); err != nil {
			errs = append(errs, err)
		}
	}
	return n, errs
}

// TestCryptoShredding destroys a user's data keys and checks that every
// object version and item of that user fails to open, through the raw
// stores and through the pipeline's read side, while another user's data
// still opens.
func TestCryptoShredding(t *testing.T) {
	ctx := context.Background()
	a := openApp(t, newDirs(t))
	alice, _, err := a.User(ctx, "alice", true)
	if err != nil {
		t.Fatal(err)
	}
	bob, _, err := a.User(ctx, "bob", true)
	if err != nil {
		t.Fatal(err)
	}
	ids := processMemos(t, a, alice, memoryMemo, workMemo)
	processMemos(t, a, bob, workMemo)

	n, errs := sealedRecords(t, a, alice.ID)
	if n < 4 || len(errs) > 0 {
		t.Fatalf("before shredding: %d records, errors %v; want several that open", n, errs)
	}

	if err := a.ShredUser(ctx, operator, alice); err != nil {
		t.Fatalf("ShredUser: %v", err)
	}
	after, errs := sealedRecords(t, a, alice.ID)
	if after != n || len(errs) != n {
		t.Errorf("after shredding: %d of %d records failed to open, want all", len(errs), after)
	}
	for _, err := range errs {
		if !errors.Is(err, seal.ErrDecrypt) {
			t.Errorf("after shredding: got %v, want the authentication error", err)
		}
	}
	for _, id := range ids {
		if _, err := a.Pipeline.GetMemo(ctx, operator, alice.ID, id); !errors.Is(err, seal.ErrDecrypt) {
			t.Errorf("GetMemo %s after shredding: got %v, want the authentication error", id, err)
		}
	}
	if hits, err := a.Pipeline.SearchMemories(ctx, operator, alice.ID, "sandcastle", memory.Filter{}); err == nil && len(hits) > 0 {
		t.Errorf("SearchMemories after shredding: got %d hits, want none or an error", len(hits))
	}
	if n, errs := sealedRecords(t, a, bob.ID); n == 0 || len(errs) > 0 {
		t.Errorf("another user's records after shredding: %d, errors %v, want all to open", n, errs)
	}
}

// TestRotateRetire rotates the key file from another process, as the CLI
// does while serve runs, and checks that retiring waits for the rewrap.
func TestRotateRetire(t *testing.T) {
	ctx := context.Background()
	d := newDirs(t)
	a := openApp(t, d)
	alice, _, err := a.User(ctx, "alice", true)
	if err != nil {
		t.Fatal(err)
	}
	ids := processMemos(t, a, alice, workMemo)

	if err := a.RetireKEK(ctx, operator, 1); whispersync.ErrorCode(err) != whispersync.EINVALID {
		t.Errorf("RetireKEK of the current version: got %v, want EINVALID", err)
	}
	other, _, err := seal.OpenKeyFile(d.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Rotate(); err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}

	err = a.RetireKEK(ctx, operator, 1)
	if whispersync.ErrorCode(err) != whispersync.ECONFLICT || !strings.Contains(err.Error(), alice.ID) || !strings.Contains(err.Error(), "keys rotate --resume") {
		t.Errorf("RetireKEK while data keys depend on it: got %v, want ECONFLICT naming %s and the fix", err, alice.ID)
	}
	var reports int
	job, err := a.ResumeRewrap(ctx, operator, func(seal.RewrapProgress) { reports++ })
	if err != nil {
		t.Fatalf("ResumeRewrap: %v", err)
	}
	if job.State != "done" || job.Target != 2 || job.Rewrapped < 1 || reports != job.Owners {
		t.Errorf("rewrap job: got %+v with %d reports, want done at version 2 with a report per owner", job, reports)
	}
	st, err := a.KeyStatus(ctx, operator)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Versions) != 2 || st.Versions[0].DataKeys != 0 || st.Versions[1].DataKeys == 0 || st.NextRotation.IsZero() {
		t.Errorf("KeyStatus: got %+v, want version 1 with no data keys and version 2 with all", st.Versions)
	}
	if err := a.RetireKEK(ctx, operator, 1); err != nil {
		t.Fatalf("RetireKEK after the rewrap: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	again := openApp(t, d)
	for _, id := range ids {
		if _, err := again.Pipeline.GetMemo(ctx, operator, alice.ID, id); err != nil {
			t.Errorf("GetMemo after retiring version 1: %v", err)
		}
	}
	if v := again.Keyring.Versions(); len(v) != 1 || v[0].Version != 2 {
		t.Errorf("versions after retiring: got %+v, want only 2", v)
	}
}

func TestPassphraseSources(t *testing.T) {
	ctx := context.Background()
	write := func(t *testing.T, path string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("correct horse battery staple\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("passphrase file", func(t *testing.T) {
		d := newDirs(t)
		pf := filepath.Join(filepath.Dir(d.keyFile), "passphrase")
		write(t, pf, 0o600)
		t.Setenv(app.PassphraseFileEnv, pf)
		a := openApp(t, d)
		if src := a.KeySource(); src.Kind != "passphrase file" || src.PassphraseFile != pf {
			t.Errorf("KeySource: got %+v, want the passphrase file", src)
		}
		data, err := os.ReadFile(d.keyFile)
		if err != nil || !strings.Contains(string(data), `"passphrase"`) || strings.Contains(string(data), `"key":`) {
			t.Errorf("key file: want KEKs sealed under the passphrase, got %.80s", data)
		}
		if _, _, err := seal.OpenKeyFile(d.keyFile); err == nil {
			t.Errorf("OpenKeyFile without the passphrase: got no error, want one")
		}
	})
	t.Run("systemd credential", func(t *testing.T) {
		d := newDirs(t)
		creds := t.TempDir()
		write(t, filepath.Join(creds, app.CredentialName), 0o400)
		t.Setenv(app.PassphraseFileEnv, "")
		t.Setenv("CREDENTIALS_DIRECTORY", creds)
		if src := openApp(t, d).KeySource(); src.Kind != "systemd credential" {
			t.Errorf("KeySource: got %+v, want the systemd credential", src)
		}
	})
	for name, tt := range map[string]struct {
		inData bool
		mode   os.FileMode
		want   string
	}{
		"inside the data directory": {true, 0o600, "inside the data directory"},
		"readable by others":        {false, 0o644, "chmod 600"},
	} {
		t.Run(name, func(t *testing.T) {
			d := newDirs(t)
			pf := filepath.Join(filepath.Dir(d.keyFile), "passphrase")
			if tt.inData {
				pf = filepath.Join(d.data, "passphrase")
			}
			write(t, pf, tt.mode)
			if err := os.Chmod(pf, tt.mode); err != nil {
				t.Fatal(err)
			}
			t.Setenv(app.PassphraseFileEnv, pf)
			_, err := app.Open(ctx, app.Config{DataDir: d.data, KeyFile: d.keyFile, Logger: slog.New(slog.DiscardHandler)})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), pf) {
				t.Errorf("Open: got %v, want an error naming %s and %q", err, pf, tt.want)
			}
		})
	}
}

func TestKeyPolicy(t *testing.T) {
	ctx := context.Background()
	a := openApp(t, newDirs(t))
	p, err := a.KeyPolicy(ctx)
	if err != nil || p.KEKRotation != app.DefaultKEKRotation || p.DataKeyRotation != app.DefaultDataKeyRotation {
		t.Errorf("default policy: got %+v, %v", p, err)
	}
	want := app.KeyPolicy{KEKRotation: 2 * app.DefaultKEKRotation, DataKeyRotation: 0}
	if err := a.SetKeyPolicy(ctx, operator, want); err != nil {
		t.Fatal(err)
	}
	if got, err := a.KeyPolicy(ctx); err != nil || got != want {
		t.Errorf("stored policy: got %+v, %v, want %+v", got, err, want)
	}
	if err := a.SetKeyPolicy(ctx, operator, app.KeyPolicy{KEKRotation: -1}); whispersync.ErrorCode(err) != whispersync.EINVALID {
		t.Errorf("negative period: got %v, want EINVALID", err)
	}
}

// TestRewrapResumesAfterInterruption stops a rewrap pass after its first
// owner, as a crash would, and checks that the recorded checkpoint makes the
// next pass continue from there and finish.
func TestRewrapResumesAfterInterruption(t *testing.T) {
	ctx := context.Background()
	a := openApp(t, newDirs(t))
	for _, name := range []string{"alice", "bob", "carol"} {
		u, _, err := a.User(ctx, name, true)
		if err != nil {
			t.Fatal(err)
		}
		processMemos(t, a, u, workMemo)
	}
	if _, err := a.RotateKEK(ctx, operator, nil); err != nil {
		t.Fatal(err)
	}

	other, _, err := seal.OpenKeyFile(a.KeySource().KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Rotate(); err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	crashed, crash := context.WithCancel(ctx)
	_, err = a.ResumeRewrap(crashed, operator, func(seal.RewrapProgress) { crash() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted ResumeRewrap: got %v, want context.Canceled", err)
	}
	job, err := a.RewrapJob(ctx)
	if err != nil || job.State != "running" || job.OwnersDone != 1 || job.Target != 3 {
		t.Fatalf("checkpoint after the interruption: got %+v, %v, want running at version 3 after one owner", job, err)
	}

	var resumedFrom []int
	job, err = a.ResumeRewrap(ctx, operator, func(p seal.RewrapProgress) { resumedFrom = append(resumedFrom, p.OwnersDone) })
	if err != nil {
		t.Fatalf("resumed ResumeRewrap: %v", err)
	}
	if job.State != "done" || job.OwnersDone != job.Owners || len(resumedFrom) == 0 || resumedFrom[0] != 2 {
		t.Errorf("resumed job: got %+v with progress %v, want done, continuing at the second owner", job, resumedFrom)
	}
	if err := a.RetireKEK(ctx, operator, 2); err != nil {
		t.Errorf("RetireKEK(2) after the resumed pass: %v", err)
	}
}

// TestKeyPolicyJSON checks that a key policy is written with duration
// strings and that one stored by an earlier release, in nanoseconds, still
// reads.
func TestKeyPolicyJSON(t *testing.T) {
	p := app.KeyPolicy{KEKRotation: 8760 * time.Hour, DataKeyRotation: 2160 * time.Hour}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"kek_rotation":"8760h0m0s","data_key_rotation":"2160h0m0s"}`; string(data) != want {
		t.Errorf("JSON: got %s, want %s", data, want)
	}
	var back app.KeyPolicy
	if err := json.Unmarshal(data, &back); err != nil || back != p {
		t.Errorf("read back: got %+v, %v, want %+v", back, err, p)
	}
	old := app.KeyPolicy{DataKeyRotation: time.Hour}
	if err := json.Unmarshal([]byte(`{"kek_rotation":31536000000000000}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.KEKRotation != 8760*time.Hour || old.DataKeyRotation != time.Hour {
		t.Errorf("policy in nanoseconds: got %+v, want 8760h and the data key period kept", old)
	}
}
