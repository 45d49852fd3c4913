package analyzer

import (
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

// signalRules turn provider risk facts into findings.
func (a *analysis) signalRules(id *nhi.Identity, s *subject) {
	ruleFor := map[string]string{
		nhi.SignalMixedUse:        rules.RuleMixedUse,
		nhi.SignalWeakTrust:       rules.RuleWeakTrust,
		nhi.SignalExposed:         rules.RuleExposed,
		nhi.SignalCloudSecretInCI: rules.RuleCloudSecretInCI,
	}
	seen := map[string]bool{}
	for _, sig := range id.Signals {
		if r, ok := ruleFor[sig.Code]; ok && !seen[r] {
			seen[r] = true
			a.emit(r, id, s, on{}, evidence("signal", sig.Code, "detail", sig.Detail))
		}
	}
	for i := range id.Credentials {
		c := &id.Credentials[i]
		if c.Status == nhi.StatusDisabled {
			continue // contained
		}
		seen := map[string]bool{}
		for _, sig := range c.Signals {
			if r, ok := ruleFor[sig.Code]; ok && !seen[r] {
				seen[r] = true
				ev := evidence("signal", sig.Code, "detail", sig.Detail, "credential_type", string(c.Type))
				if !c.Created.IsZero() {
					ev.Set("created", ts(c.Created))
					ev.Set("age_days", days(a.now.Sub(c.Created)))
				}
				a.emit(r, id, s, on{cred: c}, ev)
			}
		}
	}
}
