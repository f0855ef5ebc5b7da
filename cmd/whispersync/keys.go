package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/seal"
)

const keysExamples = `  whispersync keys status
  whispersync keys status --json | jq '.versions[] | {version, data_keys}'
  whispersync keys rotate
  whispersync keys rotate --resume
  whispersync keys retire 1
  whispersync keys forget /mnt/old-disk/whispersync-backups
  whispersync keys schedule --kek 8760h --data-keys 2160h
`

const keysSynopsis = `keys status|rotate|retire|forget|schedule [flags] [VERSION|DIR]

Manages the key hierarchy: key-encryption key (KEK) versions in the key
file, and the per-user data keys they wrap.

  status             versions, how many data keys each wraps, the schedule,
                     key usage and cache counters, and warnings
  rotate             add a KEK version and rewrap every data key under it,
                     with progress on stderr; --resume finishes a pass cut
                     short. While serve holds the data directory, only the
                     key file is rotated and serve rewraps in the background.
  retire VERSION     remove a KEK version; refused while it wraps data keys of
                     this or any other data directory opened with the key
                     file, or a backup in any backup location used with it
                     may need it, or one of those folders is missing
  forget DIR         drop a data directory or backup location that is gone
                     for good from the lists beside the key file, so retire
                     no longer waits for it; refused while DIR exists
  schedule           set how often serve rotates the KEK (default 8760h) and
                     how long a data key seals new records (default 2160h);
                     0 turns either off

The KEK comes from the key file (--key-file), sealed under a passphrase when
WHISPERSYNC_PASSPHRASE_FILE or the systemd credential whispersync-passphrase
($CREDENTIALS_DIRECTORY) is set.`

func runKeys(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("keys", keysSynopsis, keysExamples)
	asJSON := fs.Bool("json", false, "print JSON")
	resume := fs.Bool("resume", false, "rotate: finish an interrupted rewrap instead of adding a version")
	kek := fs.String("kek", "", "schedule: KEK rotation period, such as 8760h; 0 turns it off")
	dataKeys := fs.String("data-keys", "", "schedule: data key generation period, such as 2160h; 0 turns it off")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("keys needs an action: status, rotate, retire, forget or schedule\nhint: whispersync keys status")
	}
	action, rest := pos[0], pos[1:]
	switch action {
	case "status", "rotate", "schedule":
		if len(rest) > 0 {
			return usagef("keys %s takes no arguments, got %q", action, rest[0])
		}
	case "retire":
		if len(rest) != 1 {
			return usagef("keys retire needs one KEK version\nhint: whispersync keys status lists the versions")
		}
	case "forget":
		if len(rest) != 1 {
			return usagef("keys forget needs one folder: a data directory or backup location that is gone for good")
		}
	default:
		return usagef("unknown keys action %q: use status, rotate, retire, forget or schedule", action)
	}

	a, err := m.open(ctx)
	if action == "rotate" && !*resume && whispersync.ErrorCode(err) == whispersync.EUNAVAILABLE {
		return m.rotateKeyFileOnly(*asJSON)
	}
	if err != nil {
		return err
	}
	defer a.Close()

	switch action {
	case "status":
		return m.keysStatus(ctx, a, *asJSON)
	case "rotate":
		return m.keysRotate(ctx, a, *resume, *asJSON)
	case "retire":
		v, err := strconv.Atoi(rest[0])
		if err != nil || v < 1 {
			return usagef("KEK version %q is not a positive number\nhint: whispersync keys status lists the versions", rest[0])
		}
		if err := a.RetireKEK(ctx, m.operator(), v); err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "whispersync: retired key-encryption key version %d\n", v)
		return nil
	case "forget":
		if err := a.ForgetKeyUser(ctx, m.operator(), rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "whispersync: forgot %s; keys retire no longer waits for it\n", rest[0])
		return nil
	}
	return m.keysSchedule(ctx, a, *kek, *dataKeys, *asJSON)
}

// rotateKeyFileOnly rotates the key file while serve holds the data
// directory; serve rewraps at its next check.
func (m *Main) rotateKeyFileOnly(asJSON bool) error {
	v, err := app.RotateKeyFile(app.Config{DataDir: m.DataDir, KeyFile: m.KeyFile, PassphraseFile: m.PassphraseFile})
	if err != nil {
		return err
	}
	if asJSON {
		return m.printJSON(map[string]any{"version": v, "rewrap": "pending in serve"})
	}
	fmt.Fprintf(m.Stderr, "whispersync: data directory in use; added key-encryption key version %d to %s\nwhispersync: serve rewraps the data keys within a minute and records it in the audit trail; check with whispersync keys status once serve stops\n", v, m.KeyFile)
	return nil
}

