package revoke

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// intent is what one source asks for one target.
type intent struct {
	target Target
	want   Want
	reason Reason
	facts  []Fact
	// block is set when the source itself may not be acted on yet (a
	// decision of a campaign still open).
	block *Block
	// at orders decisions on one target across campaigns: the latest wins.
	at time.Time
	// usage is set when the intent rests on the target's usage (the
	// dormant policy): its freshness is then checked.
	usage bool
	// ownership is set when the intent rests on the owner (the departed
	// owner policy).
	ownership bool
}

// CampaignInput is one campaign with its items and every decision on
// them.
type CampaignInput struct {
	Campaign  campaign.Campaign
	Items     []campaign.Item
	Decisions []campaign.Decision
}

// campaignIntents turns the campaigns' latest decisions into intents: a
// revoke of an identity or credential, a reduce of grants, and the revoke
// or disable default of an unanswered identity. A later decision on the
// same target in another campaign (a certify) replaces an earlier one. A
// decision of a campaign that is not closed is blocked: it may still be
// superseded.
func campaignIntents(cs []CampaignInput) ([]intent, []string) {
	latest := map[string]intent{}
	certified := map[string]time.Time{}
	var sources []string
	for ci := range cs {
		c := &cs[ci]
		last := campaign.Last(c.Decisions)
		counts := map[string]int{}
		for i := range c.Items {
			it := &c.Items[i]
			d := last[it.ID]
			if d == nil {
				continue
			}
			if d.Kind == campaign.Certify {
				k := (&Target{IdentityID: it.IdentityID, CredentialID: it.CredentialID, GrantID: it.GrantID}).Key()
				if d.At.After(certified[k]) {
					certified[k] = d.At
				}
			}
			for _, in := range decisionIntents(c, it, d) {
				counts[string(in.want)]++
				k := in.target.Key()
				if prev, ok := latest[k]; !ok || !in.at.Before(prev.at) {
					latest[k] = in
				}
			}
		}
		sources = append(sources, campaignSource(&c.Campaign, counts))
	}
	out := make([]intent, 0, len(latest))
	for k, in := range latest {
		// A later certification (in another campaign) supersedes it.
		if at, ok := certified[k]; ok && at.After(in.at) {
			continue
		}
		out = append(out, in)
	}
	return out, sources
}

func campaignSource(c *campaign.Campaign, counts map[string]int) string {
	s := fmt.Sprintf("campaign %d %q (%s)", c.ID, c.Name, c.State)
	var parts []string
	for _, w := range []Want{WantRevoke, WantDisable, WantReduce} {
		if n := counts[string(w)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, w))
		}
	}
	if len(parts) == 0 {
		return s + ": nothing to revoke"
	}
	return s + ": " + strings.Join(parts, ", ")
}

// decisionIntents are the intents of one item's latest decision.
func decisionIntents(c *CampaignInput, it *campaign.Item, d *campaign.Decision) []intent {
	base := Target{Provider: it.Provider, Scope: it.Scope, IdentityID: it.IdentityID, IdentityName: it.IdentityName, IdentityKind: it.IdentityKind}
	ref := fmt.Sprintf("campaign %d item %d decision %d", c.Campaign.ID, it.ID, d.ID)
	fact := Fact{Name: "decision", Value: decisionText(d), Source: fmt.Sprintf("campaign %d", c.Campaign.ID), ScanID: c.Campaign.ScanID, AsOf: d.At}
	mk := func(t Target, w Want, source, text string) intent {
		in := intent{target: t, want: w, at: d.At, facts: []Fact{fact},
			reason: Reason{Source: source, Ref: ref, Text: text}}
		if c.Campaign.State != campaign.StateClosed {
			in.block = &Block{Guard: GuardCampaign, Why: fmt.Sprintf("campaign %d is %s: a later decision may still supersede this one", c.Campaign.ID, c.Campaign.State)}
		}
		return in
	}
	var out []intent
	switch {
	case d.Kind == campaign.Revoke && it.Kind == campaign.KindCredential:
		t := base
		t.CredentialID, t.CredentialType = it.CredentialID, it.CredentialType
		out = append(out, mk(t, WantRevoke, SourceCampaign, "revoked by "+d.Reviewer))
	case d.Kind == campaign.Revoke && it.ParentID == 0:
		out = append(out, mk(base, WantRevoke, SourceCampaign, "revoked by "+d.Reviewer))
	case d.Kind == campaign.Reduce && it.Kind == campaign.KindGrant:
		t := base
		t.GrantID, t.Entitlement = it.GrantID, it.Entitlement
		out = append(out, mk(t, WantReduce, SourceCampaign, "reduced by "+d.Reviewer))
	case d.Kind == campaign.Reduce && it.ParentID == 0:
		for _, g := range d.Grants {
			t := base
			t.GrantID = g
			out = append(out, mk(t, WantReduce, SourceCampaign, "reduced by "+d.Reviewer))
		}
	case d.Kind == campaign.Unanswered && it.ParentID == 0 && d.Default == campaign.DefaultRevoke:
		out = append(out, mk(base, WantRevoke, SourceDefault, "unanswered by the deadline: campaign default revoke"))
	case d.Kind == campaign.Unanswered && it.ParentID == 0 && d.Default == campaign.DefaultDisable:
		out = append(out, mk(base, WantDisable, SourceDefault, "unanswered by the deadline: campaign default disable"))
	}
	return out
}

func decisionText(d *campaign.Decision) string {
	s := string(d.Kind) + " by " + d.Reviewer + " at " + d.At.UTC().Format(time.RFC3339)
	if d.Default != "" {
		s += " (default " + string(d.Default) + ")"
	}
	if len(d.Grants) > 0 {
		s += "; grants " + strings.Join(d.Grants, ", ")
	}
	if d.Justification != "" {
		s += ": " + d.Justification
	}
	return s
}

