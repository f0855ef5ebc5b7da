// Package intake normalizes and validates transcripts before they are sealed
// and queued.
//
// # Normalize
//
// Normalize turns raw bytes into the canonical text that every later step
// works on: valid UTF-8 without a leading byte order mark, LF line endings and
// Unicode Normalization Form C. Normalize is idempotent.
//
// # Validate
//
// Validate applies the rules below in this order and reports the first that
// fails. Each rejection is a *whispersync.Error with code
// whispersync.EREJECTED, Rule set to the rule's id, and a message that names
// the rule, the line and column where it fired (columns count characters,
// from 1), and what to do. Messages never quote the transcript, because the
// rejected text may be the private content the product exists to protect.
//
//	invalid_utf8        the text is not valid UTF-8
//	too_long            more than MaxChars characters (Unicode code points)
//	control_character   a C0 or C1 control character other than newline,
//	                    carriage return and tab, DEL, or U+2028/U+2029
//	bidi_control        a bidirectional embedding, override or isolate
//	                    (U+202A–U+202E, U+2066–U+2069), which can hide text
//	empty               nothing but white space
//	script_tag          an HTML script tag, opening or closing, in any case,
//	                    with white space inside, or with "<" encoded as an
//	                    HTML entity, a percent escape or a \u or \x escape
//	sql_injection       a quote, a semicolon and an SQL statement (DROP
//	                    TABLE, DELETE FROM, INSERT INTO, UPDATE … SET, ALTER,
//	                    CREATE or TRUNCATE of a schema object, EXEC), a quote
//	                    followed by an OR or AND comparison such as
//	                    ' OR '1'='1, or UNION SELECT
//	template_injection  ${…}, {{…}}, {%…%}, #{…} or <%…%> (including <%= … %>)
//
// U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR are rejected as control
// characters. Speech-to-text never emits them, some viewers show them as line
// breaks and others do not (so a line and column would point at different
// places), and older JavaScript parsers end a string literal at them.
//
// The injection rules look for syntax, not for words, so natural speech
// passes: "drop table tennis", "we need to update the schedule; delete the
// old one", "select the union rep", "it costs $5" and "she said 'no'; delete
// the draft" are all accepted. A literal "${price}" is rejected. A transcript
// from speech never contains it, and the same text in a template would be
// evaluated.
//
// The product queries its stores with bound parameters and escapes HTML on
// output, so these rules are a second line of defence and a signal for the
// threat detectors, not the only one.
package intake

import (
	"bytes"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/whispersync/whispersync"
)

// DefaultMaxChars is the longest transcript accepted by default, in
// characters (Unicode code points).
const DefaultMaxChars = 100_000

// Rule ids, stable because API clients and the threat detectors match on them.
const (
	RuleInvalidUTF8       = "invalid_utf8"
	RuleTooLong           = "too_long"
	RuleControlCharacter  = "control_character"
	RuleBidiControl       = "bidi_control"
	RuleEmpty             = "empty"
	RuleScriptTag         = "script_tag"
	RuleSQLInjection      = "sql_injection"
	RuleTemplateInjection = "template_injection"
)

// Validator is the configuration of Validate. The zero value applies
// the defaults.
type Validator struct {
	// MaxChars is the maximum number of characters (Unicode code points) in a
	// normalized transcript. Zero means DefaultMaxChars.
	MaxChars int
}

func (v Validator) maxChars() int {
	if v.MaxChars <= 0 {
		return DefaultMaxChars
	}
	return v.MaxChars
}

// Normalize returns raw as canonical text: it rejects invalid UTF-8 (rule
// invalid_utf8, naming the byte offset), strips leading byte order marks,
// turns CRLF and lone CR into LF, and applies Unicode NFC.
//
// Every leading byte order mark is stripped, not only the first, so that
// Normalize(Normalize(x)) == Normalize(x).
func Normalize(raw []byte) (string, error) {
	if !utf8.Valid(raw) {
		return "", invalidUTF8(raw)
	}

	const bom = "\uFEFF"
	for bytes.HasPrefix(raw, []byte(bom)) {
		raw = raw[len(bom):]
	}
	if bytes.IndexByte(raw, '\r') >= 0 {
		raw = toLF(raw)
	}

	// No NFC mapping produces a carriage return or a byte order mark, so the
	// output still meets the two steps above.
	return norm.NFC.String(string(raw)), nil
}

