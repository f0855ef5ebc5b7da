package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
)

// CORS is the cross-origin policy: which web origins may call the API from
// a browser, with which methods and request headers.
type CORS struct {
	// Origins are exact origins, such as https://whispersync.app; "*"
	// allows any origin and is refused together with AllowCredentials.
	Origins []string
	Methods []string
	Headers []string
	// AllowCredentials lets browsers send cookies cross-origin.
	AllowCredentials bool
	// MaxAge is how long a browser may cache a preflight response.
	MaxAge time.Duration
}

// DefaultCORS allows the WhisperSync web app to GET and POST with the
// headers its client sends.
var DefaultCORS = CORS{
	Origins: []string{"https://whispersync.app"},
	Methods: []string{http.MethodGet, http.MethodPost},
	Headers: []string{"Content-Type", "X-Amz-Date", "Authorization"},
	MaxAge:  10 * time.Minute,
}

// exposedHeaders are the response headers a browser client may read.
const exposedHeaders = "X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy"

// Validate reports a policy that is unsafe or malformed.
func (c CORS) Validate() error {
	_, err := c.compile()
	return err
}

type cors struct {
	any         bool
	origins     map[string]bool
	methods     []string
	headers     map[string]bool
	credentials bool
	maxAge      string
	allowMethod string
	allowHeader string
}

func (c CORS) compile() (cors, error) {
	out := cors{origins: map[string]bool{}, headers: map[string]bool{}, credentials: c.AllowCredentials, maxAge: strconv.Itoa(int(c.MaxAge.Seconds()))}
	for _, o := range c.Origins {
		if o == "*" {
			if c.AllowCredentials {
				return cors{}, fmt.Errorf("api: CORS origin * with credentials would let any web site act as a logged-in user: list the origins instead")
			}
			out.any = true
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(o, "#") || u.User != nil || !validPort(u.Port()) {
			return cors{}, fmt.Errorf("api: CORS origin %q: use SCHEME://HOST[:PORT], such as https://whispersync.app", o)
		}
		if strings.Contains(u.Host, "*") {
			return cors{}, fmt.Errorf("api: CORS origin %q: wildcards inside an origin are not supported: list each origin", o)
		}
		out.origins[u.Scheme+"://"+strings.ToLower(u.Host)] = true
	}
	if len(c.Methods) == 0 {
		c.Methods = DefaultCORS.Methods
	}
	for _, m := range c.Methods {
		if m != strings.ToUpper(m) || !slices.Contains([]string{http.MethodGet, http.MethodPost, http.MethodHead}, m) {
			return cors{}, fmt.Errorf("api: CORS method %q: use GET, HEAD or POST", m)
		}
	}
	out.methods = c.Methods
	if len(c.Headers) == 0 {
		c.Headers = DefaultCORS.Headers
	}
	for _, h := range c.Headers {
		out.headers[http.CanonicalHeaderKey(h)] = true
	}
	out.allowMethod = strings.Join(c.Methods, ", ")
	out.allowHeader = strings.Join(c.Headers, ", ")
	return out, nil
}

// validPort reports whether p, the port of an origin, is empty or a
// canonical port number from 1 to 65535.
func validPort(p string) bool {
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == p
}

func (c cors) allowed(origin string) bool {
	return c.any || c.origins[strings.ToLower(origin)]
}

// handle adds CORS headers for an allowed origin and handles preflight
// requests. It reports whether the request is done: an allowed preflight
// gets 204 here, and a rejected one returns the error for the caller to
// write. A disallowed origin gets no CORS headers, so the browser
// withholds the response from it.
func (c cors) handle(w http.ResponseWriter, r *http.Request) (bool, error) {
	origin := r.Header.Get("Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if origin == "" {
		return false, nil
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	if !c.allowed(origin) {
		if preflight {
			return true, whispersync.Errorf(whispersync.EFORBIDDEN, "cross-origin requests from %q are not allowed: the server lists its web origins in --cors-origins", origin)
		}
		return false, nil
	}
	if !preflight {
		c.allowOrigin(h, origin)
		h.Set("Access-Control-Expose-Headers", exposedHeaders)
		return false, nil
	}

	if method := r.Header.Get("Access-Control-Request-Method"); !slices.Contains(c.methods, method) {
		return true, whispersync.Errorf(whispersync.EFORBIDDEN, "cross-origin %q requests are not allowed: use %s", method, c.allowMethod)
	}
	for _, field := range strings.Split(r.Header.Get("Access-Control-Request-Headers"), ",") {
		field = strings.TrimSpace(field)
		if field != "" && !c.headers[http.CanonicalHeaderKey(field)] {
			return true, whispersync.Errorf(whispersync.EFORBIDDEN, "cross-origin requests may not send the header %q: send only %s", field, c.allowHeader)
		}
	}
	c.allowOrigin(h, origin)
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", c.allowMethod)
	h.Set("Access-Control-Allow-Headers", c.allowHeader)
	h.Set("Access-Control-Max-Age", c.maxAge)
	w.WriteHeader(http.StatusNoContent)
	return true, nil
}

// allowOrigin sets the headers that let origin read the response.
func (c cors) allowOrigin(h http.Header, origin string) {
	if c.any && !c.credentials {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if c.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}
