// Package residency keeps data in allowed regions: every place that holds
// or receives user data (the data directory, the backup locations, any AWS
// endpoint) names its region, and a Policy refuses a place whose region is
// not on its allowlist.
//
// A local folder has no region of its own, so the operator states it in
// the configuration; an AWS endpoint's region is read from its host name
// when it follows the AWS pattern (service.REGION.amazonaws.com).
package residency

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/whispersync/whispersync"
)

// DefaultAllowed lists the regions a Policy allows unless configured.
var DefaultAllowed = []string{"us-east-1", "us-west-2"}

// DefaultRegion is the region of a location whose region is not set.
const DefaultRegion = "us-east-1"

// AllowedSetting names the setting that holds the allowlist.
const AllowedSetting = "WHISPERSYNC_ALLOWED_REGIONS"

// Location is one place that holds or receives user data.
type Location struct {
	// What is the kind of place, for people, such as "backup location".
	What string
	// Where is its path or URL.
	Where string
	// Region is the region it is in, such as "us-east-1".
	Region string
	// Setting names the flag or environment variable that sets Region, so
	// a refusal can say what to change.
	Setting string
}

// Policy is the allowlist of regions.
type Policy struct {
	Allowed []string
}

// ParsePolicy reads a comma-separated allowlist; an empty one selects
// DefaultAllowed.
func ParsePolicy(list string) (Policy, error) {
	if strings.TrimSpace(list) == "" {
		return Policy{Allowed: slices.Clone(DefaultAllowed)}, nil
	}
	var p Policy
	for r := range strings.SplitSeq(list, ",") {
		r = strings.TrimSpace(r)
		if !validRegion(r) {
			return Policy{}, whispersync.Errorf(whispersync.EINVALID, "%s: %q is not a region name such as us-east-1: fix the list", AllowedSetting, r)
		}
		p.Allowed = append(p.Allowed, r)
	}
	return p, nil
}

// Refusal is the error for a location outside the allowlist.
type Refusal struct {
	Location Location
	Allowed  []string
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("%s %s is in region %s, which is not allowed (allowed: %s): set %s to an allowed region, or add %s to %s",
		r.Location.What, r.Location.Where, r.Location.Region, strings.Join(r.Allowed, ", "),
		r.Location.Setting, r.Location.Region, AllowedSetting)
}

// Check returns nil when every location is in an allowed region, and
// otherwise a whispersync.Error with code EFORBIDDEN that wraps a *Refusal
// for the first location that is not. A location without a region is
// taken to be in DefaultRegion.
func (p Policy) Check(locations ...Location) error {
	for _, l := range locations {
		if l.Region == "" {
			l.Region = DefaultRegion
		}
		if slices.Contains(p.Allowed, l.Region) {
			continue
		}
		r := &Refusal{Location: l, Allowed: p.Allowed}
		return &whispersync.Error{Code: whispersync.EFORBIDDEN, Message: r.Error(), Err: r}
	}
	return nil
}

// EndpointRegion returns the region in the host name of an AWS endpoint
// URL, such as "eu-west-1" for https://s3.eu-west-1.amazonaws.com, and
// false for a host that does not name one.
func EndpointRegion(endpoint string) (string, bool) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Hostname() == "" {
		return "", false
	}
	labels := strings.Split(strings.ToLower(u.Hostname()), ".")
	for i, l := range labels {
		if l == "amazonaws" && i >= 1 {
			// The region is the label before amazonaws, or the one before
			// a dual-stack or FIPS label.
			for j := i - 1; j >= 0; j-- {
				if validRegion(labels[j]) {
					return labels[j], true
				}
			}
		}
	}
	return "", false
}

// validRegion accepts names such as us-east-1, eu-central-2 and
// us-gov-west-1: lowercase letters and digits in dash-separated parts, the
// last one a number.
func validRegion(r string) bool {
	parts := strings.Split(r, "-")
	if len(parts) < 3 {
		return false
	}
	for i, p := range parts {
		if p == "" {
			return false
		}
		for _, c := range p {
			digit := c >= '0' && c <= '9'
			if i == len(parts)-1 && !digit || i < len(parts)-1 && (c < 'a' || c > 'z') {
				return false
			}
		}
	}
	return true
}
