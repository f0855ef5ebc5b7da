package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
)

// FuzzParseLineFast checks that the fast path decodes and hashes every line
// it accepts as the encoding/json path does.
func FuzzParseLineFast(f *testing.F) {
	r, err := newRecord(testEvent(), hmac.New(sha256.New, bytes.Repeat([]byte{1}, 32)))
	if err != nil {
		f.Fatal(err)
	}
	var zero [32]byte
	f.Add(bytes.TrimSuffix(appendLine(nil, 7, &zero, &zero, r.members), []byte("\n")))
	seeds := []string{
		`{"seq":1,"time":"2026-03-14T15:09:26.535897932Z","principal":"u","action":"a","outcome":"success","prev":"0000000000000000000000000000000000000000000000000000000000000000","hash":"ab"}`,
		`{"seq":18446744073709551615,"time":"t","principal":"","action":"a","resource":"r","outcome":"o","source":"s","request_id":"q","detail":{"a":"1","b":"2"},"hashed":{},"prev":"p","hash":"h"}`,
		`{"seq":1,"time":"t","principal":"","action":"a","outcome":"o","detail":{"b":"1","a":"2"},"prev":"p","hash":"h"}`,
		`{"seq":01,"time":"t","principal":"","action":"a","outcome":"o","prev":"p","hash":"h"}`,
		`{"seq":1,"time":"\u00e9","principal":"\ud800","action":"a","outcome":"o","prev":"p","hash":"h"}`,
		`{"seq":1,"time":"t","principal":"` + "\xff" + `","action":"a","outcome":"o","prev":"p","hash":"h"} `,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v lineView
		if !v.parse(data) {
			return
		}
		var slow line
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&slow); err != nil || dec.More() {
			t.Fatalf("encoding/json rejects a line the fast path accepts: %v", err)
		}
		// An empty JSON object and an omitted member encode alike.
		if len(slow.Detail) == 0 {
			slow.Detail = nil
		}
		if len(slow.Hashed) == 0 {
			slow.Hashed = nil
		}
		if fast := v.line(); !reflect.DeepEqual(fast.body, slow.body) || fast.Seq != slow.Seq || fast.Prev != slow.Prev || fast.Hash != slow.Hash {
			t.Fatalf("fast path: got %+v, want %+v as encoding/json decodes it", fast, slow)
		}
		if got, want := v.appendCanonical(nil), slow.appendCanonical(nil); !bytes.Equal(got, want) {
			t.Fatalf("fast path canonical encoding: got %x, want %x", got, want)
		}
		var checker lineChecker
		if got, want := checker.check(data), checkSlow(data); got != want {
			t.Fatalf("fast path check: got %+v, want %+v", got, want)
		}
	})
}

func TestParseFastPathTakesWriterLines(t *testing.T) {
	r, err := newRecord(testEvent(), hmac.New(sha256.New, bytes.Repeat([]byte{1}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	var zero [32]byte
	text := appendLine(nil, 7, &zero, &zero, r.members)
	var v lineView
	if !v.parse(bytes.TrimSuffix(text, []byte("\n"))) {
		t.Fatalf("fast path parse(%s): got false, want true", text)
	}
	l := v.line()
	if l.Seq != 7 || l.Detail["k"] != "v" || len(l.Hashed) != 1 {
		t.Errorf("fast path line: got %+v, want seq 7, detail k=v and one hashed value", l)
	}
}

func testEvent() whispersync.AuditEvent {
	return whispersync.AuditEvent{
		Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Principal: "p", Action: "a", Resource: "r",
		Outcome: "success", Source: "s", RequestID: "q",
		Detail: map[string]string{"k": "v"}, Hashed: map[string]string{"h": "secret"},
	}
}

// FuzzRecord checks that a line the writer produces decodes, on both paths,
// to the event's values and to the canonical encoding it was hashed with.
func FuzzRecord(f *testing.F) {
	f.Add("user", "memo/1", "k", "v", "term")
	f.Add("a\"b\\c\n\x01\x7f", "\u2028<&>", "", "\xff", "")
	f.Add("bad\xc0\xaf", "é", "k\xfe", "v\x00", "\U0001F600")
	f.Fuzz(func(t *testing.T, principal, resource, key, value, secret string) {
		ev := whispersync.AuditEvent{
			Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Principal: principal, Action: "a",
			Resource: resource, Outcome: "success",
			Detail: map[string]string{key: value, "z": value}, Hashed: map[string]string{key: secret},
		}
		mac := hmac.New(sha256.New, bytes.Repeat([]byte{1}, 32))
		r, err := newRecord(ev, mac)
		if err != nil {
			t.Fatal(err)
		}
		var zero [32]byte
		hash := chainHash(&zero, 1, r.canonical)
		text := bytes.TrimSuffix(appendLine(nil, 1, &zero, &hash, r.members), []byte("\n"))

		var slow line
		if err := json.Unmarshal(text, &slow); err != nil {
			t.Fatalf("encoding/json: %v for line %q", err, text)
		}
		if slow.Principal != validUTF8(principal) || slow.Resource != validUTF8(resource) {
			t.Errorf("decoded principal and resource: got %q %q, want %q %q", slow.Principal, slow.Resource, validUTF8(principal), validUTF8(resource))
		}
		if got := slow.Hashed[validUTF8(key)]; got != HashValue(bytes.Repeat([]byte{1}, 32), secret) {
			t.Errorf("decoded hashed value: got %q, want the HMAC of the secret", got)
		}
		if got := slow.appendCanonical(nil); !bytes.Equal(got, r.canonical) {
			t.Errorf("canonical encoding of the decoded line: got %x, want %x", got, r.canonical)
		}
		var checker lineChecker
		if got := checker.check(text); got.malformed || got.reason != "" || got.hash != hash {
			t.Errorf("check: got %+v, want the line to pass with hash %x", got, hash)
		}
	})
}
