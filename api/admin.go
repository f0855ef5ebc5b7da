package api

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/auth"
	"github.com/whispersync/whispersync/detect"
)

// The admin routes let an operator act while serve holds the data
// directory, which keeps the CLI out: lock and unlock accounts, create,
// list and revoke tokens, back up now and edit the block list.

func (s *Server) adminUser(w http.ResponseWriter, r *http.Request) (*whispersync.User, bool) {
	user, err := s.app.Accounts.FindUserByName(r.Context(), r.PathValue("name"))
	if err != nil {
		if whispersync.IsNotFound(err) {
			err = whispersync.Errorf(whispersync.ENOTFOUND, "user %q not found", r.PathValue("name"))
		}
		s.error(w, r, err)
		return nil, false
	}
	return user, true
}

// handleLock locks (lock true) or unlocks an account.
func (s *Server) handleLock(lock bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, ok := s.adminUser(w, r)
		if !ok {
			return
		}
		if err := s.app.SetLocked(r.Context(), s.actor(r), user, lock); err != nil {
			s.error(w, r, err)
			return
		}
		s.json(w, http.StatusOK, map[string]any{"user": user.Name, "locked": lock})
	}
}

func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	user, ok := s.adminUser(w, r)
	if !ok {
		return
	}
	if err := s.app.RevokeToken(r.Context(), s.actor(r), user, r.PathValue("id")); err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"user": user.Name, "revoked": r.PathValue("id")})
}

// tokenRequest is the body of the token creation route. Absent fields get
// the defaults of `whispersync tokens create`.
type tokenRequest struct {
	Name string `json:"name,omitempty"`
	// Scopes defaults to memos:read and memos:write.
	Scopes []string `json:"scopes,omitempty"`
	// Expires is a Go duration such as "720h". Empty or zero means no
	// expiry.
	Expires string `json:"expires,omitempty"`
}

// tokenView is a token's metadata as the admin routes show it. It has no
// field for the hash, so no later change to whispersync.Token can make a
// listing show one.
type tokenView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	LastUsed  time.Time `json:"last_used,omitzero"`
}

func viewToken(t *whispersync.Token) tokenView {
	return tokenView{ID: t.ID, Name: t.Name, Scopes: t.Scopes, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt, LastUsed: t.LastUsed}
}

const tokenBodyHint = `send {"name": "laptop", "scopes": ["memos:read", "memos:write"], "expires": "720h"}` // #nosec G101 -- an example request body, no credential

// readTokenRequest reads the body of the token creation route. An empty
// body takes every default.
func (s *Server) readTokenRequest(w http.ResponseWriter, r *http.Request) (tokenRequest, time.Duration, bool) {
	var req tokenRequest
	// An empty body takes every default.
	err := readJSON(w, r, 4096, &req)
	if err != nil && !errors.Is(err, io.EOF) {
		s.error(w, r, jsonBodyError(err, whispersync.Errorf(whispersync.EINVALID, "invalid JSON body: %s", tokenBodyHint)))
		return req, 0, false
	}
	switch {
	case req.Scopes == nil:
		req.Scopes = []string{whispersync.ScopeMemosRead, whispersync.ScopeMemosWrite}
	case len(req.Scopes) == 0:
		s.error(w, r, whispersync.Errorf(whispersync.EINVALID, "scopes is empty: name at least one of memos:read, memos:write or admin, or leave scopes out for memos:read and memos:write"))
		return req, 0, false
	}
	var ttl time.Duration
	if req.Expires != "" {
		ttl, err = time.ParseDuration(req.Expires)
		if err != nil || ttl < 0 {
			s.error(w, r, whispersync.Errorf(whispersync.EINVALID, "invalid expires %q: use a positive duration such as 720h, or leave expires out for no expiry", req.Expires))
			return req, 0, false
		}
	}
	return req, ttl, true
}

// handleCreateToken creates an API token for a user, as `whispersync
// tokens create` does. The response is the only place the secret appears:
// the server stores only its hash and does not log it.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	user, ok := s.adminUser(w, r)
	if !ok {
		return
	}
	req, ttl, ok := s.readTokenRequest(w, r)
	if !ok {
		return
	}
	secret, t, err := s.app.CreateToken(r.Context(), s.actor(r), user, req.Name, req.Scopes, ttl)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.json(w, http.StatusCreated, struct {
		User  string `json:"user"`
		Token string `json:"token"`
		tokenView
	}{user.Name, secret, viewToken(t)})
}

// handleListTokens lists a user's tokens, revoked and expired ones
// included, without their hashes.
func (s *Server) handleListTokens(w http.ResponseWriter, r *http.Request) {
	user, ok := s.adminUser(w, r)
	if !ok {
		return
	}
	tokens, err := s.app.ListTokens(r.Context(), s.actor(r), user)
	if err != nil {
		s.error(w, r, err)
		return
	}
	views := make([]tokenView, len(tokens))
	for i, t := range tokens {
		views[i] = viewToken(t)
	}
	s.json(w, http.StatusOK, map[string]any{"user": user.Name, "tokens": views})
}

// handleCreateBackup backs up the data directory now, as `whispersync
// backup create` does, while serve keeps serving.
// backupWriteTimeout replaces the server's write timeout for a backup
// request, which takes as long as copying the data directory does.
const backupWriteTimeout = 2 * time.Hour

