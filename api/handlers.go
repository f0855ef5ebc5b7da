package api

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/agent/memory"
	"github.com/whispersync/whispersync/extract"
	"github.com/whispersync/whispersync/pipeline"
)

// rejection carries the id of the quarantined memo with an intake error.
type rejection struct {
	err    *whispersync.Error
	memoID string
}

func (r rejection) Error() string { return r.err.Error() }
func (r rejection) Unwrap() error { return r.err }

// uploadResponse answers POST /v1/memos.
type uploadResponse struct {
	MemoID   string `json:"memo_id"`
	Status   string `json:"status"`
	Location string `json:"location"`
}

// handleUpload accepts a transcript as a text/plain body, or as the part
// "file" (or "transcript") of a multipart form.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	raw, source, err := readTranscript(r)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			err = whispersync.Errorf(whispersync.ETOOLARGE, "request body exceeds %d bytes: a transcript may have at most 100,000 characters", MaxBodyBytes)
		}
		s.error(w, r, err)
		return
	}

	receipt, err := s.app.Pipeline.Submit(r.Context(), pipeline.Submission{
		Actor:  s.actor(r),
		Owner:  owner(r),
		Source: source,
		Raw:    raw,
		Hints:  whispersync.Hints{Folder: r.URL.Query().Get("folder")},
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	switch receipt.Status {
	case pipeline.ReceiptRejected:
		s.error(w, r, rejection{err: receipt.Err, memoID: receipt.MemoID})
	case pipeline.ReceiptDuplicate:
		s.json(w, http.StatusOK, uploadResponse{MemoID: receipt.MemoID, Status: receipt.Status, Location: "/v1/memos/" + receipt.MemoID})
	default:
		w.Header().Set("Location", "/v1/memos/"+receipt.MemoID)
		s.json(w, http.StatusAccepted, uploadResponse{MemoID: receipt.MemoID, Status: receipt.Status, Location: "/v1/memos/" + receipt.MemoID})
	}
}

func readTranscript(r *http.Request) ([]byte, string, error) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mediaType = ""
	}
	switch mediaType {
	case "text/plain", "":
		raw, err := io.ReadAll(r.Body)
		return raw, "upload", err
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, "", whispersync.Errorf(whispersync.EINVALID, "invalid multipart body: %v", err)
		}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, "", whispersync.Errorf(whispersync.EINVALID, "the multipart form has no part named file or transcript: send the transcript in one of them")
			}
			if err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					return nil, "", err
				}
				return nil, "", whispersync.Errorf(whispersync.EINVALID, "invalid multipart body: %v", err)
			}
			if name := part.FormName(); name == "file" || name == "transcript" {
				raw, err := io.ReadAll(part)
				var tooLarge *http.MaxBytesError
				if err != nil && !errors.As(err, &tooLarge) {
					// A body cut off before its closing boundary.
					return nil, "", whispersync.Errorf(whispersync.EINVALID, "invalid multipart body: the %s part ends early (%v): send the whole form with its closing boundary", name, err)
				}
				if err != nil {
					return nil, "", err
				}
				source := part.FileName()
				if source == "" {
					source = "upload"
				}
				if err := checkNoSecondTranscript(mr); err != nil {
					return nil, "", err
				}
				return raw, source, nil
			}
		}
	}
	return nil, "", whispersync.Errorf(errUnsupportedMedia, "unsupported content type %q: send text/plain or multipart/form-data", mediaType)
}

func (s *Server) handleListMemos(w http.ResponseWriter, r *http.Request) {
	opts := pipeline.ListOptions{Status: whispersync.MemoStatus(r.URL.Query().Get("status"))}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			s.error(w, r, whispersync.Errorf(whispersync.EINVALID, "invalid limit %q: use a whole number", l))
			return
		}
		opts.Limit = n
	}
	memos, err := s.app.Pipeline.ListMemos(r.Context(), s.actor(r), owner(r), opts)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if memos == nil {
		memos = []pipeline.MemoView{}
	}
	s.json(w, http.StatusOK, map[string]any{"memos": memos})
}

func (s *Server) handleGetMemo(w http.ResponseWriter, r *http.Request) {
	v, err := s.app.Pipeline.GetMemo(r.Context(), s.actor(r), owner(r), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, v)
}

func (s *Server) handleJournal(w http.ResponseWriter, r *http.Request) {
	week := r.URL.Query().Get("week")
	if week == "" {
		week = extract.Week(time.Now())
	}
	j, err := s.app.Pipeline.Journal(r.Context(), s.actor(r), owner(r), week)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, j)
}

func (s *Server) handleSearchMemories(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter := memory.Filter{Person: q.Get("person"), Theme: q.Get("theme"), Sentiment: q.Get("sentiment")}
	for name, dst := range map[string]*time.Time{"from": &filter.From, "to": &filter.To} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse("2006-01-02", v)
			if err != nil {
				s.error(w, r, whispersync.Errorf(whispersync.EINVALID, "invalid %s date %q: use YYYY-MM-DD", name, v))
				return
			}
			*dst = t
		}
	}
	hits, err := s.app.Pipeline.SearchMemories(r.Context(), s.actor(r), owner(r), q.Get("q"), filter)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"memories": hits})
}

func (s *Server) handleListIdeas(w http.ResponseWriter, r *http.Request) {
	ideas, err := s.app.Pipeline.ListIdeas(r.Context(), s.actor(r), owner(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"ideas": ideas})
}

func (s *Server) handleGetIdea(w http.ResponseWriter, r *http.Request) {
	v, err := s.app.Pipeline.GetIdea(r.Context(), s.actor(r), owner(r), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, v)
}

func (s *Server) handleListReview(w http.ResponseWriter, r *http.Request) {
	memos, err := s.app.Pipeline.ListReview(r.Context(), s.actor(r), owner(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"memos": memos})
}

func (s *Server) handleAssign(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Bucket string `json:"bucket"`
	}
	if err := readJSON(w, r, 4096, &body); err != nil {
		s.error(w, r, jsonBodyError(err, whispersync.Errorf(whispersync.EINVALID, "invalid JSON body: send {\"bucket\": \"work\"}")))
		return
	}
	bucket, err := whispersync.ParseBucket(body.Bucket)
	if err != nil {
		s.error(w, r, err)
		return
	}
	v, err := s.app.Pipeline.Assign(r.Context(), s.actor(r), owner(r), r.PathValue("id"), bucket)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, v)
}

func (s *Server) handleListDLQ(w http.ResponseWriter, r *http.Request) {
	letters, err := s.app.DeadLetters(r.Context(), s.actor(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"dead_letters": letters})
}

func (s *Server) handleRedrive(w http.ResponseWriter, r *http.Request) {
	n, err := s.app.Redrive(r.Context(), s.actor(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]int{"redriven": n})
}

// checkNoSecondTranscript reads the parts after the transcript and rejects
// the form when one of them is a transcript too, so that no upload is
// dropped without a word.
func checkNoSecondTranscript(mr *multipart.Reader) error {
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return err
			}
			return whispersync.Errorf(whispersync.EINVALID, "invalid multipart body: %v", err)
		}
		if name := part.FormName(); name == "file" || name == "transcript" {
			return whispersync.Errorf(whispersync.EINVALID, "the multipart form has more than one file or transcript part: send one transcript per request")
		}
	}
}
