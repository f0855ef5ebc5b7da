package ids

import "testing"

func TestNewSortsByCreation(t *testing.T) {
	prev := New("m")
	for range 10000 {
		next := New("m")
		if next <= prev {
			t.Fatalf("order: got %q after %q, want a greater id", next, prev)
		}
		prev = next
	}
}

func TestValid(t *testing.T) {
	id := New("m")
	cases := []struct {
		prefix, id string
		want       bool
	}{
		{"m", id, true},
		{"u", id, false},
		{"m", id[:len(id)-1], false},
		{"m", "m_../../../etc/passwd00000", false},
		{"m", "", false},
	}
	for _, c := range cases {
		if got := Valid(c.prefix, c.id); got != c.want {
			t.Errorf("Valid(%q, %q): got %v, want %v", c.prefix, c.id, got, c.want)
		}
	}
}
