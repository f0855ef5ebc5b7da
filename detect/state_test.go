package detect_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/whispersync/whispersync/detect"
)

func TestKeyUsageAfterStoredStateRoundTrip(t *testing.T) {
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	first := detect.New(detect.DefaultThresholds, detect.State{})
	first.ObserveKeyUsage(map[string]uint64{"u_alice/data#1": 10}, now)

	// A stored state may carry one map and not the other.
	data, err := json.Marshal(first.State())
	if err != nil {
		t.Fatal(err)
	}
	var state detect.State
	if err := json.Unmarshal(data, &state); err != nil {
		t.Fatal(err)
	}
	state.KeyAverage = nil

	second := detect.New(detect.DefaultThresholds, state)
	second.ObserveKeyUsage(map[string]uint64{"u_alice/data#1": 20}, now.Add(time.Minute))
	if got := second.State().KeyUses["u_alice/data#1"]; got != 20 {
		t.Errorf("key uses after reload: got %d, want 20", got)
	}
}
