package intake

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// injectionCheck is one injection rule. Its find function returns the byte
// offset of the first match and a description of the match for the rejection
// message, or -1 and "".
type injectionCheck struct {
	rule string
	fix  string
	find func(text string) (at int, description string)
}

var injectionChecks = []injectionCheck{
	{RuleScriptTag, "remove the tag or upload the transcript as plain text without markup", findScriptTag},
	{RuleSQLInjection, "rephrase that passage without the quote and the SQL keywords", findSQLInjection},
	{RuleTemplateInjection, "remove the template delimiters", findTemplateExpression},
}

// The scanners below read at most these bounded windows past a candidate byte,
// plus white space and words, which contain no candidate bytes. Validation so
// stays linear in the length of the text, whatever it contains.
const (
	maxCommentBytes = 256 // longest SQL /* */ comment skipped between tokens
	maxOperandBytes = 64  // longest quoted operand in an OR/AND comparison
)

// findScriptTag finds "<script" or "</script" in any ASCII case, with white
// space after "<" and around "/", and with "<" spelled as an HTML character
// reference, a percent escape, or a \u or \x escape.
func findScriptTag(text string) (int, string) {
	for i := 0; i < len(text); i++ {
		next := strings.IndexAny(text[i:], `<&%\`)
		if next < 0 {
			break
		}
		i += next
		n := lessThanLen(text[i:])
		if n == 0 {
			continue
		}
		j := skipSpace(text, i+n)
		if j < len(text) && text[j] == '/' {
			j = skipSpace(text, j+1)
		}
		if hasWordFold(text[j:], "script") {
			return i, "an HTML script tag"
		}
	}
	return -1, ""
}

// lessThanLen returns the length of the "<" or encoded "<" at the start of s,
// or 0.
func lessThanLen(s string) int {
	switch {
	case strings.HasPrefix(s, "<"):
		return 1
	case hasPrefixFold(s, "&lt;"):
		return 4
	case hasPrefixFold(s, "&lt"):
		return 3 // browsers accept the legacy form without a semicolon
	case hasPrefixFold(s, "%3c"):
		return 3
	case hasPrefixFold(s, `\u003c`):
		return 6
	case hasPrefixFold(s, `\x3c`):
		return 4
	case strings.HasPrefix(s, "&#"):
		return numericLessThanLen(s)
	}
	return 0
}

// numericLessThanLen returns the length of a numeric character reference to
// "<" (&#60; or &#x3c;, any number of leading zeros, semicolon optional) at
// the start of s, or 0.
func numericLessThanLen(s string) int {
	i, base, want := 2, 10, 60
	if i < len(s) && (s[i] == 'x' || s[i] == 'X') {
		i, base, want = 3, 16, 0x3c
	}
	start, value := i, 0
	for ; i < len(s); i++ {
		d := digitValue(s[i], base)
		if d < 0 {
			break
		}
		// Any value above want is no match, so capping it avoids overflow.
		value = min(value*base+d, want+1)
	}
	if i == start || value != want {
		return 0
	}
	if i < len(s) && s[i] == ';' {
		i++
	}
	return i
}

func digitValue(c byte, base int) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case base == 16 && c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case base == 16 && c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// findSQLInjection finds the three SQL injection shapes in the package doc.
// Each needs SQL syntax around the keywords, so the same words in speech
// pass.
func findSQLInjection(text string) (int, string) {
	at, description := -1, ""
	for i := 0; i < len(text); i++ {
		next := strings.IndexAny(text[i:], `'"`)
		if next < 0 {
			break
		}
		i += next
		if isStackedStatement(text, i+1) {
			at, description = i, "a quote followed by a semicolon and an SQL statement"
			break
		}
		if isTautology(text, i+1) {
			at, description = i, "a quote followed by an SQL OR or AND comparison"
			break
		}
	}

	// UNION SELECT needs no quote, so it may come before the first quote
	// match.
	if u := findUnionSelect(text); u >= 0 && (at < 0 || u < at) {
		return u, "UNION SELECT"
	}
	return at, description
}

// isStackedStatement reports whether text at i, just after a quote, contains a
// semicolon and then the start of a DDL or DML statement.
func isStackedStatement(text string, i int) bool {
	i = skipSQLSpace(text, i)
	if i >= len(text) || text[i] != ';' {
		return false
	}
	i = skipSQLSpace(text, i+1)
	keyword, i := readWord(text, i)
	i = skipSQLSpace(text, i)
	switch strings.ToLower(keyword) {
	case "drop", "alter", "create", "truncate":
		object, _ := readWord(text, i)
		return isSchemaObject(object)
	case "delete":
		return hasWordFold(text[i:], "from")
	case "insert":
		return hasWordFold(text[i:], "into")
	case "update":
		table, j := readWord(text, i)
		return table != "" && hasWordFold(text[skipSQLSpace(text, j):], "set")
	case "exec", "execute":
		// A procedure call (EXEC xp_cmdshell, EXEC master.dbo.x, EXEC(@sql))
		// rather than "execute the plan".
		if i < len(text) && (text[i] == '(' || text[i] == '@') {
			return true
		}
		name, _ := readWord(text, i)
		return strings.ContainsAny(name, "_.")
	}
	return false
}

func isSchemaObject(word string) bool {
	switch strings.ToLower(word) {
	case "table", "database", "schema", "view", "index", "user", "role",
		"procedure", "function", "trigger", "sequence":
		return true
	}
	return false
}

// isTautology reports whether text at i, just after a quote, contains OR or AND
// followed by a comparison of two operands, as in ' OR '1'='1 or ' or 1=1.
func isTautology(text string, i int) bool {
	i = skipSQLSpace(text, i)
	op, i := readWord(text, i)
	if !strings.EqualFold(op, "or") && !strings.EqualFold(op, "and") {
		return false
	}
	i = skipOperand(text, skipSQLSpace(text, i))
	if i < 0 {
		return false
	}
	i = skipSQLSpace(text, i)
	switch {
	case strings.HasPrefix(text[i:], "<>"), strings.HasPrefix(text[i:], "!="), strings.HasPrefix(text[i:], "=="):
		i += 2
	case strings.HasPrefix(text[i:], "="):
		i++
	default:
		return false
	}
	return skipOperand(text, skipSQLSpace(text, i)) >= 0
}

// skipOperand returns the end of the SQL operand at i: a quoted string (its
// closing quote optional, because the query being attacked supplies it), a
// number or a name. It returns -1 when there is none.
func skipOperand(text string, i int) int {
	if i >= len(text) {
		return -1
	}
	if q := text[i]; q == '\'' || q == '"' {
		end := min(len(text), i+1+maxOperandBytes)
		for j := i + 1; j < end; j++ {
			switch text[j] {
			case q:
				return j + 1
			case '\n':
				return j
			}
		}
		return end
	}
	word, j := readWord(text, i)
	if word == "" {
		return -1
	}
	return j
}

// findUnionSelect finds UNION SELECT, UNION ALL SELECT or UNION DISTINCT
// SELECT as whole words in any ASCII case, with white space or comments
// between them.
func findUnionSelect(text string) int {
	for i := 0; i < len(text); i++ {
		next := strings.IndexAny(text[i:], "uU")
		if next < 0 {
			break
		}
		i += next
		if i > 0 && isWordByte(text[i-1]) {
			continue
		}
		word, j := readWord(text, i)
		if !strings.EqualFold(word, "union") {
			continue
		}
		j = skipSQLSpace(text, j)
		if w, k := readWord(text, j); strings.EqualFold(w, "all") || strings.EqualFold(w, "distinct") {
			j = skipSQLSpace(text, k)
		}
		if hasWordFold(text[j:], "select") {
			return i
		}
	}
	return -1
}

// findTemplateExpression finds the earliest template opener that has its
// closer somewhere after it. When the first occurrence of an opener has no
// closer after it, no later occurrence does either, so one search per
// delimiter pair is enough.
func findTemplateExpression(text string) (int, string) {
	delimiters := []struct{ open, close, description string }{
		{"${", "}", "a template expression (${…})"},
		{"{{", "}}", "a template expression ({{…}})"},
		{"{%", "%}", "a template statement ({%…%})"},
		{"#{", "}", "a template expression (#{…})"},
		{"<%", "%>", "a template tag (<%…%>)"},
	}
	at, description := -1, ""
	for _, d := range delimiters {
		open := strings.Index(text, d.open)
		if open < 0 || (at >= 0 && open >= at) {
			continue
		}
		if strings.Contains(text[open+len(d.open):], d.close) {
			at, description = open, d.description
		}
	}
	return at, description
}

// skipSpace returns the index of the first character at or after i that is
// not white space.
func skipSpace(text string, i int) int {
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isSpace(r) {
			break
		}
		i += size
	}
	return i
}

