package analyzer

import (
	"sort"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// keyTypes are the credential types that are "keys of the identity": more
// than the allowed number active at once means a rotation left one behind.
// CI secrets and service-specific credentials are not counted: an
// identity legitimately holds several.
var keyTypes = map[nhi.CredentialType]bool{
	nhi.CredAWSAccessKey:      true,
	nhi.CredGCPUserManagedKey: true,
	nhi.CredEntraClientSecret: true,
	nhi.CredEntraCertificate:  true,
}

// credentialRules: too old, no expiry where required, static where workload
// identity is required, expiring soon, more than one active key.
func (a *analysis) credentialRules(id *nhi.Identity, s *subject) {
	maxAge := a.def.MaxCredentialAge
	var pol catalog.CredentialPolicy
	if s.role != nil {
		pol = s.role.Credentials
		if pol.MaxAge > 0 {
			maxAge = pol.MaxAge
		}
	}
	staticForbidden := s.role != nil && (pol.RequireWorkloadIdentity || !pol.StaticKeysAllowed)
	maxKeys := pol.MaxActiveKeys
	if maxKeys <= 0 {
		maxKeys = 1
	}
	activeByType := map[nhi.CredentialType][]string{}
	for i := range id.Credentials {
		c := &id.Credentials[i]
		if !a.credActive(c) || c.ProviderRotated {
			continue
		}
		base := func() map[string]string {
			ev := map[string]string{"credential_type": string(c.Type)}
			if !c.Created.IsZero() {
				ev["created"] = ts(c.Created)
			}
			if !c.Expires.IsZero() {
				ev["expires"] = ts(c.Expires)
			}
			return ev
		}
		if c.Type.Static() {
			if keyTypes[c.Type] {
				activeByType[c.Type] = append(activeByType[c.Type], c.ID)
			}
			if !c.Created.IsZero() {
				if age := a.now.Sub(c.Created); age > maxAge {
					ev := base()
					ev["age_days"] = days(age)
					ev["max_age_days"] = days(maxAge)
					a.emit(rules.RuleCredentialTooOld, id, s, c.ID, "", ev)
				}
			}
			if staticForbidden && !s.managed {
				ev := base()
				ev["role"] = s.role.ID
				if pol.RequireWorkloadIdentity {
					ev["policy"] = "workload identity required"
				} else {
					ev["policy"] = "static keys not allowed"
				}
				a.emit(rules.RuleStaticNotAllowed, id, s, c.ID, "", ev)
			}
		}
		if pol.ExpiryRequired && c.Expires.IsZero() && c.Type.Static() {
			ev := base()
			ev["role"] = s.role.ID
			ev["policy"] = "expiry required"
			a.emit(rules.RuleNoExpiry, id, s, c.ID, "", ev)
		}
		if !c.Expires.IsZero() && c.Expires.After(a.now) && c.Expires.Sub(a.now) <= a.def.ExpiringSoon {
			ev := base()
			ev["days_left"] = days(c.Expires.Sub(a.now) + duration.Day - time.Nanosecond)
			ev["expiring_soon_days"] = days(a.def.ExpiringSoon)
			a.emit(rules.RuleExpiringSoon, id, s, c.ID, "", ev)
		}
	}
	types := make([]string, 0, len(activeByType))
	for t, ids := range activeByType {
		if len(ids) > maxKeys {
			types = append(types, string(t))
		}
	}
	sort.Strings(types)
	for _, t := range types {
		ids := activeByType[nhi.CredentialType(t)]
		sort.Strings(ids)
		// Reported on the oldest key: the one to deactivate.
		oldest := oldestOf(id, ids)
		a.emit(rules.RuleMultipleActiveKeys, id, s, oldest, "", map[string]string{
			"credential_type": t, "active": itoa(len(ids)), "max_active": itoa(maxKeys), "credentials": strings.Join(ids, ","),
		})
	}
}

func oldestOf(id *nhi.Identity, ids []string) string {
	best := ids[0]
	var bt time.Time
	for _, cid := range ids {
		c, _ := id.Credential(cid)
		if c != nil && !c.Created.IsZero() && (bt.IsZero() || c.Created.Before(bt)) {
			best, bt = cid, c.Created
		}
	}
	return best
}
