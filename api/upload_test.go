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