// skipSQLSpace skips white space and short /* */ comments, which SQL accepts
// anywhere white space is.
func skipSQLSpace(text string, i int) int {
	for {
		i = skipSpace(text, i)
		if !strings.HasPrefix(text[i:], "/*") {
			return i
		}
		window := text[i+2 : min(len(text), i+2+maxCommentBytes)]
		end := strings.Index(window, "*/")
		if end < 0 {
			return i
		}
		i += 2 + end + 2
	}
}

// readWord returns the ASCII word (letters, digits, underscore, dot) at i
// and the index after it.
func readWord(text string, i int) (string, int) {
	j := i
	for j < len(text) && (isWordByte(text[j]) || text[j] == '.') {
		j++
	}
	return text[i:j], j
}

// hasWordFold reports whether s starts with the lowercase ASCII word, in any
// ASCII case, followed by a byte that cannot continue a word.
func hasWordFold(s, word string) bool {
	return hasPrefixFold(s, word) && (len(s) == len(word) || !isWordByte(s[len(word)]) && s[len(word)] != '-')
}

// hasPrefixFold reports whether s starts with the lowercase ASCII prefix in
// any ASCII case. Unicode case folding is avoided on purpose: browsers and
// SQL parsers fold only ASCII, and folding would match "ſcript" (long s).
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || '\t' <= r && r <= '\r'
	}
	return unicode.IsSpace(r)
}
