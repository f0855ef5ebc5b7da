package respond_test

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
)

// mail is what the SMTP sink received in one session.
type mail struct {
	TLS        bool
	User, Pass string
	From       string
	To         []string
	Data       string
}

// smtpSink is a minimal SMTP server on 127.0.0.1 that offers STARTTLS
// (unless noTLS) and PLAIN authentication after it, and records what each
// session delivered.
type smtpSink struct {
	ln    net.Listener
	cert  tls.Certificate
	noTLS bool

	mu    sync.Mutex
	mails []mail
	wg    sync.WaitGroup
}

func newSMTPSink(t *testing.T, cert tls.Certificate, noTLS bool) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln, cert: cert, noTLS: noTLS}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(conn)
			}()
		}
	}()
	t.Cleanup(func() {
		if err := ln.Close(); err != nil {
			t.Errorf("close SMTP sink: %v", err)
		}
		s.wg.Wait()
	})
	return s
}

func (s *smtpSink) Addr() string { return s.ln.Addr().String() }

func (s *smtpSink) Mails() []mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mail(nil), s.mails...)
}

func (s *smtpSink) serve(conn net.Conn) {
	defer func() { _ = conn.Close() }() // the client may have hung up first
	tp := textproto.NewConn(conn)
	var m mail
	reply := func(line string) { _ = tp.PrintfLine("%s", line) }
	reply("220 sink ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			if !m.TLS && !s.noTLS {
				reply("250-sink")
				reply("250 STARTTLS")
			} else {
				reply("250-sink")
				reply("250 AUTH PLAIN")
			}
		case "STARTTLS":
			reply("220 ready")
			tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12})
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, m.TLS = tc, true
			tp = textproto.NewConn(tc)
		case "AUTH":
			_, resp, _ := strings.Cut(arg, " ")
			raw, _ := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if len(parts) == 3 {
				m.User, m.Pass = parts[1], parts[2]
			}
			reply("235 accepted")
		case "MAIL":
			m.From = strings.Trim(strings.TrimPrefix(arg, "FROM:"), "<>")
			reply("250 ok")
		case "RCPT":
			m.To = append(m.To, strings.Trim(strings.TrimPrefix(arg, "TO:"), "<>"))
			reply("250 ok")
		case "DATA":
			reply("354 go on")
			data, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			m.Data = string(data)
			s.mu.Lock()
			s.mails = append(s.mails, m)
			s.mu.Unlock()
			reply("250 queued")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}

// headerOf returns the header name of a received message.
func headerOf(data, name string) string {
	r := textproto.NewReader(bufio.NewReader(strings.NewReader(data)))
	h, _ := r.ReadMIMEHeader()
	return h.Get(name)
}
