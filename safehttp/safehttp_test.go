package safehttp_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"

	"github.com/whispersync/whispersync/safehttp"
)

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr     string
		loopback bool
		ok       bool
	}{
		{"93.184.216.34", false, true},
		{"2606:4700::1111", false, true},
		{"127.0.0.1", false, false},
		{"127.0.0.1", true, true},
		{"::1", false, false},
		{"::ffff:127.0.0.1", false, false},
		{"10.0.0.1", false, false},
		{"172.16.5.4", false, false},
		{"192.168.1.1", false, false},
		{"100.64.0.1", false, false},
		{"169.254.169.254", true, false},
		{"169.254.1.1", false, false},
		{"fd00:ec2::254", true, false},
		{"fe80::1", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"224.0.0.1", false, false},
		{"255.255.255.255", false, false},
	}
	for _, tt := range tests {
		err := safehttp.Options{AllowLoopback: tt.loopback}.CheckAddr(netip.MustParseAddr(tt.addr))
		if (err == nil) != tt.ok {
			t.Errorf("CheckAddr(%s, loopback %v): got %v, want allowed %v", tt.addr, tt.loopback, err, tt.ok)
		}
	}
}

// testServer runs a TLS server on 127.0.0.1 and returns a client config
// that trusts it.
func testServer(t *testing.T, h http.Handler) (*httptest.Server, *tls.Config) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, &tls.Config{RootCAs: pool}
}

func TestClientRefuses(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{}`)) })
	srv, tlsConfig := testServer(t, ok)
	var redirectTarget string
	redirector, _ := testServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, redirectTarget, http.StatusFound)
	}))
	plain := httptest.NewServer(ok)
	t.Cleanup(plain.Close)
	u, _ := url.Parse(srv.URL)

	tests := []struct {
		name   string
		opts   safehttp.Options
		url    string
		target string
	}{
		{"loopback without the test option", safehttp.Options{}, srv.URL, ""},
		{"localhost name resolving to loopback", safehttp.Options{}, "https://localhost:" + u.Port(), ""},
		{"plain http", safehttp.Options{AllowLoopback: true}, plain.URL, ""},
		{"host not in the allowlist", safehttp.Options{AllowLoopback: true, AllowHosts: []string{"idp.example.com"}}, srv.URL, ""},
		{"metadata address", safehttp.Options{AllowLoopback: true, AllowHTTP: true}, "http://169.254.169.254/latest/meta-data/", ""},
		{"user information", safehttp.Options{AllowLoopback: true}, "https://user:pw@" + u.Host, ""},
		{"redirect to plain http", safehttp.Options{AllowLoopback: true}, redirector.URL, plain.URL},
		{"redirect to metadata", safehttp.Options{AllowLoopback: true}, redirector.URL, "https://169.254.169.254/"},
		{"redirect to a host outside the allowlist", safehttp.Options{AllowLoopback: true, AllowHosts: []string{"127.0.0.1"}}, redirector.URL, "https://localhost:" + u.Port()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			redirectTarget = tt.target
			tt.opts.TLS = tlsConfig
			_, err := safehttp.Get(context.Background(), safehttp.New(tt.opts), tt.url, 1<<10)
			if !errors.Is(err, safehttp.ErrRefused) {
				t.Errorf("get %s: got %v, want ErrRefused", tt.url, err)
			}
		})
	}
}

func TestClientAllows(t *testing.T) {
	srv, tlsConfig := testServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"ok":true}`)) }))
	c := safehttp.New(safehttp.Options{AllowLoopback: true, AllowHosts: []string{"127.0.0.1"}, TLS: tlsConfig})
	body, err := safehttp.Get(context.Background(), c, srv.URL, 1<<10)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if string(body) != `{"ok":true}` {
		t.Errorf("body: got %q", body)
	}
	if _, err := safehttp.Get(context.Background(), c, srv.URL, 4); err == nil {
		t.Error("get with a 4-byte limit: got no error, want body too large")
	}
}
