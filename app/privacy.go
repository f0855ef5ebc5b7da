package app

import (
	"archive/zip"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/internal/ids"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/privacy"
	"github.com/whispersync/whispersync/seal"
)

// objectKinds are the first elements of object keys that hold user data;
// the owner's id is the second.
var objectKinds = []string{"transcripts", "quarantine"}

// Pseudonym returns the name that stands for userID in what is written
// about an erased user.
func (a *App) Pseudonym(userID string) string {
	key := a.Keyring.DeriveKey("pseudonym")
	defer clear(key)
	return privacy.Pseudonym(key, userID)
}

// ExportUser writes everything held about user to w as a zip archive:
// user.json, tokens.json, memos.json (as the memo read API shows them),
// one JSON file per table with every item opened, and the original
// transcripts, including rejected input, under transcripts/ and
// quarantine/.
func (a *App) ExportUser(ctx context.Context, actor pipeline.Actor, user *whispersync.User, w io.Writer) error {
	if err := a.audit(ctx, actor, "privacy.export", "user:"+user.ID); err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	add := func(name string, v any) error {
		f, err := zw.Create(name)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}

	tokens, err := a.Accounts.ListTokens(ctx, user.ID)
	if err != nil {
		return fmt.Errorf("app: export: %w", err)
	}
	memos, err := a.Pipeline.ListMemos(ctx, actor, user.ID, pipeline.ListOptions{})
	if err != nil {
		return fmt.Errorf("app: export: %w", err)
	}
	for _, part := range []struct {
		name string
		v    any
	}{{"user.json", user}, {"tokens.json", tokens}, {"memos.json", memos}} {
		if err := add(part.name, part.v); err != nil {
			return fmt.Errorf("app: export: %w", err)
		}
	}

	tables, err := a.DB.OwnerTables(ctx, user.ID)
	if err != nil {
		return fmt.Errorf("app: export: %w", err)
	}
	for _, table := range tables {
		if table == seal.DataKeysTable {
			continue
		}
		items, err := a.exportTable(ctx, table, user.ID)
		if err != nil {
			return fmt.Errorf("app: export: %w", err)
		}
		if err := add("tables/"+table+".json", items); err != nil {
			return fmt.Errorf("app: export: %w", err)
		}
	}
	if err := a.exportObjects(ctx, zw, user.ID); err != nil {
		return fmt.Errorf("app: export: %w", err)
	}
	return zw.Close()
}

// exportedItem is one table item in an export.
type exportedItem struct {
	Key   string            `json:"key"`
	Attrs map[string]string `json:"attrs,omitempty"`
	// Data is the opened payload, a JSON document.
	Data json.RawMessage `json:"data,omitempty"`
}