// policyIntents applies the opt-in policies to the scan's inventory.
// Provider-managed identities are left out: nobody in the organisation
// decides on them.
func (b *builder) policyIntents() ([]intent, []string) {
	p := b.in.Policies
	var sources []string
	if p.Dormant.On {
		sources = append(sources, "policy dormant: credentials unused for more than "+duration.Format(p.Dormant.After))
	}
	if p.DepartedOwner.On {
		sources = append(sources, "policy departed-owner: credentials of identities whose owner left more than "+duration.Format(p.DepartedOwner.After)+" ago")
	}
	if p.Exposed.On {
		sources = append(sources, "policy exposed: credentials the provider reports exposed")
	}
	var out []intent
	for i := range b.inv.Identities {
		id := &b.inv.Identities[i]
		if id.ProviderManaged {
			continue
		}
		departed, left := b.departedOwner(id)
		for j := range id.Credentials {
			c := &id.Credentials[j]
			t := credTarget(id, c)
			if c.ProviderRotated || (c.Status != nhi.StatusActive && !b.containedByPlan(&t, c)) {
				continue
			}
			if p.Dormant.On {
				if in, ok := b.dormant(t, c); ok {
					out = append(out, in)
				}
			}
			if p.DepartedOwner.On && c.Status == nhi.StatusActive && departed != "" && b.in.Now.Sub(left) > p.DepartedOwner.After && c.Type.Static() {
				out = append(out, intent{target: t, want: WantDisable, ownership: true,
					reason: Reason{Source: SourcePolicy, Ref: "policy departed-owner",
						Text: fmt.Sprintf("owner %s left %s, more than %s ago", departed, day(left), duration.Format(p.DepartedOwner.After))},
					facts: []Fact{{Name: "owner", Value: departed + " departed " + day(left), Source: "catalog people", ScanID: b.in.ScanID, AsOf: b.in.Now}}})
			}
			if p.Exposed.On && exposed(c) {
				out = append(out, intent{target: t, want: WantRevoke,
					reason: Reason{Source: SourcePolicy, Ref: "policy exposed", Text: "the provider reports the credential exposed"},
					facts:  []Fact{{Name: "signal", Value: nhi.SignalExposed, Source: string(nhi.CredentialsFacet(c.Type)), ScanID: b.in.ScanID, AsOf: b.inv.CollectedAt}}})
			}
		}
	}
	return out, sources
}

func credTarget(id *nhi.Identity, c *nhi.Credential) Target {
	return Target{Provider: id.Provider, Scope: id.Scope, IdentityID: id.ID, IdentityName: id.Name, IdentityKind: id.Kind,
		NativeID: id.NativeID, CredentialID: c.ID, CredentialType: c.Type}
}

func exposed(c *nhi.Credential) bool {
	return slices.ContainsFunc(c.Signals, func(s nhi.Signal) bool { return s.Code == nhi.SignalExposed })
}

// dormant applies the dormant policy to one active credential: used last
// longer ago than the threshold, or never used and created longer ago.
// Usage the scan could not tell is taken from a live re-read of the one
// credential when there is one; otherwise the credential is not a
// candidate (unknown usage is never "unused").
func (b *builder) dormant(t Target, c *nhi.Credential) (intent, bool) {
	after := b.in.Policies.Dormant.After
	u := b.usage(&t, c.Usage)
	var idle time.Duration
	switch u.State {
	case nhi.UsageUsed:
		idle = b.in.Now.Sub(u.LastUsed)
	case nhi.UsageNeverUsed:
		if c.Created.IsZero() {
			return intent{}, false
		}
		idle = b.in.Now.Sub(c.Created)
	default:
		return intent{}, false
	}
	if idle <= after {
		return intent{}, false
	}
	text := "unused for " + strconv.Itoa(int(idle/duration.Day)) + " days"
	if u.State == nhi.UsageNeverUsed {
		text = "never used in the " + strconv.Itoa(int(idle/duration.Day)) + " days since its creation"
	}
	return intent{target: t, want: WantRevoke, usage: true,
		reason: Reason{Source: SourcePolicy, Ref: "policy dormant", Text: text + " (threshold " + duration.Format(after) + ")"}}, true
}

// departedOwner returns the identity's owner and their leaving date when
// the owner has left.
func (b *builder) departedOwner(id *nhi.Identity) (string, time.Time) {
	o, ok := b.in.Ownership[id.ID]
	if !ok || o.OwnerStatus != nhi.OwnerDeparted || o.Owner == "" || b.in.Catalog == nil {
		return "", time.Time{}
	}
	p, ok := b.in.Catalog.People[strings.ToLower(o.Owner)]
	if !ok || p.Departed.IsZero() {
		return "", time.Time{}
	}
	return p.ID, p.Departed
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// usage is a credential's usage: the scan's, or a live re-read's when the
// scan could not tell and a re-read could.
func (b *builder) usage(t *Target, u nhi.Usage) nhi.Usage {
	if live, ok := b.in.Live[t.Key()]; ok && !u.Known() && live.Exists && live.Usage.Known() {
		return live.Usage
	}
	return u
}

// containedByPlan reports whether a disabled credential is disabled
// because an earlier plan disabled it (verified, not rolled back): the
// policy that asked for it still asks, so its delete stage can follow.
func (b *builder) containedByPlan(t *Target, c *nhi.Credential) bool {
	if c.Status != nhi.StatusDisabled {
		return false
	}
	for _, h := range b.history[t.Key()] {
		if h.Op == OpDisable && h.Verified && !h.RolledBack {
			return true
		}
	}
	return false
}
