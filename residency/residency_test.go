package residency_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/residency"
)

func TestCheck(t *testing.T) {
	p, err := residency.ParsePolicy("")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		loc     residency.Location
		refused bool
	}{
		{"allowed", residency.Location{What: "data directory", Where: "/d", Region: "us-west-2", Setting: "WHISPERSYNC_REGION"}, false},
		{"default region", residency.Location{What: "data directory", Where: "/d", Setting: "WHISPERSYNC_REGION"}, false},
		{"outside", residency.Location{What: "backup location", Where: "/b", Region: "eu-west-1", Setting: "WHISPERSYNC_BACKUP_REGION"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Check(tt.loc)
			if (err != nil) != tt.refused {
				t.Fatalf("check: got %v, want refused %v", err, tt.refused)
			}
			if err == nil {
				return
			}
			var r *residency.Refusal
			if !errors.As(err, &r) || whispersync.ErrorCode(err) != whispersync.EFORBIDDEN {
				t.Errorf("error: got %T %q, want a forbidden *Refusal", err, whispersync.ErrorCode(err))
			}
			msg := whispersync.ErrorMessage(err)
			for _, want := range []string{tt.loc.Where, tt.loc.Region, tt.loc.Setting, residency.AllowedSetting} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q: want it to name %q", msg, want)
				}
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	p, err := residency.ParsePolicy("eu-west-1, eu-central-1")
	if err != nil || len(p.Allowed) != 2 || p.Check(residency.Location{Region: "eu-central-1"}) != nil {
		t.Errorf("parse: got %+v, %v; want eu-west-1 and eu-central-1", p, err)
	}
	for _, bad := range []string{"us-east", "US-EAST-1", "us-east-1,,", "a-b-c"} {
		if _, err := residency.ParsePolicy(bad); err == nil {
			t.Errorf("parse %q: got no error", bad)
		}
	}
}

func TestEndpointRegion(t *testing.T) {
	tests := []struct {
		endpoint, region string
		ok               bool
	}{
		{"https://s3.eu-west-1.amazonaws.com", "eu-west-1", true},
		{"https://sqs.us-west-2.amazonaws.com/123/q", "us-west-2", true},
		{"https://s3.dualstack.ap-south-1.amazonaws.com", "ap-south-1", true},
		{"http://127.0.0.1:9000", "", false},
		{"::", "", false},
	}
	for _, tt := range tests {
		region, ok := residency.EndpointRegion(tt.endpoint)
		if region != tt.region || ok != tt.ok {
			t.Errorf("EndpointRegion(%q): got %q, %v; want %q, %v", tt.endpoint, region, ok, tt.region, tt.ok)
		}
	}
}
