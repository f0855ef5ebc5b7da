package tlsconfig_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/whispersync/whispersync/tlsconfig"
)

func TestGeneratedCertificate(t *testing.T) {
	dir := t.TempDir()
	c, generated, err := tlsconfig.Load(tlsconfig.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if generated != filepath.Join(dir, "tls", "localhost.crt") {
		t.Errorf("generated: got %q", generated)
	}
	for _, name := range []string{"localhost.crt", "localhost.key"} {
		fi, err := os.Stat(filepath.Join(dir, "tls", name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode of %s: got %o, want 600", name, fi.Mode().Perm())
		}
	}
	fi, _ := os.Stat(filepath.Join(dir, "tls"))
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("mode of tls folder: got %o, want 700", fi.Mode().Perm())
	}
	if err := c.Leaf().VerifyHostname("localhost"); err != nil {
		t.Errorf("hostname localhost: %v", err)
	}
	if err := c.Leaf().VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("address 127.0.0.1: %v", err)
	}
	cfg := c.ServerConfig()
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("minimum version: got %x, want TLS 1.2", cfg.MinVersion)
	}

	again, _, err := tlsconfig.Load(tlsconfig.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if again.Leaf().SerialNumber.Cmp(c.Leaf().SerialNumber) != 0 {
		t.Error("second load generated a new certificate, want the stored one reused")
	}
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	write := func() {
		certPEM, keyPEM, err := tlsconfig.SelfSigned([]string{"example.test"}, time.Now(), time.Hour)
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
	write()
	c, generated, err := tlsconfig.Load(tlsconfig.Options{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if generated != "" {
		t.Errorf("generated: got %q, want none for the operator's certificate", generated)
	}
	first := c.Leaf().SerialNumber
	write()
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if c.Leaf().SerialNumber.Cmp(first) == 0 {
		t.Error("reload kept the old certificate")
	}
	if err := os.WriteFile(keyFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(); err == nil {
		t.Error("reload of a broken key: got no error")
	}
	if c.Leaf() == nil {
		t.Error("a failed reload dropped the current certificate")
	}
	if _, _, err := tlsconfig.Load(tlsconfig.Options{CertFile: certFile}); err == nil {
		t.Error("load with a certificate and no key: got no error")
	}
}

// TestSelfSignedIsNotACA checks that the generated certificate cannot sign
// other certificates, so a client that trusts it trusts nothing else.
func TestSelfSignedIsNotACA(t *testing.T) {
	certPEM, _, err := tlsconfig.SelfSigned([]string{"localhost", "127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("no PEM block in the certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cert.IsCA {
		t.Error("IsCA: got true, want false")
	}
	if cert.KeyUsage&x509.KeyUsageCertSign != 0 {
		t.Error("key usage: includes certificate signing, want digital signature only")
	}
}
