// Package smtptest runs an in-process SMTP server (github.com/emersion/go-smtp)
// for tests, the way net/http/httptest runs an HTTP server: on a loopback
// port, in clear text, with STARTTLS or with implicit TLS (a self-signed
// certificate made at start), optionally requiring AUTH PLAIN, and keeping
// every message it receives. It never relays anything.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLS modes.
const (
	None     = "none"
	StartTLS = "starttls"
	Implicit = "implicit"
)

// Options configure a server.
type Options struct {
	// TLS is None (default), StartTLS or Implicit.
	TLS string
	// Username and Password, when set, are required (AUTH PLAIN).
	Username, Password string
	// Reject makes RCPT TO fail for these addresses (a 550).
	Reject map[string]bool
}

// Message is one message as received.
type Message struct {
	From string
	To   []string
	Data []byte
	// TLS is whether the session was encrypted; Auth the user it
	// authenticated as.
	TLS  bool
	Auth string
}

// Server is a running test server.
type Server struct {
	Host string
	Port int
	// RootCAs trusts the server's certificate.
	RootCAs *x509.CertPool
	certDER []byte

	opt  Options
	srv  *smtp.Server
	mu   sync.Mutex
	msgs []Message
	// logins counts failed authentications.
	badLogins int
}

// Start starts a server on 127.0.0.1 and stops it when the test ends.
func Start(tb testing.TB, opt Options) *Server {
	tb.Helper()
	s := &Server{Host: "127.0.0.1", opt: opt}
	srv := smtp.NewServer(s)
	srv.Domain = "smtptest.localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.ErrorLog = nopLogger{}
	var l net.Listener
	var err error
	switch opt.TLS {
	case "", None:
		srv.AllowInsecureAuth = true // loopback only
		l, err = net.Listen("tcp", "127.0.0.1:0")
	case StartTLS, Implicit:
		cfg, pool := selfSigned(tb)
		s.RootCAs, s.certDER = pool, cfg.Certificates[0].Certificate[0]
		srv.TLSConfig = cfg
		if opt.TLS == Implicit {
			l, err = tls.Listen("tcp", "127.0.0.1:0", cfg)
		} else {
			l, err = net.Listen("tcp", "127.0.0.1:0")
		}
	default:
		tb.Fatalf("smtptest: unknown TLS mode %q", opt.TLS)
	}
	if err != nil {
		tb.Fatalf("smtptest: listen: %v", err)
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	s.srv = srv
	go srv.Serve(l) //nolint:errcheck // returns when closed
	tb.Cleanup(func() { srv.Close() })
	return s
}

// CertPEM is the server's certificate in PEM form (a ca_file for
// clients); nil without TLS.
func (s *Server) CertPEM() []byte {
	if s.certDER == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.certDER})
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Messages returns a copy of every message received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	copy(out, s.msgs)
	return out
}

// BadLogins counts refused authentications.
func (s *Server) BadLogins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.badLogins
}

// NewSession implements smtp.Backend.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{s: s, tls: isTLS, conn: c}, nil
}

type session struct {
	s    *Server
	conn *smtp.Conn
	tls  bool
	auth string
	from string
	to   []string
}

func (se *session) AuthMechanisms() []string {
	if se.s.opt.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != se.s.opt.Username || pass != se.s.opt.Password {
			se.s.mu.Lock()
			se.s.badLogins++
			se.s.mu.Unlock()
			return smtp.ErrAuthFailed
		}
		se.auth = user
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.opt.Username != "" && se.auth == "" {
		return smtp.ErrAuthRequired
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if se.s.opt.Reject[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := se.conn.TLSConnectionState()
	se.s.mu.Lock()
	se.s.msgs = append(se.s.msgs, Message{From: se.from, To: append([]string(nil), se.to...), Data: bytes.Clone(b), TLS: isTLS || se.tls, Auth: se.auth})
	se.s.mu.Unlock()
	return nil
}

func (se *session) Reset() { se.from, se.to = "", nil }

func (se *session) Logout() error { return nil }

type nopLogger struct{}

func (nopLogger) Printf(string, ...interface{}) {}
func (nopLogger) Println(...interface{})        {}

// selfSigned makes a certificate for 127.0.0.1 and localhost, and a pool
// that trusts it.
func selfSigned(tb testing.TB) (*tls.Config, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}, MinVersion: tls.VersionTLS12}, pool
}

// ErrTimeout is returned by Wait when too few messages arrived.
var ErrTimeout = errors.New("smtptest: timed out waiting for messages")

// Wait waits until n messages arrived or the timeout passed.
func (s *Server) Wait(n int, timeout time.Duration) ([]Message, error) {
	deadline := time.Now().Add(timeout)
	for {
		msgs := s.Messages()
		if len(msgs) >= n {
			return msgs, nil
		}
		if time.Now().After(deadline) {
			return msgs, ErrTimeout
		}
		time.Sleep(5 * time.Millisecond)
	}
}
