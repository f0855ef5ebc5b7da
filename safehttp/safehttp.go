// Package safehttp is WhisperSync's one outbound HTTP client. Every request
// the server makes on its own, such as fetching an identity provider's keys,
// goes through it, so that a URL taken from configuration or from a token
// cannot make the server reach its own host, the private network or a cloud
// metadata endpoint (server-side request forgery).
//
// A client made by New:
//   - speaks HTTPS only, unless Options.AllowHTTP is set;
//   - reaches only the hosts in Options.AllowHosts, when that list is set;
//   - refuses loopback, private, link-local (which holds the metadata
//     address 169.254.169.254), unspecified, multicast and other special
//     addresses, checked on the address actually dialled, after DNS
//     resolution, so a name that resolves to 127.0.0.1 is refused too;
//   - applies the same checks to every redirect, and follows at most
//     MaxRedirects of them;
//   - ignores proxy settings from the environment, which would bypass the
//     address check.
package safehttp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"
)

// MaxRedirects is how many redirects a client follows.
const MaxRedirects = 3

// ErrRefused is wrapped by every error about a refused destination.
var ErrRefused = errors.New("safehttp: destination not allowed")

// Options configure a client. The zero value is the strictest: HTTPS to any
// public address.
type Options struct {
	// AllowHosts lists the host names (without port) the client may reach;
	// empty allows any public host.
	AllowHosts []string
	// AllowHTTP permits plain http:// URLs.
	AllowHTTP bool
	// AllowLoopback permits loopback addresses. It exists for tests that run
	// a server on 127.0.0.1; production code must not set it.
	AllowLoopback bool
	// Timeout bounds a whole request, redirects included; default 10 s.
	Timeout time.Duration
	// TLS is the base TLS configuration, such as a test's root CAs; nil
	// verifies servers against the system roots. TLS 1.2 is the minimum
	// in any case.
	TLS *tls.Config
}

// New returns a client that enforces opts.
func New(opts Options) *http.Client {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	p := policy{opts: opts}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: p.control}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.TLS != nil {
		tlsConfig = opts.TLS.Clone()
		if tlsConfig.MinVersion < tls.VersionTLS12 {
			tlsConfig.MinVersion = tls.VersionTLS12
		}
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 5 * time.Second,
		MaxIdleConns:          4,
		IdleConnTimeout:       time.Minute,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: checkedTransport{policy: p, next: transport},
		Timeout:   opts.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return fmt.Errorf("%w: more than %d redirects", ErrRefused, MaxRedirects)
			}
			return p.checkURL(req.URL)
		},
	}
}

// checkedTransport checks each request's URL before it is sent, so a
// caller that builds its own request cannot skip the scheme and host rules.
type checkedTransport struct {
	policy policy
	next   http.RoundTripper
}

func (t checkedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.policy.checkURL(req.URL); err != nil {
		return nil, err
	}
	return t.next.RoundTrip(req)
}

type policy struct{ opts Options }

func (p policy) checkURL(u *url.URL) error {
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && p.opts.AllowHTTP:
	default:
		return fmt.Errorf("%w: scheme %q: only https is allowed", ErrRefused, u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("%w: URL with user information", ErrRefused)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return fmt.Errorf("%w: URL without host", ErrRefused)
	}
	if len(p.opts.AllowHosts) > 0 && !slices.ContainsFunc(p.opts.AllowHosts, func(h string) bool { return strings.EqualFold(h, host) }) {
		return fmt.Errorf("%w: host %q is not in the allowlist", ErrRefused, host)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return p.checkAddr(ip)
	}
	return nil
}

// control runs after DNS resolution, on the address about to be dialled.
func (p policy) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable address %q", ErrRefused, address)
	}
	return p.checkAddr(ap.Addr())
}

// metadataAddrs are cloud instance metadata endpoints outside the ranges
// refused anyway: AWS's IPv6 endpoint is in fd00::/8 (private), and
// 169.254.169.254 is link-local, but both are listed so the intent stays
// visible if a range rule changes.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
}

// sharedAddressSpace is carrier-grade NAT space, private in practice.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// CheckAddr reports whether the client may dial ip under opts.
func (opts Options) CheckAddr(ip netip.Addr) error {
	return policy{opts: opts}.checkAddr(ip)
}

func (p policy) checkAddr(ip netip.Addr) error {
	ip = ip.Unmap()
	refuse := func(kind string) error {
		return fmt.Errorf("%w: %s address %s", ErrRefused, kind, ip)
	}
	switch {
	case slices.Contains(metadataAddrs, ip):
		return refuse("metadata")
	case ip.IsLoopback():
		if p.opts.AllowLoopback {
			return nil
		}
		return refuse("loopback")
	case ip.IsPrivate(), sharedAddressSpace.Contains(ip):
		return refuse("private")
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return refuse("link-local")
	case ip.IsUnspecified():
		return refuse("unspecified")
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return refuse("multicast")
	case ip.Is4() && ip.As4()[0] == 0, ip.Is4() && ip.As4()[0] >= 240:
		return refuse("reserved")
	}
	return nil
}

// Get fetches url with c and returns the response body, at most limit
// bytes, when the status is 200.
func Get(ctx context.Context, c *http.Client, rawURL string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("safehttp: get: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("safehttp: get: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("safehttp: get %s: status %d", req.URL.Redacted(), resp.StatusCode)
	}
	body, err := readLimited(resp, limit)
	if err != nil {
		return nil, fmt.Errorf("safehttp: get %s: %w", req.URL.Redacted(), err)
	}
	return body, nil
}

// readLimited reads resp's body and fails when it exceeds limit bytes.
func readLimited(resp *http.Response, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("body exceeds %d bytes", limit)
	}
	return body, nil
}
