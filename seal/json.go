package seal

import (
	"context"
	"encoding/json"
	"errors"
)

// SealOpener is the part of *Sealer that stores of sealed records use, so
// that their tests can pass a fake in its place.
type SealOpener interface {
	Seal(ctx context.Context, id Identity, class string, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, id Identity, ciphertext []byte) ([]byte, error)
}

// The steps of SealJSON and OpenJSON, as a StepError names them.
const (
	StepEncode = "encode"
	StepSeal   = "seal"
	StepOpen   = "open"
	StepDecode = "decode"
)

// StepError is the error of SealJSON and OpenJSON: Step names the step that
// failed and Err is the cause. Its message is that of Err alone, so the
// caller names the step and the record in its own message, as in
// fmt.Errorf("%s memo %s: %w", seal.Step(err), id, err).
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Err.Error() }

func (e *StepError) Unwrap() error { return e.Err }

// Step returns the step named by the first StepError in err's chain, or ""
// when there is none.
func Step(err error) string {
	var e *StepError
	if errors.As(err, &e) {
		return e.Step
	}
	return ""
}

// SealJSON encodes v as JSON and seals it for the record id under the
// owner's data key of class, as s.Seal does. The encoded plaintext is
// cleared before SealJSON returns.
func SealJSON(ctx context.Context, s SealOpener, id Identity, class string, v any) ([]byte, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, &StepError{Step: StepEncode, Err: err}
	}
	sealed, err := s.Seal(ctx, id, class, plain)
	clear(plain)
	if err != nil {
		return nil, &StepError{Step: StepSeal, Err: err}
	}
	return sealed, nil
}

// OpenJSON opens data sealed for the record id and decodes its JSON into v.
// The plaintext is cleared before OpenJSON returns, so v must keep none of
// it: encoding/json copies what it decodes, and a custom UnmarshalJSON of a
// type within v must copy too.
func OpenJSON(ctx context.Context, s SealOpener, id Identity, data []byte, v any) error {
	plain, err := s.Open(ctx, id, data)
	if err != nil {
		return &StepError{Step: StepOpen, Err: err}
	}
	err = json.Unmarshal(plain, v)
	clear(plain)
	if err != nil {
		return &StepError{Step: StepDecode, Err: err}
	}
	return nil
}
