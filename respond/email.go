package respond

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/smtp"
	"strings"
	"syscall"
	"time"

	"github.com/whispersync/whispersync/safehttp"
)

// Email sends a digest as a plain-text message over SMTP. The connection
// must upgrade with STARTTLS before anything else is sent: a relay that
// does not offer it is refused.
type Email struct {
	cfg    EmailConfig
	secret SecretFunc
	// dial holds the address rules the connection obeys.
	dial safehttp.Options
	tls  *tls.Config
}

// Channel returns "email".
func (e *Email) Channel() string { return ChannelEmail }

// Send delivers d to every recipient in one message.
func (e *Email) Send(ctx context.Context, d Digest) error {
	host, _, err := net.SplitHostPort(e.cfg.Addr)
	if err != nil {
		return Permanent(fmt.Errorf("email: relay %q: %w", e.cfg.Addr, err))
	}
	var password []byte
	if e.cfg.User != "" {
		password, err = e.secret(ctx, e.cfg.PasswordSecret)
		if err != nil {
			return fmt.Errorf("email: read secret %s: %w", e.cfg.PasswordSecret, err)
		}
		defer clear(password)
	}

	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		return checkDial(e.dial, address)
	}}
	conn, err := dialer.DialContext(ctx, "tcp", e.cfg.Addr)
	if err != nil {
		err = fmt.Errorf("email: connect to %s: %w", e.cfg.Addr, err)
		if errors.Is(err, safehttp.ErrRefused) {
			return Permanent(err)
		}
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close() // the failed greeting is the error to report
		return fmt.Errorf("email: greet %s: %w", e.cfg.Addr, err)
	}
	defer c.Close()
	if err := e.session(c, host, string(password), d); err != nil {
		return fmt.Errorf("email: %s: %w", e.cfg.Addr, err)
	}
	return nil
}

func (e *Email) session(c *smtp.Client, host, password string, d Digest) error {
	if err := c.Hello("whispersync"); err != nil {
		return fmt.Errorf("hello: %w", err)
	}

	if ok, _ := c.Extension("STARTTLS"); !ok {
		return Permanent(errors.New("the relay does not offer STARTTLS, so nothing was sent"))
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if e.tls != nil {
		tc = e.tls.Clone()
		tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
	}
	tc.ServerName = host
	if err := c.StartTLS(tc); err != nil {
		return fmt.Errorf("starttls: %w", err)
	}

	if e.cfg.User != "" {
		// net/smtp's PLAIN refuses to send credentials without TLS.
		if err := c.Auth(smtp.PlainAuth("", e.cfg.User, password, host)); err != nil {
			return Permanent(fmt.Errorf("authenticate as %s: %w", e.cfg.User, err))
		}
	}

	if err := c.Mail(e.cfg.From); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	for _, to := range e.cfg.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("rcpt to: %w", err)
		}
	}

	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(EmailMessage(e.cfg.From, e.cfg.To, host, d)); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	return c.Quit()
}

// checkDial applies the safehttp address rules to an address about to be
// dialled, after DNS resolution.
func checkDial(opts safehttp.Options, address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable address %q", safehttp.ErrRefused, address)
	}
	return opts.CheckAddr(ap.Addr())
}

// EmailMessage returns the RFC 5322 message for d, with CRLF line ends.
func EmailMessage(from string, to []string, host string, d Digest) []byte {
	var b bytes.Buffer
	subject := "[WhisperSync] " + d.Title()
	if d.Urgent {
		subject = "[WhisperSync alert] " + d.Title()
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", from)
	header("To", strings.Join(to, ", "))
	header("Subject", subject)
	header("Date", d.SentAt.Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id[:])+"@"+host+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "8bit")
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")

	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	line("%s.", d.Title())
	for _, f := range d.Findings {
		line("")
		line("%s  %s  %s", strings.ToUpper(string(f.Severity)), f.Type, f.ID)
		line("  severity:   %s", f.Severity)
		line("  type:       %s", f.Type)
		line("  principal:  %s", f.Principal)
		line("  count:      %d", f.Count)
		line("  first seen: %s", f.FirstSeen.UTC().Format(time.RFC3339))
		line("  last seen:  %s", f.LastSeen.UTC().Format(time.RFC3339))
		line("  evidence:   %s", evidenceLine(f))
	}
	if len(d.Actions) > 0 {
		line("")
		line("Automatic actions:")
		for _, a := range d.Actions {
			line("  %s %s for %s; undo with: whispersync responses undo %s", a.Kind, a.Target, a.FindingID, a.ID)
		}
	}
	line("")
	line("whispersync findings show ID gives the details.")
	return b.Bytes()
}