func (m *Main) keysRotate(ctx context.Context, a *app.App, resume, asJSON bool) error {
	progress := func(p seal.RewrapProgress) {
		step := max(1, p.Owners/20)
		if p.OwnersDone%step == 0 || p.OwnersDone == p.Owners {
			fmt.Fprintf(m.Stderr, "whispersync: rewrap to version %d: %d/%d owners, %d data keys rewrapped\n", p.Target, p.OwnersDone, p.Owners, p.Rewrapped)
		}
	}
	var job app.RewrapJob
	var err error
	if resume {
		job, err = a.ResumeRewrap(ctx, m.operator(), progress)
	} else {
		job, err = a.RotateKEK(ctx, m.operator(), progress)
	}
	if err != nil {
		return err
	}
	if asJSON {
		return m.printJSON(job)
	}
	fmt.Fprintf(m.Stderr, "whispersync: key-encryption key version %d is current; %d data keys rewrapped, %d were current already\n", job.Target, job.Rewrapped, job.Current)
	return nil
}

func (m *Main) keysStatus(ctx context.Context, a *app.App, asJSON bool) error {
	st, err := a.KeyStatus(ctx, m.operator())
	if err != nil {
		return err
	}
	if asJSON {
		return m.printJSON(st)
	}
	w := m.Stdout
	fmt.Fprintf(w, "key source: %s %s", st.Source.Kind, st.Source.KeyFile)
	if st.Source.PassphraseFile != "" {
		fmt.Fprintf(w, " (passphrase from %s)", st.Source.PassphraseFile)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "\n%-8s %-8s %-20s %9s %7s\n", "VERSION", "STATE", "CREATED", "DATA KEYS", "OWNERS")
	for _, v := range st.Versions {
		state := "old"
		if v.Current {
			state = "current"
		}
		fmt.Fprintf(w, "%-8d %-8s %-20s %9d %7d\n", v.Version, state, v.CreatedAt.Local().Format(time.DateTime), v.DataKeys, v.Owners)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "KEK rotation:        %s\n", period(st.Policy.KEKRotation, st.NextRotation))
	fmt.Fprintf(w, "data key generation: %s\n", period(st.Policy.DataKeyRotation, time.Time{}))
	if st.Rewrap != nil {
		fmt.Fprintf(w, "last rewrap:         %s to version %d, %d/%d owners, %d rewrapped\n", st.Rewrap.State, st.Rewrap.Target, st.Rewrap.OwnersDone, st.Rewrap.Owners, st.Rewrap.Rewrapped)
	}
	fmt.Fprintf(w, "data key cache:      %d keys, %d hits, %d misses, %d evictions\n", st.Metrics.CachedKeys, st.Metrics.CacheHits, st.Metrics.CacheMisses, st.Metrics.CacheEvictions)
	fmt.Fprintf(w, "overdue secrets:     %d\n", st.OverdueSecrets)
	for _, warning := range st.Warnings {
		fmt.Fprintf(m.Stderr, "whispersync: warning: %s\n", warning)
	}
	return nil
}

func period(d time.Duration, next time.Time) string {
	if d == 0 {
		return "off"
	}
	s := "every " + d.String()
	if !next.IsZero() {
		s += ", next " + next.Local().Format(time.DateTime)
	}
	return s
}

func (m *Main) keysSchedule(ctx context.Context, a *app.App, kek, dataKeys string, asJSON bool) error {
	p, err := a.KeyPolicy(ctx)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		flag, value string
		into        *time.Duration
	}{{"--kek", kek, &p.KEKRotation}, {"--data-keys", dataKeys, &p.DataKeyRotation}} {
		if f.value == "" {
			continue
		}
		d, err := time.ParseDuration(f.value)
		if err != nil {
			return usagef("%s %q is not a duration: use hours, such as 8760h for a year", f.flag, f.value)
		}
		*f.into = d
	}
	if kek != "" || dataKeys != "" {
		if err := a.SetKeyPolicy(ctx, m.operator(), p); err != nil {
			return flagError(err)
		}
	}
	if asJSON {
		return m.printJSON(p)
	}
	fmt.Fprintf(m.Stdout, "KEK rotation:        %s\ndata key generation: %s\n", period(p.KEKRotation, time.Time{}), period(p.DataKeyRotation, time.Time{}))
	return nil
}

// zeroTime is a period without a next date.
var zeroTime time.Time
