package analyzer

import (
	"sort"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// exceptions marks findings covered by an unexpired exception as
// suppressed, and counts the exceptions that matched but had expired.
type exceptions struct {
	now    time.Time
	byRule map[string][]*catalog.Exception
}

func (a *analysis) newExceptions() *exceptions {
	x := &exceptions{now: a.now, byRule: map[string][]*catalog.Exception{}}
	for i := range a.cat.Exceptions {
		e := &a.cat.Exceptions[i]
		x.byRule[e.Rule] = append(x.byRule[e.Rule], e)
	}
	return x
}

// expired merges the per-shard counts of exceptions that matched a finding
// but had expired, sorted by id.
func (x *exceptions) expired(shards []map[string]*ExpiredException) []ExpiredException {
	if len(x.byRule) == 0 {
		return nil
	}
	all := map[string]*ExpiredException{}
	for _, m := range shards {
		for id, e := range m {
			if y := all[id]; y != nil {
				y.Findings += e.Findings
			} else {
				all[id] = e
			}
		}
	}
	out := make([]ExpiredException, 0, len(all))
	for _, e := range all {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// apply suppresses f when an unexpired exception selects it (tags are its
// identity's), and otherwise notes, in its evidence and in expired, the
// exceptions that selected it but have expired.
func (x *exceptions) apply(f *nhi.Finding, tags map[string]string, expired map[string]*ExpiredException) {
	exs := x.byRule[f.RuleID]
	if len(exs) == 0 {
		return
	}
	probe := nhi.Identity{ID: f.IdentityID, Provider: f.Provider, Scope: f.Scope, Kind: f.IdentityKind, Name: f.IdentityName, Tags: tags}
	var lapsed []*catalog.Exception
	for _, e := range exs {
		if !e.Selector.Matches(&probe) || (e.Selector.Role != "" && e.Selector.Role != f.RoleID) {
			continue
		}
		if e.Expires.After(x.now) {
			f.Suppressed, f.Exception, f.ExceptionExpires = true, e.ID, e.Expires.UTC()
			return // an expired exception renewed by a valid one is not news
		}
		lapsed = append(lapsed, e)
	}
	for _, e := range lapsed {
		y := expired[e.ID]
		if y == nil {
			y = &ExpiredException{ID: e.ID, Rule: e.Rule, Expires: e.Expires.UTC()}
			expired[e.ID] = y
		}
		y.Findings++
		if f.Evidence == nil {
			f.Evidence = nhi.Evidence{}
		}
		note := e.ID + " expired " + ts(e.Expires)
		if prev := f.Evidence.Get("exception_expired"); prev != "" {
			note = prev + "; " + note
		}
		f.Evidence.Set("exception_expired", note)
	}
}
