package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLS modes of an SMTP transport.
const (
	// TLSStartTLS upgrades a plain connection (port 587) and refuses a
	// server that does not offer STARTTLS.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (port 465).
	TLSImplicit = "implicit"
	// TLSNone sends in clear text: only to a server on this machine (a
	// local relay or Mailpit).
	TLSNone = "none"
)

// SMTPConfig configures the SMTP transport. The password is the value read
// from a *_file or the environment by the caller; it is never printed.
type SMTPConfig struct {
	Host string
	Port int
	// TLS is TLSStartTLS (default), TLSImplicit or TLSNone.
	TLS      string
	Username string
	Password string
	// RootCAs verifies the server; nil uses the system's roots.
	RootCAs *x509.CertPool
	// HELO is the name sent in HELO/EHLO; empty uses the host name.
	HELO    string
	Timeout time.Duration
}

// SMTP sends through an SMTP server with go-mail, one connection per
// message.
type SMTP struct {
	cfg SMTPConfig
}

// NewSMTP checks the configuration: a host, a port, a TLS mode, and clear
// text only to a loopback server.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	switch {
	case cfg.Host == "":
		return nil, errors.New("smtp: no host")
	case cfg.Port < 1 || cfg.Port > 65535:
		return nil, fmt.Errorf("smtp: port %d out of range", cfg.Port)
	case cfg.TLS != TLSStartTLS && cfg.TLS != TLSImplicit && cfg.TLS != TLSNone:
		return nil, fmt.Errorf("smtp: tls %q: want starttls, implicit or none", cfg.TLS)
	case cfg.TLS == TLSNone && !IsLoopback(cfg.Host):
		return nil, fmt.Errorf("smtp: tls none sends mail and credentials in clear text: only to a loopback host, not %q", cfg.Host)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTP{cfg: cfg}, nil
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name is "smtp".
func (s *SMTP) Name() string { return "smtp" }

// Send delivers one message.
func (s *SMTP) Send(ctx context.Context, m *gomail.Msg, _ Label) error {
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: s.cfg.Host, RootCAs: s.cfg.RootCAs, MinVersion: tls.VersionTLS12})}
	switch s.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(s.cfg.HELO))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("smtp %s:%d: %w", s.cfg.Host, s.cfg.Port, err)
	}
	return nil
}

// Outbox writes each message as an .eml file into a folder: the demo's
// outbox, and what `campaign send --dry-run` writes. Files are numbered in
// the order written, after any already there.
type Outbox struct {
	Dir string
}

// Name is "outbox".
func (o *Outbox) Name() string { return "outbox" }

// Send writes <n>-<kind>-<recipient>.eml.
func (o *Outbox) Send(_ context.Context, m *gomail.Msg, l Label) error {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	existing, err := filepath.Glob(filepath.Join(o.Dir, "*.eml"))
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	name := fmt.Sprintf("%03d-%s-%s.eml", len(existing)+1, fileSafe(l.Kind), fileSafe(l.To))
	f, err := os.OpenFile(filepath.Join(o.Dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if _, err := m.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("outbox: %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("outbox: %s: %w", name, err)
	}
	return nil
}

// fileSafe keeps letters, digits and @._- of an address for a file name.
func fileSafe(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '@', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return strings.TrimLeft(b.String(), ".")
}
