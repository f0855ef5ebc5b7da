package seal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/mock"
	"github.com/whispersync/whispersync/seal"
)

type note struct {
	Title string   `json:"title"`
	Tags  []string `json:"tags"`
	Body  []byte   `json:"body"`
}

func TestSealJSONRoundTrip(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, seal.SealerOptions{})
	in := note{Title: "call the dentist", Tags: []string{"health"}, Body: []byte("Thursday at nine")}
	sealed, err := seal.SealJSON(ctx, f.sealer, memo, whispersync.KeyClassPII, in)
	if err != nil {
		t.Fatalf("SealJSON: %v", err)
	}
	if bytes.Contains(sealed, []byte("dentist")) {
		t.Fatal("the sealed record contains its plaintext")
	}
	var out note
	if err := seal.OpenJSON(ctx, f.fresh(), memo, sealed, &out); err != nil {
		t.Fatalf("OpenJSON: %v", err)
	}
	if out.Title != in.Title {
		t.Errorf("title: got %q, want %q", out.Title, in.Title)
	}
	if !slices.Equal(out.Tags, in.Tags) {
		t.Errorf("tags: got %q, want %q", out.Tags, in.Tags)
	}
	if !bytes.Equal(out.Body, in.Body) {
		t.Errorf("body: got %q, want %q", out.Body, in.Body)
	}
}

// TestSealJSONFormat checks that SealJSON writes the same bytes as Seal of
// the value's JSON encoding, so both write one record format.
func TestSealJSONFormat(t *testing.T) {
	ctx := context.Background()
	key := bytes.Repeat([]byte{7}, 32)
	newSealer := func() *seal.Sealer {
		return seal.NewSealer(fixedKeys{key}, mock.NewTables(), seal.SealerOptions{Rand: zeros{}, Logger: quiet})
	}
	v := note{Title: "groceries", Tags: []string{"home", "weekly"}}
	got, err := seal.SealJSON(ctx, newSealer(), memo, whispersync.KeyClassData, v)
	if err != nil {
		t.Fatalf("SealJSON: %v", err)
	}
	plain, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := mustSeal(t, newSealer(), memo, whispersync.KeyClassData, plain)
	if !bytes.Equal(got, want) {
		t.Errorf("SealJSON wrote\n%x\nSeal of the JSON wrote\n%x", got, want)
	}
}

func TestOpenJSONWrongIdentity(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, seal.SealerOptions{})
	sealed, err := seal.SealJSON(ctx, f.sealer, memo, whispersync.KeyClassData, note{Title: "private"})
	if err != nil {
		t.Fatalf("SealJSON: %v", err)
	}
	other := memo
	other.ID = "m-2"
	var out note
	err = seal.OpenJSON(ctx, f.sealer, other, sealed, &out)
	assertDecryptFailure(t, "OpenJSON under another identity", err)
	if got := seal.Step(err); got != seal.StepOpen {
		t.Errorf("Step: got %q, want %q", got, seal.StepOpen)
	}
	if out.Title != "" {
		t.Errorf("OpenJSON under another identity filled the value: %+v", out)
	}
}

func TestOpenJSONDecodeError(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, seal.SealerOptions{})
	sealed := mustSeal(t, f.sealer, memo, whispersync.KeyClassData, []byte("not json"))
	var out note
	err := seal.OpenJSON(ctx, f.sealer, memo, sealed, &out)
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) {
		t.Fatalf("OpenJSON of a non-JSON record: got %v, want a *json.SyntaxError", err)
	}
	if got := seal.Step(err); got != seal.StepDecode {
		t.Errorf("Step: got %q, want %q", got, seal.StepDecode)
	}
	if err.Error() != syntax.Error() {
		t.Errorf("message: got %q, want the decoder's %q", err, syntax)
	}
}

func TestSealJSONErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("encode", func(t *testing.T) {
		s := &failingSealer{err: errors.New("never reached")}
		_, err := seal.SealJSON(ctx, s, memo, whispersync.KeyClassData, make(chan int))
		var unsupported *json.UnsupportedTypeError
		if !errors.As(err, &unsupported) {
			t.Fatalf("SealJSON of a channel: got %v, want a *json.UnsupportedTypeError", err)
		}
		if got := seal.Step(err); got != seal.StepEncode {
			t.Errorf("Step: got %q, want %q", got, seal.StepEncode)
		}
		if s.calls != 0 {
			t.Errorf("Seal was called %d times for a value that does not encode", s.calls)
		}
	})
	t.Run("seal", func(t *testing.T) {
		cause := whispersync.Errorf(whispersync.EUNAVAILABLE, "key service down")
		_, err := seal.SealJSON(ctx, &failingSealer{err: cause}, memo, whispersync.KeyClassData, note{})
		if !errors.Is(err, cause) {
			t.Fatalf("SealJSON: got %v, want %v", err, cause)
		}
		if code := whispersync.ErrorCode(err); code != whispersync.EUNAVAILABLE {
			t.Errorf("code: got %s, want %s", code, whispersync.EUNAVAILABLE)
		}
		if got := seal.Step(err); got != seal.StepSeal {
			t.Errorf("Step: got %q, want %q", got, seal.StepSeal)
		}
		if err.Error() != cause.Error() {
			t.Errorf("message: got %q, want %q", err, cause)
		}
	})
	t.Run("invalid identity", func(t *testing.T) {
		f := newFixture(t, seal.SealerOptions{})
		_, err := seal.SealJSON(ctx, f.sealer, seal.Identity{Owner: "user-1"}, whispersync.KeyClassData, note{})
		if code := whispersync.ErrorCode(err); code != whispersync.EINVALID {
			t.Errorf("SealJSON without a kind and id: got %v, want %s", err, whispersync.EINVALID)
		}
		if got := seal.Step(err); got != seal.StepSeal {
			t.Errorf("Step: got %q, want %q", got, seal.StepSeal)
		}
	})
}

func TestStepOfOtherErrors(t *testing.T) {
	if got := seal.Step(errors.New("plain")); got != "" {
		t.Errorf("Step of an error without a step: got %q, want empty", got)
	}
	if got := seal.Step(nil); got != "" {
		t.Errorf("Step(nil): got %q, want empty", got)
	}
}

// failingSealer fails every call with err and counts the calls.
type failingSealer struct {
	err   error
	calls int
}

func (s *failingSealer) Seal(context.Context, seal.Identity, string, []byte) ([]byte, error) {
	s.calls++
	return nil, s.err
}

func (s *failingSealer) Open(context.Context, seal.Identity, []byte) ([]byte, error) {
	s.calls++
	return nil, s.err
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
