package intake_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/intake"
)

var fuzzSeeds = []string{
	"",
	"hello",
	"\uFEFF\uFEFFa\r\n\rb",
	"cafe\u0301",
	"\u1100\u1161\u11a8",
	"ab\xffcd",
	"\xed\xa0\x80",
	"<script>",
	"&#x3c;/ script",
	"'; DROP TABLE x",
	"' OR '1'='1",
	"union/**/all select",
	"${a}{{b}}#{c}<%= d %>{% e %}",
	"a\u202eb\u2028",
	"\x00\x1f\x7f\u0085",
	"a" + strings.Repeat("\u0301", 40),
}

func addSeeds(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	paths, _ := filepath.Glob("../testdata/corpus/dev/*.txt")
	for _, path := range paths[:min(len(paths), 5)] {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
}

func FuzzNormalize(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		text, err := intake.Normalize(raw)
		if err != nil {
			if utf8.Valid(raw) {
				t.Fatalf("Normalize(valid UTF-8): got %v, want nil", err)
			}
			requireRule(t, err, intake.RuleInvalidUTF8)
			return
		}
		if !utf8.ValidString(text) {
			t.Fatalf("Normalize: got invalid UTF-8 %q", text)
		}
		if strings.ContainsRune(text, '\r') {
			t.Fatalf("Normalize: got %q, want no carriage return", text)
		}
		if strings.HasPrefix(text, "\uFEFF") {
			t.Fatalf("Normalize: got %q, want no leading byte order mark", text)
		}
		if !norm.NFC.IsNormalString(text) {
			t.Fatalf("Normalize: got %q, want NFC", text)
		}
		again, err := intake.Normalize([]byte(text))
		if err != nil {
			t.Fatalf("Normalize(Normalize(x)): %v", err)
		}
		if again != text {
			t.Fatalf("Normalize(Normalize(x)): got %q, want %q", again, text)
		}
	})
}

func FuzzCheck(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		text, err := intake.Check(raw)
		if err != nil {
			var e *whispersync.Error
			if !errors.As(err, &e) || e.Code != whispersync.EREJECTED || e.Rule == "" {
				t.Fatalf("Check: got %#v, want a rejection with a rule", err)
			}
			return
		}
		if err := intake.Validate(text); err != nil {
			t.Fatalf("Validate(Check(x)): got %v, want nil", err)
		}
		if again, err := intake.Check([]byte(text)); err != nil || again != text {
			t.Fatalf("Check(Check(x)): got %q, %v, want %q, nil", again, err, text)
		}
	})
}

func requireRule(t *testing.T, err error, rule string) {
	t.Helper()
	var e *whispersync.Error
	if !errors.As(err, &e) || e.Code != whispersync.EREJECTED || e.Rule != rule {
		t.Fatalf("error: got %#v, want a rejection by rule %s", err, rule)
	}
}

// benchmarkMemo returns about 2 KB of speech-like text.
func benchmarkMemo(b *testing.B) []byte {
	raw, err := os.ReadFile("../testdata/corpus/dev/standup-api-migration.txt")
	if err != nil {
		b.Fatal(err)
	}
	var memo []byte
	for len(memo) < 2048 {
		memo = append(memo, raw...)
		memo = append(memo, "\r\nand then 'she said'; we update the plan, it's 50% done <3\r\n"...)
	}
	return memo[:2048]
}

func BenchmarkCheck(b *testing.B) {
	memo := benchmarkMemo(b)
	b.SetBytes(int64(len(memo)))
	for b.Loop() {
		if _, err := intake.Check(memo); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "memos/s")
}
