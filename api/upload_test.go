package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/api"
)

func TestUploadRejectsMalformedBodies(t *testing.T) {
	h := newHarness(t, api.Options{})
	alice := h.token("alice")
	cases := []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"truncated multipart", "multipart/form-data; boundary=abc", "--abc\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello", http.StatusBadRequest, whispersync.EINVALID},
		{"multipart without a file part", "multipart/form-data; boundary=abc", "--abc\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nhello\r\n--abc--\r\n", http.StatusBadRequest, whispersync.EINVALID},
		{"multipart with two file parts", "multipart/form-data; boundary=abc", "--abc\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nCall Lena about the invoice.\r\n--abc\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.txt\"\r\n\r\nSend the budget to Marcus.\r\n--abc--\r\n", http.StatusBadRequest, whispersync.EINVALID},
		{"form-encoded body", "application/x-www-form-urlencoded", "hello=there", http.StatusUnsupportedMediaType, "unsupported_media_type"},
	}
	for _, c := range cases {
		r := h.req("POST", "/v1/memos", strings.NewReader(c.body), "Authorization", alice, "Content-Type", c.contentType)
		if r.status != c.status {
			t.Errorf("%s: status got %d, want %d (%s)", c.name, r.status, c.status, r.raw)
		}
		if r.errorCode() != c.code {
			t.Errorf("%s: code got %q, want %q", c.name, r.errorCode(), c.code)
		}
	}
}

// TestJSONBodyLimits checks that a JSON body over its route's limit gets
// 413, not a message about invalid JSON, that a body that is not one JSON
// object gets 400, and that the edge's size message speaks of transcripts
// only on the upload route.
func TestJSONBodyLimits(t *testing.T) {
	h := newHarness(t, api.Options{})
	admin := "Bearer " + h.token("root", whispersync.ScopeAdmin)
	tests := []struct {
		name, path, body, auth string
		want                   int
	}{
		{"login of 64 KiB", "/v1/login", `{"user":"` + strings.Repeat("a", 64<<10) + `","password":"x"}`, "", http.StatusRequestEntityTooLarge},
		{"block of 8 KiB", "/v1/admin/blocklist", `{"value":"192.0.2.7","reason":"` + strings.Repeat("a", 8<<10) + `"}`, admin, http.StatusRequestEntityTooLarge},
		{"block with 20 KiB of trailing spaces", "/v1/admin/blocklist", `{"value":"192.0.2.7"}` + strings.Repeat(" ", 20<<10), admin, http.StatusRequestEntityTooLarge},
		{"token with 5,000 trailing spaces", "/v1/admin/users/root/tokens", `{"name":"laptop"}` + strings.Repeat(" ", 5000), admin, http.StatusRequestEntityTooLarge},
		{"token with a null body", "/v1/admin/users/root/tokens", `null`, admin, http.StatusBadRequest},
		{"block with a second object", "/v1/admin/blocklist", `{"value":"192.0.2.7"} {"value":"192.0.2.8"}`, admin, http.StatusBadRequest},
	}
	for _, tt := range tests {
		r := h.req(http.MethodPost, tt.path, strings.NewReader(tt.body), "Authorization", tt.auth, "Content-Type", "application/json")
		if r.status != tt.want {
			t.Errorf("%s: got %d %s, want %d", tt.name, r.status, r.raw, tt.want)
		}
	}

	huge := strings.Repeat("a", 2<<20)
	r := h.req(http.MethodPost, "/v1/login", strings.NewReader(huge), "Content-Type", "application/json")
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("login of 2 MiB: got %d %s, want 413", r.status, r.raw)
	}
	if strings.Contains(string(r.raw), "transcript") {
		t.Errorf("login of 2 MiB: message %s, want no word on transcripts", r.raw)
	}
}
