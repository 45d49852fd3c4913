package azure

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Usage sources.
const (
	sourceSignIns     = "signin-report"
	sourceCredSignIns = "credential-signin-report"
)

// collectSignIns reads the two beta usage reports, each on its own: one
// missing leaves the other's usage known.
func (c *Collector) collectSignIns(ctx context.Context, d *entraData, fails *failures) {
	t := c.cfg.TenantID
	if c.cfg.SkipSignInReports {
		why := "sign-in activity reports are turned off in the configuration"
		d.signInsWhy, d.credSignInsWhy = why, why
		fails.add(opSPSignIns, t, errSkipped)
		fails.add(opCredSignIns, t, errSkipped)
		return
	}
	parallel(
		func() { c.readSPSignIns(ctx, d, fails) },
		func() { c.readCredSignIns(ctx, d, fails) },
	)
}

// readSPSignIns reads the last sign-ins of every app as client and as
// resource.
func (c *Collector) readSPSignIns(ctx context.Context, d *entraData, fails *failures) {
	v := url.Values{"$top": {"999"}}
	sps := map[string]spSignIn{}
	err := list(ctx, c.graph, opSPSignIns, "/beta/reports/servicePrincipalSignInActivities"+q(v), func(s spSignIn) {
		k := strings.ToLower(s.AppID)
		if old, ok := sps[k]; ok {
			s = mergeSignIn(old, s)
		}
		sps[k] = s
	})
	if err != nil {
		d.signInsWhy = "servicePrincipalSignInActivities could not be read: " + collectors.Detail(err)
		fails.add(opSPSignIns, c.cfg.TenantID, err)
		return
	}
	d.signInsOK, d.spSignIns = true, sps
}

// readCredSignIns reads the last sign-in with every secret and
// certificate.
func (c *Collector) readCredSignIns(ctx context.Context, d *entraData, fails *failures) {
	v := url.Values{"$top": {"999"}}
	creds := map[string]time.Time{}
	err := list(ctx, c.graph, opCredSignIns, "/beta/reports/appCredentialSignInActivities"+q(v), func(s credSignIn) {
		k := strings.ToLower(s.KeyID)
		if s.SignInActivity != nil && s.SignInActivity.LastSignInDateTime.t.After(creds[k]) {
			creds[k] = s.SignInActivity.LastSignInDateTime.t
		}
	})
	if err != nil {
		d.credSignInsWhy = "appCredentialSignInActivities could not be read: " + collectors.Detail(err)
		fails.add(opCredSignIns, c.cfg.TenantID, err)
		return
	}
	d.credSignInsOK, d.credSignIn = true, creds
}

func mergeSignIn(a, b spSignIn) spSignIn {
	pick := func(x, y *signInActivity) *signInActivity {
		if x == nil || (y != nil && y.LastSignInDateTime.t.After(x.LastSignInDateTime.t)) {
			return y
		}
		return x
	}
	a.AppAuthClient = pick(a.AppAuthClient, b.AppAuthClient)
	a.DelegatedClient = pick(a.DelegatedClient, b.DelegatedClient)
	a.AppAuthResource = pick(a.AppAuthResource, b.AppAuthResource)
	a.DelegatedResource = pick(a.DelegatedResource, b.DelegatedResource)
	a.LastSignInActivity = pick(a.LastSignInActivity, b.LastSignInActivity)
	return a
}

func credUsage(now time.Time, ed *entraData, keyID string) nhi.Usage {
	if !ed.credSignInsOK {
		return nhi.Usage{State: nhi.UsageUnknown, Source: sourceCredSignIns, Reason: ed.credSignInsWhy}
	}
	k := strings.ToLower(keyID)
	if t := ed.credSignIn[k]; !t.IsZero() {
		return nhi.Usage{State: nhi.UsageUsed, LastUsed: t, Source: sourceCredSignIns, AsOf: now}
	}
	return nhi.Usage{State: nhi.UsageNeverUsed, Source: sourceCredSignIns, AsOf: now,
		Reason: "no sign-in with this credential in appCredentialSignInActivities"}
}

// identityUsage is the last sign-in of an app as a client (with its own
// credentials or on behalf of users). Sign-ins to it as a resource are not
// its own use.
func (c *Collector) identityUsage(now time.Time, ed *entraData, appID string, managed bool) nhi.Usage {
	if !ed.signInsOK {
		return nhi.Usage{State: nhi.UsageUnknown, Source: sourceSignIns, Reason: ed.signInsWhy}
	}
	s, ok := ed.spSignIns[strings.ToLower(appID)]
	var last time.Time
	if ok {
		for _, a := range []*signInActivity{s.AppAuthClient, s.DelegatedClient} {
			if a != nil && a.LastSignInDateTime.t.After(last) {
				last = a.LastSignInDateTime.t
			}
		}
	}
	switch {
	case !last.IsZero():
		return nhi.Usage{State: nhi.UsageUsed, LastUsed: last, Source: sourceSignIns, AsOf: now}
	case managed:
		return nhi.Usage{State: nhi.UsageUnknown, Source: sourceSignIns,
			Reason: "managed identity sign-ins may be missing from servicePrincipalSignInActivities"}
	}
	return nhi.Usage{State: nhi.UsageNeverUsed, Source: sourceSignIns, AsOf: now,
		Reason: "no client sign-in in servicePrincipalSignInActivities"}
}
