package api

import (
	"bytes"
	"net/http"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/auth"
)

// handleExport sends the caller everything held about them as a zip
// archive: the data access right of the GDPR.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	// The archive is built in memory first, so a failure half-way gives an
	// error body instead of a truncated download.
	var buf bytes.Buffer
	if err := s.app.ExportUser(r.Context(), s.actor(r), principal(r).User, &buf); err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="whispersync-export.zip"`)
	w.WriteHeader(http.StatusOK)
	if _, err := buf.WriteTo(w); err != nil {
		s.log.Debug("write export failed", "err", err)
	}
}

// eraseRequest must name what it erases, so that an erasure is never the
// result of a stray request.
type eraseRequest struct {
	Confirm string `json:"confirm"`
}

// handleEraseSelf erases the caller's own account and data.
func (s *Server) handleEraseSelf(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	// Erasure cannot be undone, so a credential a device or service
	// holds, which only needs to upload or read memos, may not erase the
	// account: the user signs in with the password, or an admin erases.
	if p.Kind != auth.KindSession && !p.HasScope(whispersync.ScopeAdmin) {
		s.auditDenied(r, "privacy.erase")
		s.error(w, r, whispersync.Errorf(whispersync.EFORBIDDEN, "erasing an account needs a signed-in session (POST /v1/login with the account's password) or a credential with the admin scope, not a %s credential", p.Kind))
		return
	}
	user := p.User
	if !s.confirmed(w, r, user.Name) {
		return
	}
	s.erase(w, r, user)
}

// handleEraseUser lets an admin erase another user by name.
func (s *Server) handleEraseUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	user, err := s.app.Accounts.FindUserByName(r.Context(), name)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if !s.confirmed(w, r, user.Name) {
		return
	}
	s.erase(w, r, user)
}

// confirmed reads the erase request and checks that it names the user.
func (s *Server) confirmed(w http.ResponseWriter, r *http.Request, name string) bool {
	var req eraseRequest
	if err := readJSON(w, r, 4096, &req); err != nil || req.Confirm != name {
		s.error(w, r, jsonBodyError(err, whispersync.Errorf(whispersync.EINVALID, "an erasure must be confirmed: send {\"confirm\": \"%s\"}, the name of the user to erase", name)))
		return false
	}
	return true
}

func (s *Server) erase(w http.ResponseWriter, r *http.Request, user *whispersync.User) {
	receipt, err := s.app.EraseUser(r.Context(), s.actor(r), user)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, receipt)
}
