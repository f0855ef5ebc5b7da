package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestRecorderLetsHandlersExtendDeadline checks that a handler behind the
// status recorder can still move its write deadline, as the backup route
// does to outlast the server's write timeout.
func TestRecorderLetsHandlersExtendDeadline(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		if err := http.NewResponseController(rec).SetWriteDeadline(time.Now().Add(time.Hour)); err != nil {
			t.Errorf("set write deadline through the recorder: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
		rec.WriteHeader(http.StatusCreated)
	}))
	ts.Config.WriteTimeout = 100 * time.Millisecond
	ts.Start()
	defer ts.Close()

	resp, err := http.Post(ts.URL, "text/plain", nil)
	if err != nil {
		t.Fatalf("request that outlives the server's write timeout: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("status: got %d, want 201", resp.StatusCode)
	}
}
