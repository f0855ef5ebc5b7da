package pipeline

import (
	"context"

	"github.com/whispersync/whispersync"
)

// TranscriptWriter is intake's handle on the object store: it can add
// transcripts and remove the ones it has just added, but never read one.
type TranscriptWriter interface {
	PutObject(ctx context.Context, key string, body []byte, tags map[string]string) (whispersync.ObjectVersion, error)
	DeleteObject(ctx context.Context, key, versionID string) (whispersync.ObjectVersion, error)
}

// ApprovedReader is the agents' handle on the object store: it reads only
// versions tagged approved=true, like an S3 policy conditioned on
// s3:ExistingObjectTag/approved.
type ApprovedReader interface {
	GetObject(ctx context.Context, key, versionID string) (*whispersync.Object, error)
}

// WriteOnly narrows store to a TranscriptWriter. The returned value has no
// other method, so a type assertion cannot widen it again.
func WriteOnly(store whispersync.ObjectStore) TranscriptWriter {
	return writeOnly{store: store}
}

type writeOnly struct{ store whispersync.ObjectStore }

func (w writeOnly) PutObject(ctx context.Context, key string, body []byte, tags map[string]string) (whispersync.ObjectVersion, error) {
	return w.store.PutObject(ctx, key, body, tags)
}

func (w writeOnly) DeleteObject(ctx context.Context, key, versionID string) (whispersync.ObjectVersion, error) {
	if versionID == "" {
		// Only a version intake itself wrote may be removed, by its id.
		return whispersync.ObjectVersion{}, whispersync.Errorf(whispersync.EFORBIDDEN, "intake may only remove an object version it wrote, by version id")
	}
	return w.store.DeleteObject(ctx, key, versionID)
}

// ApprovedOnly narrows store to an ApprovedReader.
func ApprovedOnly(store whispersync.ObjectStore) ApprovedReader {
	return approvedOnly{store: store}
}

type approvedOnly struct{ store whispersync.ObjectStore }

func (a approvedOnly) GetObject(ctx context.Context, key, versionID string) (*whispersync.Object, error) {
	obj, err := a.store.GetObject(ctx, key, versionID)
	if err != nil {
		return nil, err
	}
	if obj.Tags[whispersync.TagApproved] != "true" {
		return nil, whispersync.Errorf(whispersync.EFORBIDDEN, "object %s version %s is not tagged approved=true, so agents may not read it", key, obj.VersionID)
	}
	return obj, nil
}
