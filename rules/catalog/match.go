package catalog

import (
	"strings"
	"unicode/utf8"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Glob reports whether s matches pattern, where "*" matches any run of
// characters (including "/" and ":") and "?" one character. Matching is
// case-sensitive; an empty pattern matches anything.
func Glob(pattern, s string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	if strings.IndexByte(pattern, '*') < 0 && strings.IndexByte(pattern, '?') < 0 {
		return pattern == s // a literal (IndexByte: ContainsAny was a tenth of a large analysis)
	}
	return globMatch(pattern, s)
}

// globMatch is an iterative wildcard matcher: linear in practice, no
// backtracking blow-up, and "*" crosses separators (unlike path.Match). It
// works on UTF-8 without converting to runes: "?" consumes one whole
// character, and a "*" retry advances by whole characters, so a match never
// starts in the middle of one; literal characters compare byte for byte.
func globMatch(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '?':
			_, n := utf8.DecodeRuneInString(s[si:])
			pi++
			si += n
		case pi < len(p) && p[pi] != '*' && p[pi] == s[si]:
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			_, n := utf8.DecodeRuneInString(s[mark:])
			pi = star + 1
			mark += n
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// ValidGlob reports whether pattern is a usable glob. Only "*" and "?" are
// special; "[", "]", "{", "}" and "\\" are rejected because other glob
// dialects give them a meaning this one does not have.
func ValidGlob(pattern string) bool {
	return !strings.ContainsAny(pattern, "[]{}\\")
}

// Matches reports whether the selector picks the identity.
func (s Selector) Matches(id *nhi.Identity) bool {
	if s.Provider != "" && s.Provider != id.Provider {
		return false
	}
	if s.Kind != "" && s.Kind != id.Kind {
		return false
	}
	if s.ID != "" && s.ID != id.ID {
		return false
	}
	if !Glob(s.Scope, id.Scope) || !Glob(s.Name, id.Name) {
		return false
	}
	for k, v := range s.Tags {
		if got, ok := id.Tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Allows reports whether the entitlement pattern covers the grant.
func (e Entitlement) Allows(p nhi.Provider, g *nhi.Grant) bool {
	if e.Provider != "" && e.Provider != p {
		return false
	}
	return Glob(e.Pattern, g.Entitlement) && Glob(e.Scope, g.Scope)
}

// Role returns the role with the given id.
func (c *Catalog) Role(id string) (*Role, bool) {
	for i := range c.Roles {
		if c.Roles[i].ID == id {
			return &c.Roles[i], true
		}
	}
	return nil, false
}

// Protects reports whether the revocation workflow must leave the identity
// alone, and why: it is a member of a protected role (roleID is the role
// the analyzer mapped it to), or a protected selector picks it (a selector
// naming a role matches through roleID).
func (c *Catalog) Protects(id *nhi.Identity, roleID string) (string, bool) {
	if r, ok := c.Role(roleID); ok && r.Protected {
		return "member of protected role " + r.ID, true
	}
	for _, s := range c.Protected {
		if s.Role != "" && s.Role != roleID {
			continue
		}
		if s.Matches(id) {
			return "protected selector", true
		}
	}
	return "", false
}
