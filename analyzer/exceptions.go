package analyzer

import (
	"sort"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// applyExceptions marks findings covered by an unexpired exception as
// suppressed and returns the exceptions that matched but had expired.
func (a *analysis) applyExceptions(chunks [][]nhi.Finding) []ExpiredException {
	if len(a.cat.Exceptions) == 0 {
		return nil
	}
	byRule := map[string][]*catalog.Exception{}
	for i := range a.cat.Exceptions {
		e := &a.cat.Exceptions[i]
		byRule[e.Rule] = append(byRule[e.Rule], e)
	}
	expired := map[string]*ExpiredException{}
	for _, fs := range chunks {
		a.applyTo(fs, byRule, expired)
	}
	out := make([]ExpiredException, 0, len(expired))
	for _, x := range expired {
		out = append(out, *x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (a *analysis) applyTo(fs []nhi.Finding, byRule map[string][]*catalog.Exception, expired map[string]*ExpiredException) {
	for i := range fs {
		f := &fs[i]
		exs := byRule[f.RuleID]
		if len(exs) == 0 {
			continue
		}
		probe := nhi.Identity{ID: f.IdentityID, Provider: f.Provider, Scope: f.Scope, Kind: f.IdentityKind, Name: f.IdentityName}
		probe.Tags = a.tagsOf(f.IdentityID)
		var lapsed []*catalog.Exception
		for _, e := range exs {
			if !e.Selector.Matches(&probe) || (e.Selector.Role != "" && e.Selector.Role != f.RoleID) {
				continue
			}
			if e.Expires.After(a.now) {
				f.Suppressed, f.Exception, f.ExceptionExpires = true, e.ID, e.Expires.UTC()
				break
			}
			lapsed = append(lapsed, e)
		}
		if f.Suppressed {
			continue // an expired exception renewed by a valid one is not news
		}
		for _, e := range lapsed {
			x := expired[e.ID]
			if x == nil {
				x = &ExpiredException{ID: e.ID, Rule: e.Rule, Expires: e.Expires.UTC()}
				expired[e.ID] = x
			}
			x.Findings++
			if f.Evidence == nil {
				f.Evidence = map[string]string{}
			}
			note := e.ID + " expired " + ts(e.Expires)
			if prev := f.Evidence["exception_expired"]; prev != "" {
				note = prev + "; " + note
			}
			f.Evidence["exception_expired"] = note
		}
	}
}

// tagsOf is filled by Analyze so exceptions can select on tags.
func (a *analysis) tagsOf(id string) map[string]string { return a.tags[id] }
