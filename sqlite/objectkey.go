package sqlite

import (
	"fmt"
	"strings"

	"github.com/whispersync/whispersync"
)

// MaxKeyLength is the maximum length of an object key in bytes, the limit
// that S3 sets.
const MaxKeyLength = 1024

// MaxKeyElementLength is the maximum length of one element of an object key
// in bytes. It keeps every key exportable to a folder layout, since common
// file systems, ext4 and XFS among them, limit a file name to 255 bytes.
const MaxKeyElementLength = 255

// Rules that CheckKey reports in whispersync.Error.Rule.
const (
	RuleKeyEmpty         = "key_empty"
	RuleKeyLength        = "key_length"
	RuleKeyAbsolute      = "key_absolute"
	RuleKeyBackslash     = "key_backslash"
	RuleKeyNUL           = "key_nul"
	RuleKeyEmptyElement  = "key_empty_element"
	RuleKeyElementLength = "key_element_length"
	RuleKeyDotElement    = "key_dot_element"
	RuleKeyCharacter     = "key_character"
	// RuleKeyPrefix rejects a listing prefix that no valid key can start
	// with.
	RuleKeyPrefix = "key_prefix"
)

// CheckKey returns nil when key is a valid object key, and otherwise an
// EINVALID error whose message names the key and the rule it breaks.
//
// A valid key is a relative slash-separated path of at most MaxKeyLength
// bytes. Its elements are not empty, not "." or "..", at most
// MaxKeyElementLength bytes long, and contain only ASCII letters, digits and
// the characters '.', '_', '=' and '-'. Because of that character set, a
// valid key cannot spell a path outside a folder in any encoding, should
// it ever name a file: it has no '%', '\\', NUL or non-ASCII byte.
func CheckKey(key string) error {
	switch {
	case key == "":
		return keyError(key, RuleKeyEmpty, "is empty: name the object, such as \"transcripts/user-1/memo-1\"")
	case len(key) > MaxKeyLength:
		return keyError(key, RuleKeyLength, fmt.Sprintf("is %d bytes long: use at most %d bytes", len(key), MaxKeyLength))
	case strings.HasPrefix(key, "/"):
		return keyError(key, RuleKeyAbsolute, "is an absolute path: remove the leading slash")
	case strings.ContainsRune(key, '\\'):
		return keyError(key, RuleKeyBackslash, "contains a backslash: separate elements with '/'")
	case strings.ContainsRune(key, 0):
		return keyError(key, RuleKeyNUL, "contains a NUL byte: remove it")
	}
	for elem := range strings.SplitSeq(key, "/") {
		if err := checkElement(key, elem); err != nil {
			return err
		}
	}
	return nil
}

// checkPrefix validates a listing prefix. Every element but the last must be
// a valid key element; the last may be empty or the start of an element.
func checkPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if len(prefix) > MaxKeyLength || strings.HasPrefix(prefix, "/") || strings.ContainsAny(prefix, "\\\x00") {
		return prefixError(prefix)
	}
	elems := strings.Split(prefix, "/")
	for _, elem := range elems[:len(elems)-1] {
		if checkElement(prefix, elem) != nil {
			return prefixError(prefix)
		}
	}
	last := elems[len(elems)-1]
	if len(last) > MaxKeyElementLength {
		return prefixError(prefix)
	}
	for _, c := range []byte(last) {
		if !isKeyByte(c) {
			return prefixError(prefix)
		}
	}
	return nil
}

func checkElement(key, elem string) error {
	switch elem {
	case "":
		return keyError(key, RuleKeyEmptyElement, "has an empty element: remove the doubled, leading or trailing slash")
	case ".", "..":
		return keyError(key, RuleKeyDotElement, fmt.Sprintf("has a %q element: name the object by its full path without dot elements", elem))
	}
	if len(elem) > MaxKeyElementLength {
		return keyError(key, RuleKeyElementLength, fmt.Sprintf("has an element of %d bytes: split it with '/' into elements of at most %d bytes", len(elem), MaxKeyElementLength))
	}
	for i := 0; i < len(elem); i++ {
		if !isKeyByte(elem[i]) {
			return keyError(key, RuleKeyCharacter, fmt.Sprintf("contains %q: use only letters, digits and . _ = -", elem[i]))
		}
	}
	return nil
}

func isKeyByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	case c == '.', c == '_', c == '=', c == '-':
		return true
	}
	return false
}

func keyError(key, rule, problem string) error {
	return &whispersync.Error{
		Code:    whispersync.EINVALID,
		Message: fmt.Sprintf("invalid object key %s: the key %s", quoteKey(key), problem),
		Rule:    rule,
	}
}

func prefixError(prefix string) error {
	return &whispersync.Error{
		Code: whispersync.EINVALID,
		Message: fmt.Sprintf("invalid key prefix %s: use a relative slash-separated path of at most %d bytes whose elements contain only letters, digits and . _ = -",
			quoteKey(prefix), MaxKeyLength),
		Rule: RuleKeyPrefix,
	}
}

// quoteKey quotes key for an error message, cut to 80 bytes so that an
// oversized key does not flood the log.
func quoteKey(key string) string {
	const maxShown = 80
	if len(key) > maxShown {
		return fmt.Sprintf("%q...", key[:maxShown])
	}
	return fmt.Sprintf("%q", key)
}