func (s *Server) handleCreateBackup(w http.ResponseWriter, r *http.Request) {
	// Without this, the server's 30-second write timeout would drop the
	// response to a backup that took longer, although the backup completed.
	if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(backupWriteTimeout)); err != nil {
		s.log.Warn("extend the write deadline of a backup request failed", "request_id", s.actor(r).RequestID, "err", err)
	}
	m, err := s.app.CreateBackup(r.Context(), s.actor(r), nil)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusCreated, map[string]any{"id": m.ID, "created_at": m.CreatedAt, "objects": len(m.Objects), "bytes": m.Size()})
}

// blockRequest is the body of the block-list routes.
type blockRequest struct {
	// Value is an IP address, a CIDR prefix, or a principal such as
	// token:t_… or user:NAME. A user may also be named by any case of the
	// name or by the id, user:u_…; the entry names the user as stored.
	Value  string `json:"value"`
	Reason string `json:"reason,omitempty"`
	// Expires is a Go duration such as "24h"; empty for no expiry.
	Expires string `json:"expires,omitempty"`
}

func (s *Server) readBlock(w http.ResponseWriter, r *http.Request) (blockRequest, bool) {
	var req blockRequest
	if err := readJSON(w, r, 4096, &req); err != nil || req.Value == "" {
		s.error(w, r, jsonBodyError(err, whispersync.Errorf(whispersync.EINVALID, `invalid JSON body: send {"value": "192.0.2.7", "reason": "…", "expires": "24h"}`)))
		return req, false
	}
	return req, true
}

func blockKind(value string) string {
	kind, _, ok := strings.Cut(value, ":")
	if ok && (kind == auth.KindToken || kind == auth.KindSession || kind == auth.KindService || kind == auth.KindOIDC || kind == "user") {
		return "principal"
	}
	return "ip"
}

func (s *Server) handleBlock(w http.ResponseWriter, r *http.Request) {
	req, ok := s.readBlock(w, r)
	if !ok {
		return
	}
	b := auth.Block{Kind: blockKind(req.Value), Value: req.Value, Reason: req.Reason, CreatedAt: time.Now().UTC()}
	if req.Expires != "" {
		d, err := time.ParseDuration(req.Expires)
		if err != nil || d <= 0 {
			s.error(w, r, whispersync.Errorf(whispersync.EINVALID, "invalid expires %q: use a positive duration such as 24h", req.Expires))
			return
		}
		b.ExpiresAt = b.CreatedAt.Add(d)
	}
	b, err := s.app.CheckBlock(r.Context(), b)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.checkNotSelf(r, b); err != nil {
		s.error(w, r, err)
		return
	}
	stored, err := s.app.Block(r.Context(), s.actor(r), b)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.reloadBlocks(r)
	s.json(w, http.StatusOK, stored)
}

// checkNotSelf rejects a block that would match the request making it: the
// caller's own address, principal or user. Such a block locks the admin out
// of the API at once, and only the CLI, with serve stopped, can undo it.
func (s *Server) checkNotSelf(r *http.Request, b auth.Block) error {
	const fix = "block another address or principal; to block your own, stop serve and use whispersync blocklist add"
	switch b.Kind {
	case "ip":
		n, err := app.ParseBlockedIP(b.Value)
		if err != nil {
			return err
		}
		if ip := clientIP(r); ip != nil && n.Contains(ip) {
			return whispersync.Errorf(whispersync.ECONFLICT, "blocking %s would block this request's own address %s: %s", b.Value, ip, fix)
		}
	case "principal":
		p := principal(r)
		self := []string{p.Name()}
		if p.User != nil {
			self = append(self, "user:"+p.User.Name, "user:"+p.User.ID)
		}
		for _, name := range self {
			if b.Value == name {
				return whispersync.Errorf(whispersync.ECONFLICT, "blocking %s would block the principal making this request: %s", b.Value, fix)
			}
		}
	}
	return nil
}

func (s *Server) handleUnblock(w http.ResponseWriter, r *http.Request) {
	req, ok := s.readBlock(w, r)
	if !ok {
		return
	}
	removed, err := s.app.Unblock(r.Context(), s.actor(r), blockKind(req.Value), req.Value)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.reloadBlocks(r)
	s.json(w, http.StatusOK, map[string]string{"removed": removed})
}

func (s *Server) handleListBlocks(w http.ResponseWriter, r *http.Request) {
	blocks, err := s.app.Identity().ListBlocks(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	if blocks == nil {
		blocks = []auth.Block{}
	}
	s.json(w, http.StatusOK, map[string]any{"blocks": blocks})
}

// reloadBlocks applies a block-list change at once instead of at the next
// periodic reload.
func (s *Server) reloadBlocks(r *http.Request) {
	if err := s.ReloadBlocklist(r.Context()); err != nil {
		s.log.Warn("reload block list failed", "request_id", s.actor(r).RequestID, "err", err)
	}
}

// handleKeyStatus reports the key-encryption key versions, what each wraps
// and the next rotation, as `whispersync keys status --json` does.
func (s *Server) handleKeyStatus(w http.ResponseWriter, r *http.Request) {
	status, err := s.app.KeyStatus(r.Context(), s.actor(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, status)
}

// handleListFindings lists the threat-detection findings, archived ones
// only when ?all=true.
func (s *Server) handleListFindings(w http.ResponseWriter, r *http.Request) {
	findings, err := s.app.Findings().List(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	all := r.URL.Query().Get("all") == "true"
	out := []detect.Finding{}
	for _, f := range findings {
		if all || !f.Archived {
			out = append(out, f)
		}
	}
	s.json(w, http.StatusOK, map[string]any{"findings": out})
}
