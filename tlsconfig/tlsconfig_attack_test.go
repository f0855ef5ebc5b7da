package tlsconfig_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/whispersync/whispersync/tlsconfig"
)

// TestAttackReloadOutOfDateCertificate replaces the certificate files with
// an expired certificate, then one not valid yet, and sends the reload:
// the current certificate stays in use. Starting with an expired one
// fails.
func TestAttackReloadOutOfDateCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	write := func(notBefore time.Time, lifetime time.Duration) {
		t.Helper()
		// SelfSigned backdates NotBefore by an hour.
		certPEM, keyPEM, err := tlsconfig.SelfSigned([]string{"example.test"}, notBefore.Add(time.Hour), lifetime)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	write(now.Add(-time.Hour), 30*24*time.Hour)
	c, _, err := tlsconfig.Load(tlsconfig.Options{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	good := c.Leaf().SerialNumber

	write(now.Add(-2*365*24*time.Hour), 24*time.Hour)
	if err := c.Reload(); err == nil {
		t.Error("reload of an expired certificate: got no error")
	}
	if c.Leaf().SerialNumber.Cmp(good) != 0 {
		t.Error("reload of an expired certificate replaced the current one")
	}

	write(now.Add(48*time.Hour), 30*24*time.Hour)
	if err := c.Reload(); err == nil {
		t.Error("reload of a certificate valid only from the day after tomorrow: got no error")
	}
	if c.Leaf().SerialNumber.Cmp(good) != 0 {
		t.Error("reload of a certificate not valid yet replaced the current one")
	}

	write(now.Add(-2*365*24*time.Hour), 24*time.Hour)
	if _, _, err := tlsconfig.Load(tlsconfig.Options{CertFile: certFile, KeyFile: keyFile}); err == nil {
		t.Error("load of an expired certificate: got no error")
	}
}