func (a *App) exportTable(ctx context.Context, table, owner string) ([]exportedItem, error) {
	items, err := a.DB.Tables().Query(ctx, whispersync.Query{Table: table, Owner: owner})
	if err != nil {
		return nil, err
	}
	out := make([]exportedItem, 0, len(items))
	for _, it := range items {
		e := exportedItem{Key: it.Key, Attrs: it.Attrs}
		if len(it.Data) > 0 {
			plain, err := a.Sealer.Open(ctx, seal.Identity{Owner: owner, Kind: table, ID: it.Key}, it.Data)
			if err != nil {
				return nil, fmt.Errorf("open %s item: %w", table, err)
			}
			if json.Valid(plain) {
				e.Data = plain
			} else {
				e.Data, _ = json.Marshal(string(plain))
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// exportObjects adds every version of the owner's transcripts and
// quarantined input, opened, as KIND/MEMO.vVERSIONID.txt.
func (a *App) exportObjects(ctx context.Context, zw *zip.Writer, owner string) error {
	for _, kind := range objectKinds {
		versions, err := a.Objects.ListObjectVersions(ctx, kind+"/"+owner+"/")
		if err != nil {
			return err
		}
		for _, v := range versions {
			if v.DeleteMarker {
				continue
			}
			obj, err := a.Objects.GetObject(ctx, v.Key, v.VersionID)
			if err != nil {
				return err
			}
			id := v.Key[strings.LastIndexByte(v.Key, '/')+1:]
			plain, err := a.openObject(ctx, kind, owner, id, obj.Body)
			if err != nil {
				return fmt.Errorf("open %s: %w", v.Key, err)
			}
			f, err := zw.Create(kind + "/" + id + ".v" + v.VersionID + ".txt")
			if err == nil {
				_, err = f.Write(plain)
			}
			clear(plain)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// openObject opens a sealed object body. Its identity carries the memo
// version it was written for, which the object key does not name, so the
// versions a memo can reach are tried in turn.
func (a *App) openObject(ctx context.Context, kind, owner, id string, body []byte) ([]byte, error) {
	var err error
	for version := 1; version <= 16; version++ {
		var plain []byte
		plain, err = a.Sealer.Open(ctx, seal.Identity{Owner: owner, Kind: kind, ID: id, Version: version}, body)
		if err == nil {
			return plain, nil
		}
	}
	return nil, err
}

// EraseUser erases user: every item of every table, the outbox, queue and
// dead-letter messages, tokens and the account, every version of every
// object, and the user's data keys and backup key, so that no backup can
// reveal the data any more. It records the erasure in the ledger, which
// Open applies again to a restored data directory, and returns a signed
// receipt. The audit trail keeps earlier entries as they are (it is
// hash-chained); the erasure and everything after it name the user by
// pseudonym only.
func (a *App) EraseUser(ctx context.Context, actor pipeline.Actor, user *whispersync.User) (*privacy.Receipt, error) {
	pseudonym := a.Pseudonym(user.ID)
	receipt := &privacy.Receipt{ID: ids.New("er"), Pseudonym: pseudonym, ErasedAt: time.Now().UTC()}
	if err := a.audit(ctx, actor, "privacy.erase", "user:"+pseudonym); err != nil {
		return nil, err
	}
	// The ledger entry comes before the first deletion: a crash midway
	// leaves an erasure that Open finishes, never one that a restore
	// could undo.
	entry := privacy.Entry{ReceiptID: receipt.ID, UserID: user.ID, Pseudonym: pseudonym, ErasedAt: receipt.ErasedAt}
	if err := a.ops.ledger.Append(entry); err != nil {
		return nil, err
	}
	counts, err := a.erase(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	receipt.Erased, receipt.KeysDestroyed = counts, true
	seed := a.Keyring.DeriveKey("erasure-receipt-ed25519")
	err = receipt.Sign(privacy.SigningKey(seed))
	clear(seed)
	if err != nil {
		return nil, err
	}
	err = a.Audit.Append(ctx, whispersync.AuditEvent{
		Time: time.Now().UTC(), Principal: actor.Principal, Source: actor.Source, RequestID: actor.RequestID,
		Action: "privacy.erase.receipt", Resource: "user:" + pseudonym, Outcome: whispersync.OutcomeSuccess,
		Detail: map[string]string{"receipt": receipt.ID},
	})
	return receipt, err
}

// ReceiptPublicKey returns the key that verifies erasure receipts.
func (a *App) ReceiptPublicKey() ed25519.PublicKey {
	seed := a.Keyring.DeriveKey("erasure-receipt-ed25519")
	defer clear(seed)
	return privacy.SigningKey(seed).Public().(ed25519.PublicKey)
}

// erase deletes the owner's data and keys and returns what it deleted.
func (a *App) erase(ctx context.Context, owner string) (map[string]int64, error) {
	counts := map[string]int64{}
	a.Pipeline.ForgetOwner(owner)
	n, err := a.eraseObjects(ctx, owner)
	counts["object_versions"] = n
	if err != nil {
		return counts, fmt.Errorf("app: erase objects: %w", err)
	}
	// The database rows go first, securely deleted, and ShredUser then
	// only evicts the cached data keys: deleting the keys through the
	// tables would leave their wrapped bytes in free pages.
	defer a.auth.invalidate()
	erased, err := a.DB.EraseOwner(ctx, owner, systemOwner)
	if err != nil {
		return counts, err
	}
	counts["items"], counts["system_items"] = erased.Items, erased.SystemItems
	counts["messages"], counts["dead_letters"] = erased.Messages, erased.DeadLetters
	counts["tokens"], counts["users"] = erased.Tokens, erased.Users
	if err := a.Sealer.ShredUser(ctx, owner); err != nil {
		return counts, err
	}
	if err := a.ops.escrow.Destroy(owner); err != nil {
		return counts, err
	}
	return counts, nil
}

// eraseObjects deletes every version and delete marker of the objects
// under KIND/OWNER/, and of any other object whose owner tag names owner.
func (a *App) eraseObjects(ctx context.Context, owner string) (int64, error) {
	versions, err := a.Objects.ListObjectVersions(ctx, "")
	if err != nil {
		return 0, err
	}
	var n int64
	for _, v := range versions {
		if !a.ownedBy(ctx, v, owner) {
			continue
		}
		if _, err := a.Objects.DeleteObject(ctx, v.Key, v.VersionID); err != nil && !whispersync.IsNotFound(err) {
			return n, err
		}
		n++
	}
	// The store zeroes deleted rows in its file; the checkpoint also
	// clears them from the write-ahead log.
	if err := a.Objects.Checkpoint(ctx); err != nil {
		return n, err
	}
	return n, nil
}

func (a *App) ownedBy(ctx context.Context, v whispersync.ObjectVersion, owner string) bool {
	if slices.Contains(strings.Split(v.Key, "/"), owner) {
		return true
	}
	if v.DeleteMarker {
		return false
	}
	tags, err := a.Objects.GetObjectTagging(ctx, v.Key, v.VersionID)
	return err == nil && tags[whispersync.TagOwner] == owner
}

// reapplyErasures erases again every user in the ledger who has data in
// this data directory, as after a restore of a backup older than the
// erasure.
func (a *App) reapplyErasures(ctx context.Context) error {
	entries, err := a.ops.ledger.Entries()
	if err != nil {
		return err
	}
	for _, e := range entries {
		present, err := a.holdsData(ctx, e.UserID)
		if err != nil {
			return err
		}
		if !present {
			// An erasure cut short after the rows went can still have
			// left the backup key.
			if err := a.ops.escrow.Destroy(e.UserID); err != nil {
				return fmt.Errorf("app: apply erasure %s again: %w", e.ReceiptID, err)
			}
			continue
		}
		actor := pipeline.Actor{Principal: "system:erasure-ledger", Source: "startup"}
		if err := a.audit(ctx, actor, "privacy.erase.reapply", "user:"+e.Pseudonym); err != nil {
			return err
		}
		counts, err := a.erase(ctx, e.UserID)
		if err != nil {
			return fmt.Errorf("app: apply erasure %s again: %w", e.ReceiptID, err)
		}
		a.Logger.Info("erasure applied again", "receipt", e.ReceiptID, "items", counts["items"])
	}
	return nil
}

// holdsData reports whether anything of owner is in the data directory.
func (a *App) holdsData(ctx context.Context, owner string) (bool, error) {
	if _, err := a.Accounts.FindUserByID(ctx, owner); err == nil {
		return true, nil
	} else if !whispersync.IsNotFound(err) {
		return false, err
	}
	tables, err := a.DB.OwnerTables(ctx, owner)
	if err != nil || len(tables) > 0 {
		return len(tables) > 0, err
	}
	for _, kind := range objectKinds {
		versions, err := a.Objects.ListObjectVersions(ctx, kind+"/"+owner+"/")
		if err != nil && !whispersync.IsNotFound(err) {
			return false, err
		}
		if len(versions) > 0 {
			return true, nil
		}
	}
	return false, nil
}
