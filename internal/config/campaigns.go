package config

import (
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/strictyaml"
)

// Campaigns configures recertification campaigns. Zero values mean "use
// the default" (documented per field); the campaign commands apply them.
type Campaigns struct {
	// Deadline is how long reviewers have, from creation (default 14d).
	Deadline time.Duration
	// Reminders are offsets before a deadline at which open items are
	// reminded (default 7d and 1d). RemindersSet tells an explicit empty
	// list (no reminders) from an absent one.
	Reminders    []time.Duration
	RemindersSet bool
	// EscalateAfter is the grace after a deadline before open items go to
	// the reviewer's manager or the fallback (default 0: at the deadline).
	EscalateAfter time.Duration
	// Unanswered is what unanswered items come to at close: none (default),
	// revoke or disable.
	Unanswered string
	// LeaverDeadline is how long a leaver's manager has to claim each item
	// (default 7d); LeaverUnanswered what unclaimed items come to (default
	// none).
	LeaverDeadline   time.Duration
	LeaverUnanswered string
	// FallbackReviewer reviews what no owner can (a person in the catalog).
	FallbackReviewer string
	// ReviewURL is the review page the signed links point at (the address
	// `nhiscan serve` is reached at, path included).
	ReviewURL string
	// LinkTTL is how long a review link stays valid (default 21d).
	LinkTTL time.Duration
	// LinkKeyFile holds the HMAC key of review links (at least 32 bytes);
	// the NHISCAN_LINK_KEY environment variable is the alternative.
	LinkKeyFile string
}

// SMTP configures the mail server campaign notices go through. The
// password comes from PasswordFile or the NHISCAN_SMTP_PASSWORD
// environment variable, never from this file.
type SMTP struct {
	Host string
	// Port defaults to 587 (starttls), 465 (implicit) or 25 (none).
	Port int
	// TLS is starttls (default), implicit, or none (loopback hosts only).
	TLS          string
	Username     string
	PasswordFile string
	// CAFile is a PEM bundle that verifies the server (default: the
	// system's roots).
	CAFile string
	// From is the sender, "name <address>" or an address.
	From string
	HELO string
	// Timeout bounds each connection (default 30s).
	Timeout time.Duration
}

type fileCampaigns struct {
	strictyaml.Meta
	Deadline         str   `yaml:"deadline"`
	Reminders        []str `yaml:"reminders" what:"reminder offset"`
	EscalateAfter    str   `yaml:"escalate_after"`
	Unanswered       str   `yaml:"unanswered"`
	LeaverDeadline   str   `yaml:"leaver_deadline"`
	LeaverUnanswered str   `yaml:"leaver_unanswered"`
	FallbackReviewer str   `yaml:"fallback_reviewer"`
	ReviewURL        str   `yaml:"review_url"`
	LinkTTL          str   `yaml:"link_ttl"`
	LinkKeyFile      str   `yaml:"link_key_file"`
}

type fileSMTP struct {
	strictyaml.Meta
	Host         str  `yaml:"host"`
	Port         *int `yaml:"port"`
	TLS          str  `yaml:"tls"`
	Username     str  `yaml:"username"`
	PasswordFile str  `yaml:"password_file"`
	CAFile       str  `yaml:"ca_file"`
	From         str  `yaml:"from"`
	HELO         str  `yaml:"helo"`
	Timeout      str  `yaml:"timeout"`
}

func init() {
	for k, v := range map[string]string{
		"link_key":      `"link_key_file" (or the NHISCAN_LINK_KEY environment variable)`,
		"hmac_key":      `"link_key_file" (or the NHISCAN_LINK_KEY environment variable)`,
		"signing_key":   `"link_key_file" (or the NHISCAN_LINK_KEY environment variable)`,
		"smtp_password": `"password_file" (or the NHISCAN_SMTP_PASSWORD environment variable)`,
	} {
		secretKeys[k] = v
	}
}

// campaignEnvVars are the NHISCAN_* overrides of the campaigns and smtp
// sections (secrets themselves, NHISCAN_SMTP_PASSWORD and NHISCAN_LINK_KEY,
// are read by the commands that use them, never by the configuration).
var campaignEnvVars = []envVar{
	env("campaigns", "fallback_reviewer"),
	env("campaigns", "review_url"),
	env("campaigns", "link_key_file"),
	env("smtp", "host"),
	env("smtp", "port"),
	env("smtp", "tls"),
	env("smtp", "username"),
	env("smtp", "password_file"),
	env("smtp", "from"),
}

// campaignSections validates the campaigns and smtp sections into cfg.
func (v *validator) campaignSections(fc *fileConfig, cfg *Config) {
	if c := fc.Campaigns; c != nil {
		cfg.Campaigns = v.campaigns(c)
	}
	if s := fc.SMTP; s != nil {
		cfg.SMTP = v.smtp(s)
	}
}

