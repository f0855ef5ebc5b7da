package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/auth"
	"github.com/whispersync/whispersync/detect"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/respond"
	"github.com/whispersync/whispersync/secrets"
)

// responder is the principal of automatic actions and deliveries in the
// audit trail.
var responder = pipeline.Actor{Principal: "system:respond", Source: "detect"}

// Responses returns the store of automatic responses and publication
// marks.
func (a *App) Responses() *respond.Store {
	return respond.NewStore(a.DB.Tables(), a.Sealer, secrets.SystemOwner)
}

// ResponseConfig returns the incident-response configuration the app was
// opened with.
func (a *App) ResponseConfig() respond.Config { return a.response }

// Notifiers returns a notifier per configured channel, reading credentials
// from the secret store at each send.
func (a *App) Notifiers() []respond.Notifier {
	return respond.Notifiers(a.response, a.secretValue)
}

func (a *App) secretValue(ctx context.Context, name string) ([]byte, error) {
	value, _, err := a.Secrets.Get(ctx, secrets.Actor{Principal: responder.Principal, Source: responder.Source}, name, "")
	return value, err
}

// RespondResult is the outcome of one Respond.
type RespondResult struct {
	// Actions are the automatic actions taken.
	Actions []respond.Response `json:"actions"`
	// Published lists the ids of the findings delivered.
	Published []string `json:"published"`
	// Delivered and Failed list the channels by outcome; Failed maps a
	// channel to its last error.
	Delivered []string          `json:"delivered"`
	Failed    map[string]string `json:"failed,omitempty"`
	// Urgent is set when the findings went out ahead of the next digest.
	Urgent bool `json:"urgent"`
}

// Respond takes the automatic actions that findings raised or updated
// since the last call call for, then publishes what is due: high findings
// and those just acted on at once, the others in one digest per channel
// every publication interval. A finding already published goes out again
// only when its count or severity changed. A channel that still fails
// after its retries becomes a response.delivery_failed finding. Respond
// itself returns an error only when storage, the audit trail or ctx fails.
func (a *App) Respond(ctx context.Context, now time.Time) (RespondResult, error) {
	res := RespondResult{Failed: map[string]string{}}
	findings, responses := a.Findings(), a.Responses()
	found, err := findings.List(ctx)
	if err != nil {
		return res, err
	}
	marks, err := responses.Marks(ctx)
	if err != nil {
		return res, err
	}

	acted := map[string]bool{}
	policy := a.response.Policy()
	for _, f := range found {
		m := marks[f.ID]
		m.FindingID = f.ID
		if f.Archived || !m.Unacted(f) {
			continue
		}
		done, err := a.act(ctx, f, policy[f.Severity], now)
		res.Actions = append(res.Actions, done...)
		if err != nil {
			return res, err
		}
		if len(done) > 0 {
			acted[f.ID] = true
		}
		m.ActedCount, m.ActedSeverity = f.Count, f.Severity
		marks[f.ID] = m
		if err := responses.PutMark(ctx, m); err != nil {
			return res, err
		}
	}

	notifiers := a.Notifiers()
	if len(notifiers) == 0 {
		return res, nil
	}
	last, err := responses.LastDigest(ctx)
	if err != nil {
		return res, err
	}
	due := now.Sub(last) >= a.response.PublishInterval()
	var pending []detect.Finding
	for _, f := range found {
		if !f.Archived && marks[f.ID].Unpublished(f) && (due || f.Severity == detect.High || acted[f.ID]) {
			pending = append(pending, f)
		}
	}
	if len(pending) == 0 {
		return res, nil
	}
	res.Urgent = !due
	return res, a.publish(ctx, &res, pending, marks, found, notifiers, now, due)
}

// publish delivers pending to every channel and marks the findings
// published when at least one channel took them.
func (a *App) publish(ctx context.Context, res *RespondResult, pending []detect.Finding, marks map[string]respond.Mark, found []detect.Finding, notifiers []respond.Notifier, now time.Time, due bool) error {
	log := a.Logger.With("component", "respond")
	d := respond.Digest{Urgent: res.Urgent, SentAt: now, Findings: pending, Actions: res.Actions}
	var failed []string
	for _, n := range notifiers {
		err := respond.Deliver(ctx, n, d, a.response.Retry, log)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			log.Error("delivery failed", "channel", n.Channel(), "err", err)
			res.Failed[n.Channel()] = err.Error()
			failed = append(failed, n.Channel())
			continue
		}
		res.Delivered = append(res.Delivered, n.Channel())
	}
	if len(failed) > 0 {
		engine := detect.New(detect.Thresholds{}, detect.State{})
		engine.Load(found)
		for _, ch := range failed {
			engine.DeliveryFailed(ch, res.Failed[ch], now)
		}
		for _, f := range engine.Changed() {
			if err := a.Findings().Put(ctx, f); err != nil {
				return err
			}
			log.Warn("finding", "finding", f.ID, "type", f.Type, "severity", f.Severity, "count", f.Count)
		}
	}
	if len(res.Delivered) == 0 {
		return nil
	}

	responses := a.Responses()
	for _, f := range pending {
		m := marks[f.ID]
		m.FindingID, m.PublishedCount, m.PublishedSeverity, m.PublishedAt = f.ID, f.Count, f.Severity, now
		if err := responses.PutMark(ctx, m); err != nil {
			return err
		}
		f.Published = now
		if err := a.Findings().Put(ctx, f); err != nil {
			return err
		}
		res.Published = append(res.Published, f.ID)
	}
	if due {
		return responses.SetLastDigest(ctx, now)
	}
	return nil
}

