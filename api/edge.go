package api

import (
	"context"
	"net"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
)

// EdgeLimits bound what a request may carry. Zero fields get defaults.
type EdgeLimits struct {
	// MaxBodyBytes bounds a body; default MaxBodyBytes.
	MaxBodyBytes int64
	// MaxURLBytes bounds the request target, path and query; default 2048.
	MaxURLBytes int
	// MaxHeaders bounds the number of header fields, counting each
	// repetition of a field. Default 50.
	MaxHeaders int
	// MaxHeaderBytes bounds the size of all header names and values.
	// Default 16 KiB. The server's MaxHeaderBytes must be larger, so that
	// a request over this limit gets the JSON error body, not net/http's
	// plain-text 431.
	MaxHeaderBytes int
}

// DefaultMaxHeaderBytes is the default EdgeLimits.MaxHeaderBytes.
const DefaultMaxHeaderBytes = 16 << 10

// ServerMaxHeaderBytes is the http.Server MaxHeaderBytes that serve sets.
// It is well above the edge's limit, so a request between the two gets the
// JSON 431 or 414, and only a larger one gets net/http's plain-text 431.
const ServerMaxHeaderBytes = 64 << 10

func (l EdgeLimits) withDefaults() EdgeLimits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = MaxBodyBytes
	}
	if l.MaxURLBytes <= 0 {
		l.MaxURLBytes = 2048
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = 50
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return l
}

// scannerAgents are substrings of the User-Agent of common vulnerability
// scanners, lowercase.
var scannerAgents = []string{"sqlmap", "nikto", "nmap", "masscan", "zgrab", "nuclei", "acunetix", "wpscan", "dirbuster", "gobuster", "feroxbuster", "fuzz faster u fool", "netsparker", "openvas", "w3af", "hydra"}

// scannerPaths are path prefixes and suffixes that only probes ask for:
// WhisperSync serves none of them.
var (
	scannerPrefixes = []string{"/.env", "/.git", "/.aws", "/.ssh", "/wp-", "/wordpress", "/phpmyadmin", "/cgi-bin", "/actuator", "/server-status", "/console", "/solr", "/.well-known/security.txt.php", "/vendor/phpunit", "/boaform", "/hnap1"}
	scannerSuffixes = []string{".php", ".asp", ".aspx", ".jsp", ".cgi", ".env", ".bak", ".sql", ".ini"}
)

// filter is the edge filter in the role of a web application firewall:
// it refuses what no client of the API sends.
func (s *Server) filter(r *http.Request) error {
	lim := s.opts.Edge
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodOptions:
	default:
		return whispersync.Errorf(errMethodNotAllowed, "method %s is not allowed: use GET, HEAD, POST or OPTIONS", r.Method)
	}
	if len(r.RequestURI) > lim.MaxURLBytes {
		return whispersync.Errorf(errURITooLong, "the URL has %d bytes: keep it within %d", len(r.RequestURI), lim.MaxURLBytes)
	}
	// A field sent many times is one map entry with many values, so
	// count the values. net/http moves Host out of r.Header.
	fields, size := 1, len("Host")+len(r.Host)+4
	for name, values := range r.Header {
		fields += len(values)
		for _, v := range values {
			size += len(name) + len(v) + 4 // ": " and CRLF
		}
	}
	if fields > lim.MaxHeaders {
		return whispersync.Errorf(errHeadersTooLarge, "the request has %d header fields: send at most %d", fields, lim.MaxHeaders)
	}
	if size > lim.MaxHeaderBytes {
		return whispersync.Errorf(errHeadersTooLarge, "the request headers have %d bytes: keep them within %d", size, lim.MaxHeaderBytes)
	}
	if r.ContentLength > lim.MaxBodyBytes {
		if r.URL.Path == "/v1/memos" {
			return whispersync.Errorf(whispersync.ETOOLARGE, "request body of %d bytes exceeds %d bytes: a transcript may have at most 100,000 characters", r.ContentLength, lim.MaxBodyBytes)
		}
		return whispersync.Errorf(whispersync.ETOOLARGE, "request body of %d bytes exceeds %d bytes: send a smaller body", r.ContentLength, lim.MaxBodyBytes)
	}
	if err := checkPath(r); err != nil {
		return err
	}

	ua := strings.ToLower(r.UserAgent())
	for _, a := range scannerAgents {
		if strings.Contains(ua, a) {
			return whispersync.Errorf(whispersync.EFORBIDDEN, "automated scanners are not allowed")
		}
	}
	p := strings.ToLower(r.URL.Path)
	for _, pre := range scannerPrefixes {
		if strings.HasPrefix(p, pre) {
			return whispersync.Errorf(whispersync.EFORBIDDEN, "automated scanners are not allowed")
		}
	}
	for _, suf := range scannerSuffixes {
		if strings.HasSuffix(p, suf) {
			return whispersync.Errorf(whispersync.EFORBIDDEN, "automated scanners are not allowed")
		}
	}
	return nil
}