func (v *validator) campaigns(c *fileCampaigns) Campaigns {
	out := Campaigns{
		Deadline:         v.duration(c.Deadline, "deadline"),
		LeaverDeadline:   v.duration(c.LeaverDeadline, "leaver_deadline"),
		LinkTTL:          v.duration(c.LinkTTL, "link_ttl"),
		LinkKeyFile:      v.file(c.LinkKeyFile, "campaigns", "link_key_file"),
		Unanswered:       v.unanswered(c.Unanswered, "unanswered"),
		LeaverUnanswered: v.unanswered(c.LeaverUnanswered, "leaver_unanswered"),
		RemindersSet:     c.Has("reminders"),
	}
	seen := map[time.Duration]bool{}
	for _, r := range c.Reminders {
		d := v.duration(r, "reminder offset")
		if d > 0 && seen[d] {
			v.errs.Add(r.P, "reminder offset %q is listed twice", r.V)
		}
		if d > 0 && !seen[d] {
			seen[d] = true
			out.Reminders = append(out.Reminders, d)
		}
	}
	if c.EscalateAfter.Set {
		if d, err := duration.Parse(c.EscalateAfter.V); err != nil || d < 0 {
			v.errs.Add(c.EscalateAfter.P, "escalate_after %q: want a duration of 0 or more (0d escalates at the deadline)", c.EscalateAfter.V)
		} else {
			out.EscalateAfter = d
		}
	}
	if c.FallbackReviewer.Set {
		if a, err := mail.ParseAddress(c.FallbackReviewer.V); err != nil || a.Name != "" {
			v.errs.Add(c.FallbackReviewer.P, "fallback_reviewer %q is not an email address (a person in the catalog)", c.FallbackReviewer.V)
		} else {
			out.FallbackReviewer = strings.ToLower(a.Address)
		}
	}
	if c.ReviewURL.Set {
		out.ReviewURL = v.reviewURL(c.ReviewURL)
	}
	return out
}

func (v *validator) unanswered(s str, key string) string {
	if !s.Set {
		return ""
	}
	switch s.V {
	case "none", "revoke", "disable":
		return s.V
	}
	v.errs.Add(s.P, "%s %q: want none, revoke or disable", key, s.V)
	return ""
}

// reviewURL accepts https, or http to a loopback host (a local serve).
func (v *validator) reviewURL(s str) string {
	u, err := url.Parse(s.V)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		v.errs.Add(s.P, "review_url %q must be an absolute https URL (the review page of nhiscan serve)", s.V)
	case u.User != nil:
		v.errs.Add(s.P, "review_url must not contain credentials")
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		v.errs.Add(s.P, "review_url %q: links carry a reviewer's token, so http is allowed to a loopback host only; use https", s.V)
	case u.Fragment != "":
		v.errs.Add(s.P, "review_url %q must not have a #fragment", s.V)
	default:
		return s.V
	}
	return ""
}

func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	return strings.HasPrefix(h, "127.") || h == "::1"
}

func (v *validator) smtp(s *fileSMTP) *SMTP {
	out := &SMTP{
		Host: strings.TrimSpace(s.Host.V), TLS: "starttls", Username: s.Username.V,
		PasswordFile: v.file(s.PasswordFile, "smtp", "password_file"), CAFile: v.file(s.CAFile, "smtp", "ca_file"),
		HELO: s.HELO.V, Timeout: v.duration(s.Timeout, "timeout"),
	}
	if out.Host == "" && !s.Bad["host"] {
		v.errs.Add(s.At("host"), "smtp has no host")
	}
	if s.TLS.Set {
		switch s.TLS.V {
		case "starttls", "implicit", "none":
			out.TLS = s.TLS.V
		default:
			v.errs.Add(s.TLS.P, "tls %q: want starttls, implicit or none", s.TLS.V)
		}
	}
	if out.TLS == "none" && out.Host != "" && !loopbackHost(out.Host) {
		v.errs.Add(s.At("tls"), "tls none sends mail and the password in clear text: allowed to a loopback host only, not %q", out.Host)
	}
	out.Port = map[string]int{"starttls": 587, "implicit": 465, "none": 25}[out.TLS]
	if s.Port != nil {
		if *s.Port < 1 || *s.Port > 65535 {
			v.errs.Add(s.At("port"), "port %d is out of range (1 to 65535)", *s.Port)
		} else {
			out.Port = *s.Port
		}
	}
	if out.PasswordFile != "" && out.Username == "" {
		v.errs.Add(s.At("password_file"), "password_file needs username")
	}
	if !s.From.Set || strings.TrimSpace(s.From.V) == "" {
		if !s.Bad["from"] {
			v.errs.Add(s.At("from"), "smtp has no from address (for example: nhiscan <nhiscan@example.com>)")
		}
	} else if _, err := mail.ParseAddress(s.From.V); err != nil {
		v.errs.Add(s.From.P, "from %q is not an address (nhiscan <nhiscan@example.com>)", s.From.V)
	} else {
		out.From = s.From.V
	}
	return out
}
