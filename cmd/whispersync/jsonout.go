package main

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// printJSON prints v as indented JSON. Every time.Duration in it is written
// as a Go duration string such as "8760h0m0s", never as a count of
// nanoseconds, so that --json output reads the same in every command.
func (m *Main) printJSON(v any) error {
	data, err := marshalCLIJSON(v)
	if err != nil {
		return err
	}
	_, err = m.Stdout.Write(data)
	return err
}

// marshalCLIJSON encodes v as encoding/json does, indented by two spaces
// and ending in a line break, with durations as strings. It encodes v first.
// Then it walks v and the encoded tree side by side and rewrites the numbers
// that came from a time.Duration, so the order of keys stays as encoded.
func marshalCLIJSON(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tree, err := decodeNode(dec)
	if err != nil {
		return nil, fmt.Errorf("print JSON: %w", err)
	}
	durationsAsText(reflect.ValueOf(v), tree, 0)
	var compact, out bytes.Buffer
	if err := tree.encode(&compact); err != nil {
		return nil, err
	}
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("print JSON: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// jsonNode is a decoded JSON value that keeps the order of object keys.
type jsonNode struct {
	// kind is '{' for an object, '[' for an array, 0 for a scalar.
	kind  byte
	raw   json.RawMessage // a scalar, as encoded
	keys  []string        // an object's keys, in order
	vals  []*jsonNode     // an object's values, by key
	items []*jsonNode     // an array's items
}

func decodeNode(dec *json.Decoder) (*jsonNode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case json.Delim:
		switch tok {
		case '{':
			n := &jsonNode{kind: '{'}
			for dec.More() {
				key, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := key.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				val, err := decodeNode(dec)
				if err != nil {
					return nil, err
				}
				n.keys, n.vals = append(n.keys, k), append(n.vals, val)
			}
			_, err := dec.Token() // the closing brace
			return n, err
		case '[':
			n := &jsonNode{kind: '['}
			for dec.More() {
				item, err := decodeNode(dec)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, item)
			}
			_, err := dec.Token() // the closing bracket
			return n, err
		}
		return nil, fmt.Errorf("unexpected %v", tok)
	case json.Number:
		return &jsonNode{raw: json.RawMessage(tok)}, nil
	default:
		// Strings are encoded again with encoding/json's escaping, the
		// same as the first time.
		raw, err := json.Marshal(tok)
		return &jsonNode{raw: raw}, err
	}
}

func (n *jsonNode) encode(b *bytes.Buffer) error {
	switch n.kind {
	case '{':
		b.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			key, err := json.Marshal(k)
			if err != nil {
				return err
			}
			b.Write(key)
			b.WriteByte(':')
			if err := n.vals[i].encode(b); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case '[':
		b.WriteByte('[')
		for i, item := range n.items {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := item.encode(b); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		b.Write(n.raw)
	}
	return nil
}

// get returns the value of key in an object, nil when it is absent.
func (n *jsonNode) get(key string) *jsonNode {
	if i := slices.Index(n.keys, key); i >= 0 {
		return n.vals[i]
	}
	return nil
}

var (
	durationType      = reflect.TypeFor[time.Duration]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// maxJSONDepth bounds the walk; the CLI's values are far shallower.
const maxJSONDepth = 64

// durationsAsText rewrites the nodes of n that encode a time.Duration of v
// as the duration's string.
func durationsAsText(v reflect.Value, n *jsonNode, depth int) {
	if !v.IsValid() || n == nil || depth > maxJSONDepth {
		return
	}
	t := v.Type()
	if t == durationType {
		if n.kind == 0 && len(n.raw) > 0 && (n.raw[0] == '-' || n.raw[0] >= '0' && n.raw[0] <= '9') {
			n.raw, _ = json.Marshal(time.Duration(v.Int()).String())
		}
		return
	}
	// A type that encodes itself decides its own form.
	if t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) ||
		v.CanAddr() && (reflect.PointerTo(t).Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType)) {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			durationsAsText(v.Elem(), n, depth+1)
		}
	case reflect.Slice, reflect.Array:
		if n.kind != '[' {
			return
		}
		for i := 0; i < v.Len() && i < len(n.items); i++ {
			durationsAsText(v.Index(i), n.items[i], depth+1)
		}
	case reflect.Map:
		if n.kind != '{' || t.Key().Kind() != reflect.String || t.Key().Implements(textMarshalerType) {
			return
		}
		for i, k := range n.keys {
			durationsAsText(v.MapIndex(reflect.ValueOf(k).Convert(t.Key())), n.vals[i], depth+1)
		}
	case reflect.Struct:
		if n.kind != '{' {
			return
		}
		for _, f := range jsonFields(t) {
			if fv, ok := fieldByIndex(v, f.index); ok {
				durationsAsText(fv, n.get(f.name), depth+1)
			}
		}
	}
}

// jsonField is a struct field as encoding/json names it.
type jsonField struct {
	name  string
	index []int
}

// jsonFields returns the fields encoding/json encodes for struct type t.
// Fields of embedded structs are promoted, and a shallower field hides a
// deeper one of the same name. A name that two fields at the same depth
// share is left out. NOTE: when exactly one of the two is tagged,
// encoding/json encodes that one, and this walk leaves its duration a number.
func jsonFields(t reflect.Type) []jsonField {
	type level struct {
		t     reflect.Type
		index []int
	}
	var out []jsonField
	claimed := map[string]bool{}
	visited := map[reflect.Type]bool{}
	for current := []level{{t, nil}}; len(current) > 0; {
		var next []level
		var found []jsonField
		count := map[string]int{}
		for _, l := range current {
			if visited[l.t] {
				continue
			}
			visited[l.t] = true
			for i := range l.t.NumField() {
				sf := l.t.Field(i)
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				index := append(slices.Clone(l.index), i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if name == "" && ft.Kind() == reflect.Struct {
						next = append(next, level{ft, index})
						continue
					}
				}
				if !sf.IsExported() {
					continue
				}
				if name == "" {
					name = sf.Name
				}
				found = append(found, jsonField{name, index})
				count[name]++
			}
		}
		for _, f := range found {
			if !claimed[f.name] && count[f.name] == 1 {
				out = append(out, f)
			}
		}
		for _, f := range found {
			claimed[f.name] = true
		}
		current = next
	}
	return out
}

// fieldByIndex returns the field of v at index, following embedded
// pointers; false when one of them is nil.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}
