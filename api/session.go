package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/auth"
)

// sessionResponse is the response to a login and to GET /v1/session. The CSRF token must
// accompany every state-changing request of the session.
type sessionResponse struct {
	User      string    `json:"user"`
	CSRFToken string    `json:"csrf_token,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// decodeJSON reads a small JSON object into v, refusing unknown fields, so
// a client cannot set a property it is not meant to.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, example string) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return whispersync.Errorf(whispersync.EINVALID, "send Content-Type: application/json with a body such as %s", example)
	}
	if err := readJSON(w, r, 8<<10, v); err != nil {
		return jsonBodyError(err, whispersync.Errorf(whispersync.EINVALID, "invalid JSON body: send %s", example))
	}
	return nil
}

// readJSON reads the whole body, at most limit bytes, and decodes it into
// v: unknown fields and anything but white space after the object are
// errors, and so is a body over the limit, even in trailing white space.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return err
	}
	// Decoding null into a struct changes nothing, which would make the
	// body look like an empty object.
	if string(bytes.TrimSpace(data)) == "null" {
		return errors.New("null instead of a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// jsonBodyError turns a failure to read a JSON body into the error to
// send: ETOOLARGE when the body passed its size limit, invalid otherwise.
func jsonBodyError(err, invalid error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return whispersync.Errorf(whispersync.ETOOLARGE, "request body exceeds %d bytes: send a smaller JSON body", tooLarge.Limit)
	}
	return invalid
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var body struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &body, `{"user": "alice", "password": "…"}`); err != nil {
		s.error(w, r, err)
		return
	}
	secret, p, err := s.app.Login(r.Context(), s.actor(r), body.User, body.Password)
	if err != nil {
		s.error(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: secret, Path: "/", MaxAge: int(app.SessionTTL.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	s.json(w, http.StatusOK, sessionResponse{User: p.User.Name, CSRFToken: p.CSRF, ExpiresAt: time.Now().Add(app.SessionTTL).UTC()})
}

func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	s.json(w, http.StatusOK, sessionResponse{User: p.User.Name, CSRFToken: p.CSRF})
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if p.Kind != auth.KindSession {
		s.error(w, r, whispersync.Errorf(whispersync.EINVALID, "only a login session can log out: revoke a token with `whispersync tokens revoke`"))
		return
	}
	if err := s.app.Logout(r.Context(), s.actor(r), p); err != nil {
		s.error(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// handlePassword changes the password of a session's user, who must give
// the current one; the user's sessions end, so the client logs in again.
func (s *Server) handlePassword(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if p.Kind != auth.KindSession {
		s.error(w, r, whispersync.Errorf(whispersync.EFORBIDDEN, "change a password from a login session, or with `whispersync users passwd`"))
		return
	}
	var body struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decodeJSON(w, r, &body, `{"current_password": "…", "new_password": "…"}`); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.app.ChangePassword(r.Context(), s.actor(r), p.User, body.Current, body.New); err != nil {
		s.error(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}
