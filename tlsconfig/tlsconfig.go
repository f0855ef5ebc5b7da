// Package tlsconfig provides the server's TLS configuration: the
// operator's certificate and key, or a self-signed certificate for
// localhost generated once into the data directory; TLS 1.2 at least; and
// reloading from disk, which `serve` does on SIGHUP so a renewed
// certificate takes effect without a restart.
//
// Client certificates are requested but not verified against a CA: a
// service account that requires mutual TLS pins its certificate's SHA-256
// fingerprint, which the API compares.
package tlsconfig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// Generated certificate files, under the data directory.
const (
	GeneratedDir  = "tls"
	GeneratedCert = "localhost.crt"
	GeneratedKey  = "localhost.key"
)

// generatedLifetime is how long a generated certificate is valid; it is
// generated again when it has less than a month left.
const generatedLifetime = 365 * 24 * time.Hour

// Options locate the certificate.
type Options struct {
	// CertFile and KeyFile are PEM files; both or neither.
	CertFile, KeyFile string
	// DataDir receives a generated certificate when CertFile is empty.
	DataDir string
}

// Certificates holds the current server certificate. Its methods are safe
// for concurrent use.
type Certificates struct {
	certFile, keyFile string
	current           atomic.Pointer[tls.Certificate]
}

// Load reads the operator's certificate, or generates (or reuses) the
// self-signed one in the data directory, whose path it then reports in
// generated.
func Load(opts Options) (c *Certificates, generated string, err error) {
	c = &Certificates{certFile: opts.CertFile, keyFile: opts.KeyFile}
	switch {
	case opts.CertFile != "" && opts.KeyFile != "":
	case opts.CertFile != "" || opts.KeyFile != "":
		return nil, "", errors.New("tlsconfig: give both the certificate and the key file, or neither for a generated localhost certificate")
	case opts.DataDir == "":
		return nil, "", errors.New("tlsconfig: no certificate and no data directory to generate one in")
	default:
		dir := filepath.Join(opts.DataDir, GeneratedDir)
		c.certFile, c.keyFile = filepath.Join(dir, GeneratedCert), filepath.Join(dir, GeneratedKey)
		if err := ensureGenerated(dir, c.certFile, c.keyFile, time.Now()); err != nil {
			return nil, "", fmt.Errorf("tlsconfig: generate certificate: %w", err)
		}
		generated = c.certFile
	}
	if err := c.Reload(); err != nil {
		return nil, "", err
	}
	return c, generated, nil
}

// Reload reads the certificate and key files again. On failure the
// previous certificate stays in use. An expired or not yet valid
// certificate is a failure too, because every client would reject it.
func (c *Certificates) Reload() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tlsconfig: load %s: %w", c.certFile, err)
	}
	now := time.Now()
	switch leaf := cert.Leaf; {
	case leaf == nil:
		return fmt.Errorf("tlsconfig: load %s: no certificate found", c.certFile)
	case now.After(leaf.NotAfter):
		return fmt.Errorf("tlsconfig: load %s: the certificate expired at %s: renew it", c.certFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return fmt.Errorf("tlsconfig: load %s: the certificate is not valid before %s: check the clock or the certificate", c.certFile, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	c.current.Store(&cert)
	return nil
}

// Leaf returns the current certificate, parsed.
func (c *Certificates) Leaf() *x509.Certificate {
	return c.current.Load().Leaf
}

// ServerConfig returns a TLS configuration that serves the current
// certificate, TLS 1.2 and later, and requests a client certificate
// without requiring one.
func (c *Certificates) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// TLS 1.2 suites with forward secrecy and AEAD only; TLS 1.3
		// suites are not configurable and all fine.
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		ClientAuth: tls.RequestClientCert,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.current.Load(), nil
		},
	}
}

// ensureGenerated keeps a valid self-signed certificate in dir.
func ensureGenerated(dir, certFile, keyFile string, now time.Time) error {
	if cert, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil && cert.Leaf != nil && now.Add(30*24*time.Hour).Before(cert.Leaf.NotAfter) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	certPEM, keyPEM, err := SelfSigned([]string{"localhost", "127.0.0.1", "::1"}, now, generatedLifetime)
	if err != nil {
		return err
	}
	if err := writeFile(keyFile, keyPEM); err != nil {
		return err
	}
	return writeFile(certFile, certPEM)
}

// SelfSigned returns a PEM certificate and PKCS #8 key, ECDSA P-256, for
// the given host names and IP addresses. The certificate is a leaf, not a
// CA: a client that trusts it trusts this one certificate, and a leaked
// key cannot sign certificates for other names.
func SelfSigned(hosts []string, now time.Time, lifetime time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"WhisperSync self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(lifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeFile writes data to path with mode 0600 through a temporary file
// and a rename, so a reader never sees half a file.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
