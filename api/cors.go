package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
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
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
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

func (c cors) allowed(origin string) bool {
	return c.any || c.origins[strings.ToLower(origin)]
}

// handle adds CORS headers for an allowed origin and responds to preflight
// requests. It reports whether it wrote the response. A disallowed origin
// gets no CORS headers, so the browser withholds the response from it.
func (c cors) handle(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if origin == "" {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	if !c.allowed(origin) {
		if preflight {
			w.WriteHeader(http.StatusForbidden)
			return true
		}
		return false
	}
	if c.any && !c.credentials {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if c.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if !preflight {
		h.Set("Access-Control-Expose-Headers", exposedHeaders)
		return false
	}

	if !slices.Contains(c.methods, r.Header.Get("Access-Control-Request-Method")) {
		h.Del("Access-Control-Allow-Origin")
		h.Del("Access-Control-Allow-Credentials")
		w.WriteHeader(http.StatusForbidden)
		return true
	}
	for _, field := range strings.Split(r.Header.Get("Access-Control-Request-Headers"), ",") {
		field = strings.TrimSpace(field)
		if field != "" && !c.headers[http.CanonicalHeaderKey(field)] {
			h.Del("Access-Control-Allow-Origin")
			h.Del("Access-Control-Allow-Credentials")
			w.WriteHeader(http.StatusForbidden)
			return true
		}
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", c.allowMethod)
	h.Set("Access-Control-Allow-Headers", c.allowHeader)
	h.Set("Access-Control-Max-Age", c.maxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}