// toLF returns a copy of b with CRLF and lone CR replaced by LF.
func toLF(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for {
		cr := bytes.IndexByte(b, '\r')
		if cr < 0 {
			return append(out, b...)
		}
		out = append(out, b[:cr]...)
		out = append(out, '\n')
		b = b[cr+1:]
		if len(b) > 0 && b[0] == '\n' {
			b = b[1:]
		}
	}
}

func invalidUTF8(raw []byte) error {
	offset := 0
	for offset < len(raw) {
		r, size := utf8.DecodeRune(raw[offset:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		offset += size
	}
	return reject(RuleInvalidUTF8,
		"transcript rejected by rule %s: invalid UTF-8 at byte offset %d; save the transcript as UTF-8 text and upload it again",
		RuleInvalidUTF8, offset)
}

// Validate checks normalized text against the rules in the package doc with
// the default limits.
func Validate(text string) error { return Validator{}.Validate(text) }

// Check normalizes raw and validates the result with the default limits.
func Check(raw []byte) (string, error) { return Validator{}.Check(raw) }

// Check normalizes raw and validates the result. It returns the normalized
// text only when it is valid.
//
// Check takes time linear in len(raw). Callers bound the size of what they
// read before calling it.
func (v Validator) Check(raw []byte) (string, error) {
	text, err := Normalize(raw)
	if err != nil {
		return "", err
	}
	if err := v.Validate(text); err != nil {
		return "", err
	}
	return text, nil
}

// Validate checks text against the rules in the package doc, in their order,
// and returns a *whispersync.Error for the first that fails. Text should be
// the output of Normalize. Carriage returns are accepted so that
// unnormalized text with CRLF line endings can be checked too.
func (v Validator) Validate(text string) error {
	if !utf8.ValidString(text) {
		return invalidUTF8([]byte(text))
	}
	if n := utf8.RuneCountInString(text); n > v.maxChars() {
		return reject(RuleTooLong,
			"transcript rejected by rule %s: it has %d characters, more than the limit of %d; split it into shorter memos",
			RuleTooLong, n, v.maxChars())
	}
	if err := checkCharacters(text); err != nil {
		return err
	}

	for _, check := range injectionChecks {
		if at, description := check.find(text); at >= 0 {
			line, col := position(text, at)
			return reject(check.rule,
				"transcript rejected by rule %s: %s at line %d, column %d; %s",
				check.rule, description, line, col, check.fix)
		}
	}
	return nil
}

// checkCharacters applies the rules control_character, bidi_control and
// empty in one pass.
func checkCharacters(text string) error {
	blank := true
	for i := 0; i < len(text); {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		switch {
		case r == '\n' || r == '\t' || r == '\r':
		case r < 0x20 || (r >= 0x7F && r <= 0x9F) || r == 0x2028 || r == 0x2029:
			line, col := position(text, i)
			return reject(RuleControlCharacter,
				"transcript rejected by rule %s: control character U+%04X at line %d, column %d; remove it (only newline, carriage return and tab are allowed) or upload the transcript as plain text",
				RuleControlCharacter, r, line, col)
		case (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069):
			line, col := position(text, i)
			return reject(RuleBidiControl,
				"transcript rejected by rule %s: bidirectional control character U+%04X, which can hide text, at line %d, column %d; remove it or upload the transcript as plain text",
				RuleBidiControl, r, line, col)
		}
		if blank && !isSpace(r) {
			blank = false
		}
		i += size
	}
	if blank {
		return reject(RuleEmpty,
			"transcript rejected by rule %s: it is empty or contains only white space; record the memo again or paste its text",
			RuleEmpty)
	}
	return nil
}

// position returns the 1-based line and column of the byte offset at in
// text, with columns counted in characters.
func position(text string, at int) (line, col int) {
	line, col = 1, 1
	for _, r := range text[:at] {
		if r == '\n' {
			line, col = line+1, 1
			continue
		}
		col++
	}
	return line, col
}

func reject(rule, format string, args ...any) error {
	e := whispersync.Errorf(whispersync.EREJECTED, format, args...)
	e.Rule = rule
	return e
}
