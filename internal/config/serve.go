package config

import (
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/nhiscan/nhiscan/internal/strictyaml"
)

// Serve configures `nhiscan serve`, the review page and the campaign
// owner's view (docs/review-page.md). The zero value means "not
// configured": the command applies its defaults.
type Serve struct {
	// Listen is the address the server listens on (default
	// 127.0.0.1:8080). An address other hosts can reach needs TLS here or
	// a TLS-terminating proxy named in TrustedProxies.
	Listen string
	// PublicURL is the address people reach the server at (the origin of
	// campaigns.review_url); its scheme decides whether cookies are Secure
	// and it is the base of the default OIDC redirect URL.
	PublicURL string
	// TLSCertFile and TLSKeyFile are a PEM certificate (chain) and its key;
	// both or neither.
	TLSCertFile string
	TLSKeyFile  string
	// TrustedProxies are the networks of the proxies in front of the
	// server: only a request from one of them may name the client address
	// in X-Forwarded-For or Forwarded.
	TrustedProxies []netip.Prefix
	// OIDC is OpenID Connect sign-in; nil when not configured (the owner's
	// view is then unavailable).
	OIDC *OIDC
}

// OIDC configures OpenID Connect sign-in for the campaign owner's view and,
// optionally, for reviewers.
type OIDC struct {
	// Issuer is the provider's issuer URL (discovery is read from
	// Issuer/.well-known/openid-configuration).
	Issuer   string
	ClientID string
	// ClientSecretFile holds the client secret; empty for a public client
	// (the flow always uses PKCE).
	ClientSecretFile string
	// RedirectURL is where the provider sends the browser back (default
	// PublicURL/auth/callback); register it with the provider.
	RedirectURL string
	// AllowedOwners are the people (verified email addresses) who may see
	// the campaign owner's view.
	AllowedOwners []string
	// Reviewers lets a reviewer sign in instead of following their link:
	// they see their items in every open campaign.
	Reviewers bool
}

type fileServe struct {
	strictyaml.Meta
	Listen         str       `yaml:"listen"`
	PublicURL      str       `yaml:"public_url"`
	TLSCertFile    str       `yaml:"tls_cert_file"`
	TLSKeyFile     str       `yaml:"tls_key_file"`
	TrustedProxies []str     `yaml:"trusted_proxies" what:"trusted proxy"`
	OIDC           *fileOIDC `yaml:"oidc" what:"oidc"`
}

type fileOIDC struct {
	strictyaml.Meta
	Issuer           str   `yaml:"issuer"`
	ClientID         str   `yaml:"client_id"`
	ClientSecretFile str   `yaml:"client_secret_file"`
	RedirectURL      str   `yaml:"redirect_url"`
	AllowedOwners    []str `yaml:"allowed_owners" what:"allowed owner"`
	Reviewers        *bool `yaml:"reviewers"`
}

// serveEnvVars are the NHISCAN_SERVE_* overrides.
var serveEnvVars = []envVar{
	env("serve", "listen"),
	env("serve", "public_url"),
	env("serve", "tls_cert_file"),
	env("serve", "tls_key_file"),
	env("serve", "trusted_proxies"),
	env("serve", "oidc", "issuer"),
	env("serve", "oidc", "client_id"),
	env("serve", "oidc", "client_secret_file"),
	env("serve", "oidc", "redirect_url"),
	env("serve", "oidc", "allowed_owners"),
	env("serve", "oidc", "reviewers"),
}

func init() { envVars = append(envVars, serveEnvVars...) }

// serveSection validates the serve section into cfg.
func (v *validator) serveSection(fc *fileConfig, cfg *Config) {
	if s := fc.Serve; s != nil {
		cfg.Serve = v.serve(s)
	}
}

func (v *validator) serve(s *fileServe) Serve {
	out := Serve{
		TLSCertFile: v.file(s.TLSCertFile, "serve", "tls_cert_file"),
		TLSKeyFile:  v.file(s.TLSKeyFile, "serve", "tls_key_file"),
	}
	if s.Listen.Set {
		out.Listen = v.listen(s.Listen)
	}
	if s.PublicURL.Set {
		out.PublicURL = v.publicURL(s.PublicURL)
	}
	if s.TLSCertFile.Set != s.TLSKeyFile.Set {
		v.errs.Add(s.P, "serve needs both tls_cert_file and tls_key_file, or neither")
	}
	for _, p := range s.TrustedProxies {
		if pre, ok := parsePrefix(p.V); ok {
			out.TrustedProxies = append(out.TrustedProxies, pre)
		} else {
			v.errs.Add(p.P, "trusted proxy %q is not an IP address or CIDR network (10.0.0.0/8, 2001:db8::/32, 192.0.2.7)", p.V)
		}
	}
	if out.Listen != "" && !s.TLSCertFile.Set && len(s.TrustedProxies) == 0 && !LoopbackListen(out.Listen) {
		v.errs.Add(s.Listen.P, "listen %q is reachable from other hosts in clear text, and review links carry a token: "+
			"set tls_cert_file and tls_key_file, or trusted_proxies for the TLS-terminating proxy in front", s.Listen.V)
	}
	if o := s.OIDC; o != nil {
		out.OIDC = v.oidc(o, out.PublicURL)
	}
	return out
}

