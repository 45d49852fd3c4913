package config

import (
	"time"

	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/strictyaml"
)

// Revoke configures the revocation workflow (docs/revocation.md): its
// guardrails, its stages and the opt-in policies a plan may draw on, all
// off by default. Zero values (nil for the durations that may be 0) mean
// "use the default", which the revoke commands apply (Defaults).
type Revoke struct {
	// Freshness is how old the scan and the usage data an action relies on
	// may be, and how long a plan stays appliable (default: the catalog's
	// usage_freshness).
	Freshness time.Duration
	// MinIdentityAge: identities younger than this are never acted on
	// (default 7d; 0d turns the guardrail off).
	MinIdentityAge *time.Duration
	// MaxPerRun and MaxPerScope cap the ready actions of a plan (defaults
	// 20 and 10).
	MaxPerRun, MaxPerScope int
	// NoticePeriod is how long before a disable its owner must be notified
	// (default 7d; 0d: no notice needed).
	NoticePeriod *time.Duration
	// DeleteGrace is how long a target stays disabled before the delete
	// stage removes it (default 30d).
	DeleteGrace *time.Duration
	// Policies are the opt-in plan sources.
	Dormant, DepartedOwner RevokePolicy
	Exposed                bool
	// AWSRoleName is the role revocation assumes in each AWS account
	// (default: providers.aws.role_name, the scanner's).
	AWSRoleName string
}

// RevokePolicy is one opt-in plan source: on when its key is present.
type RevokePolicy struct {
	On    bool
	After time.Duration
}

// Revocation defaults.
const (
	DefaultMinIdentityAge = 7 * duration.Day
	DefaultMaxPerRun      = 20
	DefaultMaxPerScope    = 10
	DefaultNoticePeriod   = 7 * duration.Day
	DefaultDeleteGrace    = 30 * duration.Day
)

// Defaults returns r with every default applied; freshness is the
// catalog's usage_freshness, used when r sets none.
func (r Revoke) Defaults(freshness time.Duration) Revoke {
	if r.Freshness == 0 {
		r.Freshness = freshness
	}
	def := func(d **time.Duration, v time.Duration) {
		if *d == nil {
			*d = &v
		}
	}
	def(&r.MinIdentityAge, DefaultMinIdentityAge)
	def(&r.NoticePeriod, DefaultNoticePeriod)
	def(&r.DeleteGrace, DefaultDeleteGrace)
	if r.MaxPerRun == 0 {
		r.MaxPerRun = DefaultMaxPerRun
	}
	if r.MaxPerScope == 0 {
		r.MaxPerScope = DefaultMaxPerScope
	}
	return r
}

type fileRevoke struct {
	strictyaml.Meta
	Freshness      str                 `yaml:"freshness"`
	MinIdentityAge str                 `yaml:"min_identity_age"`
	MaxPerRun      *int                `yaml:"max_per_run"`
	MaxPerScope    *int                `yaml:"max_per_scope"`
	NoticePeriod   str                 `yaml:"notice_period"`
	DeleteGrace    str                 `yaml:"delete_grace"`
	Policies       *fileRevokePolicies `yaml:"policies" what:"revoke policies"`
	AWSRoleName    str                 `yaml:"aws_role_name"`
}

type fileRevokePolicies struct {
	strictyaml.Meta
	Dormant       *fileRevokePolicy `yaml:"dormant" what:"dormant policy"`
	DepartedOwner *fileRevokePolicy `yaml:"departed_owner" what:"departed_owner policy"`
	Exposed       *bool             `yaml:"exposed"`
}

type fileRevokePolicy struct {
	strictyaml.Meta
	After str `yaml:"after"`
}

// revokeEnvVars are the NHISCAN_* overrides of the revoke section.
var revokeEnvVars = []envVar{
	env("revoke", "aws_role_name"),
	env("revoke", "freshness"),
}

func init() { envVars = append(envVars, revokeEnvVars...) }

// revokeSection validates the revoke section into cfg.
func (v *validator) revokeSection(fc *fileConfig, cfg *Config) {
	r := fc.Revoke
	if r == nil {
		return
	}
	out := &cfg.Revoke
	out.Freshness = v.duration(r.Freshness, "freshness")
	out.MinIdentityAge = v.zeroOrMore(r.MinIdentityAge, "min_identity_age")
	out.NoticePeriod = v.zeroOrMore(r.NoticePeriod, "notice_period")
	out.DeleteGrace = v.zeroOrMore(r.DeleteGrace, "delete_grace")
	for _, c := range []struct {
		n   *int
		dst *int
		key string
	}{{r.MaxPerRun, &out.MaxPerRun, "max_per_run"}, {r.MaxPerScope, &out.MaxPerScope, "max_per_scope"}} {
		if c.n == nil {
			continue
		}
		if *c.n < 1 {
			v.errs.Add(r.At(c.key), "%s %d must be at least 1 (a cap keeps the blast radius of one plan small)", c.key, *c.n)
			continue
		}
		*c.dst = *c.n
	}
	if r.AWSRoleName.Set {
		out.AWSRoleName = r.AWSRoleName.V
		if out.AWSRoleName == "" {
			v.errs.Add(r.AWSRoleName.P, "aws_role_name must not be empty")
		}
	}
	if p := r.Policies; p != nil {
		out.Dormant = v.revokePolicy(p.Dormant, "dormant")
		out.DepartedOwner = v.revokePolicy(p.DepartedOwner, "departed_owner")
		out.Exposed = p.Exposed != nil && *p.Exposed
	}
}

func (v *validator) revokePolicy(p *fileRevokePolicy, key string) RevokePolicy {
	if p == nil {
		return RevokePolicy{}
	}
	if !p.After.Set {
		if !p.Bad["after"] {
			v.errs.Add(p.At("after"), "policy %s needs after (for example after: 180d)", key)
		}
		return RevokePolicy{}
	}
	return RevokePolicy{On: true, After: v.duration(p.After, "after")}
}

// zeroOrMore reads a duration that may be 0 (0d); nil when it is absent
// or wrong.
func (v *validator) zeroOrMore(s str, key string) *time.Duration {
	if !s.Set {
		return nil
	}
	d, err := duration.Parse(s.V)
	if err != nil || d < 0 {
		v.errs.Add(s.P, "%s %q: want a duration of 0 or more (for example 7d, or 0d)", key, s.V)
		return nil
	}
	return &d
}
