package intake_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/intake"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"plain", "hello", "hello"},
		{"empty", "", ""},
		{"bom", "\uFEFFhello", "hello"},
		{"repeated bom", "\uFEFF\uFEFFhello", "hello"},
		{"bom inside kept", "a\uFEFFb", "a\uFEFFb"},
		{"crlf", "a\r\nb\r\n", "a\nb\n"},
		{"lone cr", "a\rb\r", "a\nb\n"},
		{"cr cr lf", "a\r\r\nb", "a\n\nb"},
		{"lf cr", "a\n\rb", "a\n\nb"},
		{"nfd to nfc", "cafe\u0301", "caf\u00e9"},
		{"hangul jamo to syllable", "\u1100\u1161\u11a8", "\uac01"},
		{"nfc unchanged", "na\u00efve", "na\u00efve"},
		{"bom then combining mark", "\uFEFF\u0301a", "\u0301a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := intake.Normalize([]byte(tt.raw))
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if got != tt.want {
				t.Errorf("Normalize(%q): got %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

func TestNormalizeInvalidUTF8(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		offset string
	}{
		{"lone continuation byte", "ab\x80cd", "byte offset 2"},
		{"truncated sequence at end", "h\u00e9llo\xe2\x82", "byte offset 6"},
		{"overlong encoding", "\xc0\xafx", "byte offset 0"},
		{"encoded surrogate", "ok \xed\xa0\x80", "byte offset 3"},
		{"after bom", "\uFEFF\xff", "byte offset 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := intake.Normalize([]byte(tt.raw))
			e := requireRejected(t, err, intake.RuleInvalidUTF8)
			if !strings.Contains(e.Message, tt.offset) {
				t.Errorf("message: got %q, want it to name %q", e.Message, tt.offset)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []string{
		"drop table tennis is my favourite sport",
		"we need to update the schedule; delete the old one",
		"she said 'no'; delete the draft and update the calendar",
		"it's fine; update me later",
		"'ok'; execute the plan",
		"the dog's bowl; drop it off",
		"it costs $5, or {maybe} $6",
		"select the union rep, then union; select later",
		"the credit union selected a new board",
		"my script for the play <scripture> is ready",
		"a < b and b > c, script is fine",
		"we hit 100% > 90% of the goal",
		"tags like #hashtag and #1 are fine",
		"email me at x@example.com & call",
		"the '80s or 90s = best decades",
		"tabs\tand\r\nnewlines\n",
		"emoji \U0001F600 and accents \u00e9\u00e8 and CJK \u4e2d\u6587",
		"zero-width joiner \u200d in emoji \U0001F469\u200d\U0001F4BB",
		"a lone ${ with no closing brace",
	}
	for _, text := range tests {
		if err := intake.Validate(text); err != nil {
			t.Errorf("Validate(%q): got %v, want nil", text, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name string
		text string
		rule string
		at   string // "line L, column C" in the message
	}{
		{"empty", "", intake.RuleEmpty, ""},
		{"spaces", "   ", intake.RuleEmpty, ""},
		{"newlines and tabs", "\n\t\r\n", intake.RuleEmpty, ""},
		{"unicode spaces", "\u00a0\u3000\u2003", intake.RuleEmpty, ""},
		{"invalid utf8", "ab\xffc", intake.RuleInvalidUTF8, ""},

		{"nul", "ab\x00", intake.RuleControlCharacter, "line 1, column 3"},
		{"bell on line 2", "ok\nx\x07", intake.RuleControlCharacter, "line 2, column 2"},
		{"escape", "\x1b[31mred", intake.RuleControlCharacter, "line 1, column 1"},
		{"delete", "a\x7f", intake.RuleControlCharacter, "line 1, column 2"},
		{"c1 control", "a\u0085", intake.RuleControlCharacter, "line 1, column 2"},
		{"c1 last", "a\u009f", intake.RuleControlCharacter, "line 1, column 2"},
		{"line separator", "a\u2028b", intake.RuleControlCharacter, "line 1, column 2"},
		{"paragraph separator", "a\u2029b", intake.RuleControlCharacter, "line 1, column 2"},
		{"column counts characters", "\u00e9\u00e9\x01", intake.RuleControlCharacter, "line 1, column 3"},

		{"lre", "a\u202ab", intake.RuleBidiControl, "line 1, column 2"},
		{"rlo", "abc\u202e", intake.RuleBidiControl, "line 1, column 4"},
		{"pdf", "\u202c", intake.RuleBidiControl, "line 1, column 1"},
		{"lri", "x\n\u2066", intake.RuleBidiControl, "line 2, column 1"},
		{"pdi", "\u2069", intake.RuleBidiControl, "line 1, column 1"},

		{"script", "hi <script>alert(1)</script>", intake.RuleScriptTag, "line 1, column 4"},
		{"closing script", "hi </script>", intake.RuleScriptTag, "line 1, column 4"},
		{"script upper", "<SCRIPT src=x>", intake.RuleScriptTag, "line 1, column 1"},
		{"script mixed case", "<ScRiPt>", intake.RuleScriptTag, "line 1, column 1"},
		{"script with spaces", "< script >", intake.RuleScriptTag, "line 1, column 1"},
		{"closing with spaces", "< / script>", intake.RuleScriptTag, "line 1, column 1"},
		{"script newline", "a\n<\nscript", intake.RuleScriptTag, "line 2, column 1"},
		{"script at end", "x <script", intake.RuleScriptTag, "line 1, column 3"},
		{"script slash", "<script/src=x>", intake.RuleScriptTag, "line 1, column 1"},
		{"entity", "&lt;script&gt;", intake.RuleScriptTag, "line 1, column 1"},
		{"entity upper", "&LT;SCRIPT&GT;", intake.RuleScriptTag, "line 1, column 1"},
		{"entity closing", "&lt;/script&gt;", intake.RuleScriptTag, "line 1, column 1"},
		{"entity without semicolon", "&ltscript", intake.RuleScriptTag, "line 1, column 1"},
		{"decimal reference", "&#60;script", intake.RuleScriptTag, "line 1, column 1"},
		{"decimal zeros", "&#0060script", intake.RuleScriptTag, "line 1, column 1"},
		{"hex reference", "&#x3C;script", intake.RuleScriptTag, "line 1, column 1"},
		{"percent escape", "%3Cscript%3E", intake.RuleScriptTag, "line 1, column 1"},
		{"js escape", `\u003cscript`, intake.RuleScriptTag, "line 1, column 1"},
		{"hex escape", `\x3cscript`, intake.RuleScriptTag, "line 1, column 1"},

		{"drop table", "x'; DROP TABLE users; --", intake.RuleSQLInjection, "line 1, column 2"},
		{"drop table lower", "'; drop table memos", intake.RuleSQLInjection, "line 1, column 1"},
		{"double quote", `"; DROP DATABASE prod`, intake.RuleSQLInjection, "line 1, column 1"},
		{"spaces", "' ;  drop  table x", intake.RuleSQLInjection, "line 1, column 1"},
		{"comment", "';/**/DROP/**/TABLE x", intake.RuleSQLInjection, "line 1, column 1"},
		{"delete from", "'; DELETE FROM users", intake.RuleSQLInjection, "line 1, column 1"},
		{"insert into", "'; INSERT INTO users VALUES (1)", intake.RuleSQLInjection, "line 1, column 1"},
		{"update set", "'; UPDATE users SET admin=1", intake.RuleSQLInjection, "line 1, column 1"},
		{"alter table", "'; ALTER TABLE users ADD x int", intake.RuleSQLInjection, "line 1, column 1"},
		{"truncate table", "'; TRUNCATE TABLE audit", intake.RuleSQLInjection, "line 1, column 1"},
		{"create user", "'; CREATE USER evil", intake.RuleSQLInjection, "line 1, column 1"},
		{"exec procedure", "'; EXEC xp_cmdshell 'dir'", intake.RuleSQLInjection, "line 1, column 1"},
		{"exec dynamic", "'; exec(@sql)", intake.RuleSQLInjection, "line 1, column 1"},
		{"or 1=1 quoted", "admin' OR '1'='1", intake.RuleSQLInjection, "line 1, column 6"},
		{"or 1=1", "x' or 1=1 --", intake.RuleSQLInjection, "line 1, column 2"},
		{"and a=a", "' AND 'a'='a'", intake.RuleSQLInjection, "line 1, column 1"},
		{"or empty strings", `" or ""="`, intake.RuleSQLInjection, "line 1, column 1"},
		{"or not equal", "' or 1<>2", intake.RuleSQLInjection, "line 1, column 1"},
		{"union select", "1 UNION SELECT password FROM users", intake.RuleSQLInjection, "line 1, column 3"},
		{"union all select", "x union all select 1", intake.RuleSQLInjection, "line 1, column 3"},
		{"union comment select", "union/**/select", intake.RuleSQLInjection, "line 1, column 1"},
		{"union before quote", "union select 1 then '; drop table x", intake.RuleSQLInjection, "line 1, column 1"},

		{"dollar brace", "it costs ${price}", intake.RuleTemplateInjection, "line 1, column 10"},
		{"dollar brace lookup", "${jndi:ldap://x/a}", intake.RuleTemplateInjection, "line 1, column 1"},
		{"double brace", "hi {{.Secret}}", intake.RuleTemplateInjection, "line 1, column 4"},
		{"jinja statement", "{% import os %}", intake.RuleTemplateInjection, "line 1, column 1"},
		{"hash brace", "x #{7*7}", intake.RuleTemplateInjection, "line 1, column 3"},
		{"erb output", "<%= system('id') %>", intake.RuleTemplateInjection, "line 1, column 1"},
		{"erb code", "a\nb <% x %>", intake.RuleTemplateInjection, "line 2, column 3"},
		{"closer far away", "${\n\n\n}", intake.RuleTemplateInjection, "line 1, column 1"},
		{"earliest opener wins", "a {{ b ${ c }}", intake.RuleTemplateInjection, "line 1, column 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := requireRejected(t, intake.Validate(tt.text), tt.rule)
			if !strings.Contains(e.Message, tt.rule) {
				t.Errorf("message: got %q, want it to name rule %s", e.Message, tt.rule)
			}
			if tt.at != "" && !strings.Contains(e.Message, tt.at) {
				t.Errorf("message: got %q, want it to name %q", e.Message, tt.at)
			}
		})
	}
}

// TestValidateMessageQuotesNoText checks that a rejection does not echo the
// transcript, which may be private.
func TestValidateMessageQuotesNoText(t *testing.T) {
	const secret = "zanzibar-canary"
	texts := []string{
		secret + " <script>",
		secret + " '; DROP TABLE " + secret,
		secret + " ${" + secret + "}",
		secret + "\x07" + secret,
		secret + "\u202e" + secret,
	}
	for _, text := range texts {
		err := intake.Validate(text)
		if err == nil {
			t.Fatalf("Validate(%q): got nil, want a rejection", text)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("message: got %q, want no transcript text in it", err.Error())
		}
	}
}

func TestValidateLength(t *testing.T) {
	tests := []struct {
		name string
		text string
		ok   bool
	}{
		{"limit ascii", strings.Repeat("a", intake.DefaultMaxChars), true},
		{"over limit ascii", strings.Repeat("a", intake.DefaultMaxChars+1), false},
		{"limit two-byte", strings.Repeat("\u00e9", intake.DefaultMaxChars), true},
		{"over limit two-byte", strings.Repeat("\u00e9", intake.DefaultMaxChars+1), false},
		{"limit four-byte", strings.Repeat("\U0001F600", intake.DefaultMaxChars), true},
		{"over limit four-byte", strings.Repeat("\U0001F600", intake.DefaultMaxChars+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := intake.Validate(tt.text)
			if tt.ok {
				if err != nil {
					t.Fatalf("Validate(%d characters): got %v, want nil", utf8.RuneCountInString(tt.text), err)
				}
				return
			}
			e := requireRejected(t, err, intake.RuleTooLong)
			if !strings.Contains(e.Message, "100001 characters") {
				t.Errorf("message: got %q, want it to name the count", e.Message)
			}
		})
	}
}

func TestValidatorMaxChars(t *testing.T) {
	v := intake.Validator{MaxChars: 5}
	if err := v.Validate("h\u00e9llo"); err != nil {
		t.Errorf("Validate(5 characters): got %v, want nil", err)
	}
	requireRejected(t, v.Validate("h\u00e9llo!"), intake.RuleTooLong)

	// The limit applies after normalization: six code points in NFD are
	// five in NFC.
	text, err := v.Check([]byte("he\u0301llo"))
	if err != nil {
		t.Fatalf("Check(NFD text of 5 characters): got %v, want nil", err)
	}
	if text != "h\u00e9llo" {
		t.Errorf("Check: got %q, want %q", text, "h\u00e9llo")
	}
}

func TestCheck(t *testing.T) {
	text, err := intake.Check([]byte("\uFEFFline one\r\nline two\r\n"))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if want := "line one\nline two\n"; text != want {
		t.Errorf("Check: got %q, want %q", text, want)
	}

	_, err = intake.Check([]byte("ok\xfe"))
	requireRejected(t, err, intake.RuleInvalidUTF8)

	_, err = intake.Check([]byte("\uFEFF\r\n"))
	requireRejected(t, err, intake.RuleEmpty)

	_, err = intake.Check([]byte("a\r\n<script>"))
	e := requireRejected(t, err, intake.RuleScriptTag)
	if !strings.Contains(e.Message, "line 2, column 1") {
		t.Errorf("message: got %q, want line 2, column 1", e.Message)
	}
}

// TestCorpusPasses checks that every development memo, which is natural
// speech, is accepted.
func TestCorpusPasses(t *testing.T) {
	paths, err := filepath.Glob("../testdata/corpus/dev/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("corpus: got no memos, want the development set")
	}
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := intake.Check(raw); err != nil {
			t.Errorf("Check(%s): got %v, want nil", filepath.Base(path), err)
		}
	}
}

func requireRejected(t *testing.T, err error, rule string) *whispersync.Error {
	t.Helper()
	var e *whispersync.Error
	if !errors.As(err, &e) {
		t.Fatalf("error: got %v, want a *whispersync.Error with rule %s", err, rule)
	}
	if e.Code != whispersync.EREJECTED {
		t.Errorf("code: got %q, want %q", e.Code, whispersync.EREJECTED)
	}
	if e.Rule != rule {
		t.Errorf("rule: got %q, want %q (message %q)", e.Rule, rule, e.Message)
	}
	return e
}