// listen accepts host:port (host may be empty: every interface).
func (v *validator) listen(s str) string {
	host, port, err := net.SplitHostPort(s.V)
	if err == nil {
		var n int
		n, err = strconv.Atoi(port)
		if err == nil && (n < 0 || n > 65535) {
			err = strconv.ErrRange
		}
	}
	if err != nil || strings.ContainsAny(host, " /") {
		v.errs.Add(s.P, "listen %q is not host:port (127.0.0.1:8080, :8443)", s.V)
		return ""
	}
	return s.V
}

// LoopbackListen reports whether a listen address is reachable from this
// host only.
func LoopbackListen(addr string) bool {
	host, _, _ := net.SplitHostPort(addr)
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// parsePrefix reads a CIDR network or a single address.
func parsePrefix(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), true
	}
	return netip.Prefix{}, false
}

// publicURL accepts an https origin, or http to a loopback host.
func (v *validator) publicURL(s str) string {
	u, err := url.Parse(s.V)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		v.errs.Add(s.P, "public_url %q must be an absolute https URL (https://nhiscan.acme.example)", s.V)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/"):
		v.errs.Add(s.P, "public_url %q must be an origin only, without a path, query, fragment or credentials", s.V)
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		v.errs.Add(s.P, "public_url %q: http is allowed to a loopback host only; use https", s.V)
	default:
		return strings.TrimSuffix(s.V, "/")
	}
	return ""
}

func (v *validator) oidc(o *fileOIDC, publicURL string) *OIDC {
	out := &OIDC{
		Issuer:           v.oidcURL(o.Issuer, "issuer"),
		ClientID:         strings.TrimSpace(o.ClientID.V),
		ClientSecretFile: v.file(o.ClientSecretFile, "serve", "oidc.client_secret_file"),
		RedirectURL:      v.oidcURL(o.RedirectURL, "redirect_url"),
		Reviewers:        o.Reviewers != nil && *o.Reviewers,
	}
	if !o.Issuer.Set && !o.Bad["issuer"] {
		v.errs.Add(o.At("issuer"), "oidc has no issuer (the provider's issuer URL, https://login.acme.example)")
	}
	if out.ClientID == "" && !o.Bad["client_id"] {
		v.errs.Add(o.At("client_id"), "oidc has no client_id (the client registered for nhiscan at the provider)")
	}
	if !o.RedirectURL.Set && !o.Bad["redirect_url"] {
		if publicURL == "" {
			v.errs.Add(o.At("redirect_url"), "oidc has no redirect_url, and serve has no public_url to derive it from (public_url + /auth/callback)")
		} else {
			out.RedirectURL = publicURL + "/auth/callback"
		}
	}
	seen := map[string]bool{}
	for _, a := range o.AllowedOwners {
		addr, err := mail.ParseAddress(a.V)
		if err != nil || addr.Name != "" {
			v.errs.Add(a.P, "allowed owner %q is not an email address", a.V)
			continue
		}
		id := strings.ToLower(addr.Address)
		if seen[id] {
			v.errs.Add(a.P, "allowed owner %q is listed twice", a.V)
			continue
		}
		seen[id] = true
		out.AllowedOwners = append(out.AllowedOwners, id)
	}
	if len(o.AllowedOwners) == 0 && !out.Reviewers && !o.Bad["allowed_owners"] && !o.Bad["reviewers"] {
		v.errs.Add(o.P, "oidc lets nobody sign in: list allowed_owners (the campaign owner's view), or set reviewers: true")
	}
	return out
}

// oidcURL accepts an absolute https URL, or http to a loopback host.
func (v *validator) oidcURL(s str, key string) string {
	if !s.Set {
		return ""
	}
	u, err := url.Parse(s.V)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		v.errs.Add(s.P, "%s %q must be an absolute https URL", key, s.V)
	case u.User != nil || u.Fragment != "":
		v.errs.Add(s.P, "%s %q must not have credentials or a #fragment", key, s.V)
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		v.errs.Add(s.P, "%s %q: http is allowed to a loopback host only; use https", key, s.V)
	default:
		return s.V
	}
	return ""
}

// Flag is a command-line flag that overrides a key of the file (after the
// environment). Its value is validated as the file's would be, and a
// problem names the flag.
type Flag struct {
	// Name is the flag as typed, --listen.
	Name string
	// Key is the key's path from the file's root: serve, listen.
	Key []string
	// Value is the flag's value ("" keeps the file's); a list is
	// comma-separated.
	Value string
}

// applyFlags sets every flag with a value over the file's and the
// environment's values.
func applyFlags(fc *fileConfig, flags []Flag, errs *strictyaml.List) {
	for _, f := range flags {
		if f.Value != "" {
			envVar{name: f.Name, path: f.Key}.apply(fc, str{V: f.Value, P: pos{File: f.Name}, Set: true}, errs)
		}
	}
}
