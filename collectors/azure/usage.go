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

// lastUse is what a report says of one app or credential: its last
// successful sign-in and its last attempt (failed and partial sign-ins
// included).
type lastUse struct {
	success, attempt time.Time
}

func (u *lastUse) merge(a *signInActivity) {
	if a == nil {
		return
	}
	if t := a.LastSuccessfulSignInDateTime.t; t.After(u.success) {
		u.success = t
	}
	if t := a.LastSignInDateTime.t; t.After(u.attempt) {
		u.attempt = t
	}
}

// signInReport is one beta report as read.
type signInReport struct {
	ok  bool
	why string
	// successes: the report fills lastSuccessfulSignInDateTime (some
	// record has one). Where it does not, the last attempt is all there
	// is, and usage says so.
	successes bool
	uses      map[string]lastUse // appId or keyId, lower case
}

// reportsOff says whether the beta sign-in reports are not called, and
// why: turned off in the configuration, or a national cloud, where they
// do not exist (unless SignInReports turns them on).
func (c *Collector) reportsOff() (bool, string) {
	switch {
	case c.cfg.SkipSignInReports || (c.cfg.SignInReports != nil && !*c.cfg.SignInReports):
		return true, "the sign-in activity reports are turned off in the configuration"
	case c.cfg.SignInReports != nil:
		return false, ""
	}
	if n := nationalCloud(c.cfg); n != "" {
		return true, "the beta sign-in activity reports do not exist in the " + n + " cloud"
	}
	return false, ""
}

// collectSignIns reads the two beta usage reports, each on its own: one
// missing leaves the other's usage known.
func (c *Collector) collectSignIns(ctx context.Context, d *entraData, fails *failures) {
	t := c.cfg.TenantID
	if off, why := c.reportsOff(); off {
		d.spReport.why, d.credReport.why = why, why
		err := skipped(why)
		fails.add(opSPSignIns, t, err)
		fails.add(opCredSignIns, t, err)
		return
	}
	parallel(
		func() { c.readSPSignIns(ctx, d, fails) },
		func() { c.readCredSignIns(ctx, d, fails) },
	)
}

// readSPSignIns reads the last sign-ins of every app as client and as
// resource; only client sign-ins are its own use.
func (c *Collector) readSPSignIns(ctx context.Context, d *entraData, fails *failures) {
	v := url.Values{"$top": {"999"}}
	r := signInReport{uses: map[string]lastUse{}}
	err := list(ctx, c.graph, opSPSignIns, "/beta/reports/servicePrincipalSignInActivities"+q(v), func(s spSignIn) {
		k := strings.ToLower(s.AppID)
		u := r.uses[k]
		for _, a := range []*signInActivity{s.AppAuthClient, s.DelegatedClient} {
			u.merge(a)
			r.successes = r.successes || (a != nil && !a.LastSuccessfulSignInDateTime.t.IsZero())
		}
		r.uses[k] = u
	})
	if err != nil {
		d.spReport.why = "servicePrincipalSignInActivities could not be read: " + collectors.Detail(err)
		fails.add(opSPSignIns, c.cfg.TenantID, err)
		return
	}
	r.ok = true
	d.spReport = r
}

// readCredSignIns reads the last sign-in with every secret and
// certificate.
func (c *Collector) readCredSignIns(ctx context.Context, d *entraData, fails *failures) {
	v := url.Values{"$top": {"999"}}
	r := signInReport{uses: map[string]lastUse{}}
	err := list(ctx, c.graph, opCredSignIns, "/beta/reports/appCredentialSignInActivities"+q(v), func(s credSignIn) {
		k := strings.ToLower(s.KeyID)
		u := r.uses[k]
		u.merge(s.SignInActivity)
		r.successes = r.successes || (s.SignInActivity != nil && !s.SignInActivity.LastSuccessfulSignInDateTime.t.IsZero())
		r.uses[k] = u
	})
	if err != nil {
		d.credReport.why = "appCredentialSignInActivities could not be read: " + collectors.Detail(err)
		fails.add(opCredSignIns, c.cfg.TenantID, err)
		return
	}
	r.ok = true
	d.credReport = r
}

// attemptOnly is the reason given when a report has the last attempt of a
// sign-in but not whether it succeeded.
const attemptOnly = "last sign-in attempt: the report gives no successful sign-in time, and the attempt may have failed"

// usage turns what a report says of one app or credential into usage.
// A failed attempt is never use: where the report has successful sign-ins,
// only they count; where it has only attempts, the attempt is the last use
// and the reason says so.
func (r signInReport) usage(now time.Time, u lastUse, source, none string) nhi.Usage {
	last, reason := u.success, ""
	if !r.successes {
		last, reason = u.attempt, attemptOnly
	} else if u.attempt.After(u.success) {
		reason = "a later sign-in attempt on " + u.attempt.Format(time.RFC3339) + " did not succeed"
	}
	if last.IsZero() {
		if !u.attempt.IsZero() {
			none = "no successful sign-in; the last attempt, on " + u.attempt.Format(time.RFC3339) + ", did not succeed"
		}
		return nhi.Usage{State: nhi.UsageNeverUsed, Source: source, AsOf: now, Reason: none}
	}
	return nhi.Usage{State: nhi.UsageUsed, LastUsed: last, Source: source, AsOf: now, Reason: reason}
}

// credUsage is a secret's or certificate's last use. A credential the
// report does not list is not reported, never "never used": the report's
// absence of a record is not a record of no use.
func credUsage(now time.Time, ed *entraData, keyID string) nhi.Usage {
	r := ed.credReport
	if !r.ok {
		return nhi.Usage{State: nhi.UsageUnknown, Source: sourceCredSignIns, Reason: r.why}
	}
	u, listed := r.uses[strings.ToLower(keyID)]
	if !listed {
		return nhi.Usage{State: nhi.UsageNotReported, Source: sourceCredSignIns, AsOf: now,
			Reason: "appCredentialSignInActivities has no record of this credential"}
	}
	return r.usage(now, u, sourceCredSignIns, "no sign-in with this credential in appCredentialSignInActivities")
}

// identityUsage is the last sign-in of an app as a client (with its own
// credentials or on behalf of users). Sign-ins to it as a resource are not
// its own use.
func (c *Collector) identityUsage(now time.Time, ed *entraData, appID string, managed bool) nhi.Usage {
	r := ed.spReport
	if !r.ok {
		return nhi.Usage{State: nhi.UsageUnknown, Source: sourceSignIns, Reason: r.why}
	}
	u := r.uses[strings.ToLower(appID)]
	if managed && u.attempt.IsZero() && u.success.IsZero() {
		return nhi.Usage{State: nhi.UsageUnknown, Source: sourceSignIns,
			Reason: "managed identity sign-ins may be missing from servicePrincipalSignInActivities"}
	}
	return r.usage(now, u, sourceSignIns, "no client sign-in in servicePrincipalSignInActivities")
}
