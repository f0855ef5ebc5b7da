package sqlite

import (
	"bufio"
	"bytes"
	"errors"
	"maps"
	"testing"
	"time"
)

func TestRecordRoundTrip(t *testing.T) {
	want := versionMeta{
		Key:          "a/b",
		VersionID:    "06h45j3ofc000000e0nctfcnns",
		Size:         3,
		LastModified: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
		ETag:         "abc",
		Tags:         map[string]string{"approved": "true"},
	}
	data, err := encodeRecord(versionMagic, &want)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	r := bufio.NewReader(bytes.NewReader(append(data, "body"...)))

	var got versionMeta
	if err := decodeRecord(r, versionMagic, &got); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got.Key != want.Key || got.VersionID != want.VersionID || got.Size != want.Size ||
		!got.LastModified.Equal(want.LastModified) || got.ETag != want.ETag || !maps.Equal(got.Tags, want.Tags) {
		t.Errorf("decoded: got %+v, want %+v", got, want)
	}
	if rest, _ := r.ReadString(0); rest != "body" {
		t.Errorf("bytes after the record: got %q, want %q", rest, "body")
	}
}

func TestRecordWrongMagic(t *testing.T) {
	data, err := encodeRecord(tagsMagic, &tagSet{Key: "k"})
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	var m versionMeta
	err = decodeRecord(bufio.NewReader(bytes.NewReader(data)), versionMagic, &m)
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("decode tags record as version header: got %v, want ErrCorrupt", err)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	valid, err := encodeRecord(versionMagic, &versionMeta{Key: "k", VersionID: "v", Tags: map[string]string{"a": "b"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(append(valid, "body"...))
	f.Add([]byte("wsversion1 00 99999999999\n"))
	f.Add([]byte("wsversion1 \n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m versionMeta
		if err := decodeRecord(bufio.NewReader(bytes.NewReader(data)), versionMagic, &m); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("decode error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		again, err := encodeRecord(versionMagic, &m)
		if err != nil {
			t.Fatalf("encode decoded record: %v", err)
		}
		var m2 versionMeta
		if err := decodeRecord(bufio.NewReader(bytes.NewReader(again)), versionMagic, &m2); err != nil {
			t.Errorf("decode re-encoded record: %v", err)
		}
	})
}