// checkPath refuses a path that is not in canonical form: dot segments,
// empty segments, backslashes, encoded slashes, backslashes or dots, NUL,
// control characters, an encoded percent sign (double encoding, such as
// %252f) and bytes that are not UTF-8 (overlong forms such as %c0%ae for a
// dot). Ids taken from the path thus never carry a separator into a
// storage key, and no later decoding step can produce one.
func checkPath(r *http.Request) error {
	raw := r.URL.EscapedPath()
	bad := func() error {
		return whispersync.Errorf(whispersync.EINVALID, "path %q is not in canonical form: no dot segments, double slashes, backslashes or encoded separators", r.URL.Path)
	}
	lower := strings.ToLower(raw)
	for _, s := range []string{"%2f", "%5c", "%2e", "%00", "%25", "\\", "//"} {
		if strings.Contains(lower, s) {
			return bad()
		}
	}
	p := r.URL.Path
	if p == "" || p[0] != '/' || (p != "/" && path.Clean(p) != p) || !utf8.ValidString(p) {
		return bad()
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			return bad()
		}
	}
	return nil
}

// clientIP is the address the connection comes from. Forwarding headers
// are not trusted: the server terminates TLS itself.
func clientIP(r *http.Request) net.IP {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return net.ParseIP(host)
}

// clientKey returns the rate limit key of a client address: the address
// for IPv4, and its /64 prefix for IPv6. A /64 is the smallest block an
// IPv6 subscriber usually gets, so rotating addresses inside it gains no
// fresh limit.
func clientKey(ip net.IP) string {
	if ip == nil {
		return "unknown"
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// Connection limits of LimitListener that serve uses.
const (
	DefaultMaxConnsPerClient = 256
	DefaultMaxConns          = 8192
)

// LimitListener wraps ln to keep at most perClient connections per client
// (an IPv4 address or an IPv6 /64) and at most total connections open.
// A connection over either limit is closed when accepted, before any TLS
// handshake. Idle keep-alive connections and slow clients thus cannot use
// up the file descriptors that the database and the audit log need too.
func LimitListener(ln net.Listener, perClient, total int) net.Listener {
	return &limitListener{Listener: ln, perClient: perClient, total: total, byClient: make(map[string]int)}
}

type limitListener struct {
	net.Listener
	perClient, total int

	mu       sync.Mutex
	open     int
	byClient map[string]int
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := "unknown"
		if host, _, err := net.SplitHostPort(c.RemoteAddr().String()); err == nil {
			key = clientKey(net.ParseIP(host))
		}
		l.mu.Lock()
		if l.open >= l.total || l.byClient[key] >= l.perClient {
			l.mu.Unlock()
			edgeRejections.Add("connections", 1)
			_ = c.Close()
			continue
		}
		l.open++
		l.byClient[key]++
		l.mu.Unlock()
		return &limitedConn{Conn: c, release: func() { l.release(key) }}, nil
	}
}

func (l *limitListener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byClient[key]--; l.byClient[key] <= 0 {
		delete(l.byClient, key)
	}
}

// limitedConn is a connection that frees its slot once, when closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// hasCredentials reports whether the request carries any credential, so
// that it is rate limited per principal rather than per address.
func hasCredentials(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	_, err := r.Cookie(sessionCookie)
	return err == nil
}

// blocklist is the block list as last loaded from the database.
type blocklist struct {
	current atomic.Pointer[blockSet]
}

type blockSet struct {
	nets       []*net.IPNet
	principals map[string]bool
}

// ReloadBlocklist reads the block list from the database; the server also
// reloads it every few seconds while Run runs.
func (s *Server) ReloadBlocklist(ctx context.Context) error {
	blocks, err := s.app.Identity().ListBlocks(ctx)
	if err != nil {
		return err
	}
	set := &blockSet{principals: map[string]bool{}}
	now := time.Now()
	for _, b := range blocks {
		if !b.ExpiresAt.IsZero() && now.After(b.ExpiresAt) {
			continue
		}
		switch b.Kind {
		case "ip":
			n, err := app.ParseBlockedIP(b.Value)
			if err != nil {
				s.log.Warn("skip unparsable block list entry", "value", b.Value)
				continue
			}
			set.nets = append(set.nets, n)
		case "principal":
			set.principals[b.Value] = true
		}
	}
	s.blocks.current.Store(set)
	return nil
}

func (b *blocklist) blockedIP(ip net.IP) bool {
	set := b.current.Load()
	if set == nil || ip == nil {
		return false
	}
	for _, n := range set.nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

func (b *blocklist) blockedPrincipal(names ...string) bool {
	set := b.current.Load()
	if set == nil {
		return false
	}
	for _, n := range names {
		if set.principals[n] {
			return true
		}
	}
	return false
}