// act takes the actions of kinds that f's principal allows. A source
// address can be blocked. A user, or the owner of a token, can be locked
// and have its tokens suspended. A session, service account or OIDC
// principal can be suspended itself.
//
// Actions already in force, such as a lock an operator set, are skipped,
// so that undoing a response never undoes an operator's decision.
func (a *App) act(ctx context.Context, f detect.Finding, kinds []respond.Action, now time.Time) ([]respond.Response, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	blocked, err := a.blockedValues(ctx)
	if err != nil {
		return nil, err
	}
	var done []respond.Response
	run := func(kind respond.Action, target string, do func() error) error {
		r := respond.NewResponse(f.ID, kind, target, now)
		err := a.Audit.Append(ctx, whispersync.AuditEvent{
			Time: now, Principal: responder.Principal, Source: responder.Source, Action: "response.act",
			Resource: "finding:" + f.ID, Outcome: whispersync.OutcomeSuccess,
			Detail: map[string]string{"response": r.ID, "kind": string(kind), "target": target},
		})
		if err != nil {
			return fmt.Errorf("app: audit response: %w", err)
		}
		if err := do(); err != nil {
			return fmt.Errorf("app: %s %s: %w", kind, target, err)
		}
		done = append(done, r)
		a.Logger.Warn("automatic response", "response", r.ID, "finding", f.ID, "kind", kind)
		return a.Responses().PutResponse(ctx, r)
	}
	suspend := func(principal string) error {
		if blocked["principal:"+principal] {
			return nil
		}
		return run(respond.Revoke, "principal:"+principal, func() error {
			_, err := a.Block(ctx, responder, auth.Block{Kind: "principal", Value: principal, Reason: "finding " + f.ID, CreatedAt: now})
			return err
		})
	}

	kind, id, _ := strings.Cut(f.Principal, ":")
	switch kind {
	case "source":
		if !slices.Contains(kinds, respond.Block) || blocked["ip:"+id] {
			return done, nil
		}
		if _, err := ParseBlockedIP(id); err != nil {
			return done, nil
		}
		return done, run(respond.Block, "ip:"+id, func() error {
			_, err := a.Block(ctx, responder, auth.Block{Kind: "ip", Value: id, Reason: "finding " + f.ID, CreatedAt: now})
			return err
		})
	case "user", auth.KindToken:
		user, err := a.principalUser(ctx, kind, id)
		if err != nil || user == nil {
			return done, err
		}
		if slices.Contains(kinds, respond.Lock) {
			locked, err := a.Identity().LockedAt(ctx, user.ID)
			if err != nil {
				return done, err
			}
			if locked.IsZero() {
				if err := run(respond.Lock, "user:"+user.ID, func() error { return a.SetLocked(ctx, responder, user, true) }); err != nil {
					return done, err
				}
			}
		}
		if slices.Contains(kinds, respond.Revoke) {
			tokens, err := a.Accounts.ListTokens(ctx, user.ID)
			if err != nil {
				return done, err
			}
			for _, t := range tokens {
				if !t.RevokedAt.IsZero() || (!t.ExpiresAt.IsZero() && now.After(t.ExpiresAt)) {
					continue
				}
				if err := suspend(auth.KindToken + ":" + t.ID); err != nil {
					return done, err
				}
			}
		}
	case auth.KindSession, auth.KindService, auth.KindOIDC:
		if slices.Contains(kinds, respond.Revoke) {
			return done, suspend(f.Principal)
		}
	}
	return done, nil
}

// principalUser returns the user a "user" or "token" principal id names,
// nil when there is none.
func (a *App) principalUser(ctx context.Context, kind, id string) (*whispersync.User, error) {
	if kind == "user" {
		u, err := a.Accounts.FindUserByID(ctx, id)
		if whispersync.IsNotFound(err) {
			return nil, nil
		}
		return u, err
	}
	users, err := a.Accounts.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		tokens, err := a.Accounts.ListTokens(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(tokens, func(t *whispersync.Token) bool { return t.ID == id }) {
			return u, nil
		}
	}
	return nil, nil
}

// blockedValues returns the block list as "KIND:VALUE" keys.
func (a *App) blockedValues(ctx context.Context) (map[string]bool, error) {
	blocks, err := a.Identity().ListBlocks(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, b := range blocks {
		out[b.Kind+":"+b.Value] = true
	}
	return out, nil
}

// UndoResponse reverses an automatic response: it unlocks the account or
// removes the block-list entry the response added.
func (a *App) UndoResponse(ctx context.Context, actor pipeline.Actor, id string) (respond.Response, error) {
	responses := a.Responses()
	r, err := responses.Response(ctx, id)
	if err != nil {
		return r, err
	}
	if !r.UndoneAt.IsZero() {
		return r, whispersync.Errorf(whispersync.ECONFLICT, "response %s was already undone at %s by %s", id, r.UndoneAt.Format(time.RFC3339), r.UndoneBy)
	}
	if err := a.audit(ctx, actor, "response.undo", "response:"+id); err != nil {
		return r, err
	}

	switch r.Kind {
	case respond.Lock:
		user, err := a.Accounts.FindUserByID(ctx, strings.TrimPrefix(r.Target, "user:"))
		if err != nil {
			return r, err
		}
		if err := a.SetLocked(ctx, actor, user, false); err != nil {
			return r, err
		}
	case respond.Revoke, respond.Block:
		kind, value, _ := strings.Cut(r.Target, ":")
		if _, err := a.Unblock(ctx, actor, kind, value); err != nil && !whispersync.IsNotFound(err) {
			return r, err
		}
	default:
		return r, whispersync.Errorf(whispersync.EINVALID, "response %s has unknown kind %q: undo it by hand with users unlock or blocklist remove", id, r.Kind)
	}

	r.UndoneAt, r.UndoneBy = time.Now().UTC(), actor.Principal
	return r, responses.PutResponse(ctx, r)
}
