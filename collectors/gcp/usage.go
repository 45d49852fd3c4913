package gcp

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	apikeys "google.golang.org/api/apikeys/v2"
	iam "google.golang.org/api/iam/v1"
	policyanalyzer "google.golang.org/api/policyanalyzer/v1"
	storage "google.golang.org/api/storage/v1"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Policy Analyzer activity types.
const (
	actSA  = "serviceAccountLastAuthentication"
	actKey = "serviceAccountKeyLastAuthentication"
)

// collectUsage reads Policy Analyzer activities and API keys per project
// that holds service accounts.
func (c *Collector) collectUsage(ctx context.Context, s *scan) {
	s.mu.Lock()
	has := map[string]int{}
	for _, a := range s.accounts {
		has[a.project]++
		if _, ok := s.projects[a.project]; !ok && a.project != "" {
			// An account whose project no listing described: read its
			// usage all the same rather than call it unused.
			s.projects[a.project] = &project{id: a.project}
			s.scopes[a.project] = ""
		}
	}
	var projects []*project
	for id, p := range s.projects {
		if has[id] > 0 {
			projects = append(projects, p)
		}
	}
	s.mu.Unlock()
	sort.Slice(projects, func(i, j int) bool { return projects[i].id < projects[j].id })
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.Concurrency)
	var done atomic.Int64
	for _, p := range projects {
		g.Go(func() error {
			c.projectUsage(gctx, s, p)
			c.cfg.Progress.Report(collectors.ScopeDone{Provider: nhi.GCP, Scope: p.id, Phase: "usage",
				Identities: has[p.id], Gaps: s.gaps.Count(p.id), Done: int(done.Add(1)), Total: len(projects)})
			return nil
		})
	}
	_ = g.Wait()
	shareObservationPeriod(projects)
}

// shareObservationPeriod dates the usage of projects whose queries
// returned no activity at all, and so no observation period. Activity
// Analyzer observes every project over the same period, so take it from
// the others; when no project reported one, the as-of stays unknown rather
// than being made up from the clock.
func shareObservationPeriod(projects []*project) {
	var start, end time.Time
	for _, p := range projects {
		if !p.obsEnd.IsZero() && p.obsEnd.After(end) {
			end = p.obsEnd
		}
		if !p.obsStart.IsZero() && (start.IsZero() || p.obsStart.Before(start)) {
			start = p.obsStart
		}
	}
	for _, p := range projects {
		if p.obsEnd.IsZero() && p.usageErr == "" {
			p.obsStart, p.obsEnd = start, end
		}
	}
}

func (c *Collector) projectUsage(ctx context.Context, s *scan, p *project) {
	saLast, keyLast := map[string]time.Time{}, map[string]time.Time{}
	var start, end time.Time
	usageErr := ""
	if c.cfg.SkipUsage {
		usageErr = "usage collection is switched off (skip_usage)"
	} else if err := c.queryActivity(ctx, p.id, saLast, keyLast, &start, &end); err != nil {
		c.fail(s, p.id, opQueryActivity, err, "last authentication of "+p.id+" unknown")
		usageErr = "Activity Analyzer could not be read (" + opQueryActivity + ")"
	}
	keys, err := c.listAPIKeys(ctx, p.id)
	if err != nil {
		c.fail(s, p.id, opListAPIKeys, err, "API keys bound to service accounts unknown, so the API-key usage blind spot cannot be ruled out")
	}
	var ins map[string]insight
	recErr := ""
	if !c.cfg.SkipRecommender {
		var ierr error
		if ins, ierr = c.listInsights(ctx, p.id); ierr != nil {
			c.fail(s, p.id, opListInsights, ierr, "policy insights of "+p.id+" unknown")
			ins, recErr = nil, "the IAM recommender's policy insights could not be read ("+opListInsights+")"
		}
	}
	recs := c.projectRecommendations(ctx, s, p.id)
	hmac, herr := c.listHMACKeys(ctx, p.id)
	if herr != nil {
		c.fail(s, p.id, opListHMACKeys, herr, "HMAC keys unknown, so the HMAC-key usage blind spot cannot be ruled out")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p.hmacKeys, p.hasHMACFor = hmac, map[string]bool{}
	for _, k := range hmac {
		if k.State == "ACTIVE" {
			p.hasHMACFor[strings.ToLower(k.ServiceAccountEmail)] = true
		}
	}
	if herr != nil {
		p.hmacErr = "HMAC keys of " + p.id + " could not be listed, so Cloud Storage use through an HMAC key (an Activity Analyzer blind spot) cannot be ruled out"
	}
	if err != nil {
		p.apiKeysErr = "API keys of " + p.id + " could not be listed, so use through a bound API key (an Activity Analyzer blind spot) cannot be ruled out"
	}
	p.usageErr = usageErr
	p.insights, p.recErr, p.recommendations = ins, recErr, recs
	p.saLast, p.keyLast, p.obsStart, p.obsEnd = saLast, keyLast, start, end
	p.apiKeys = keys
	p.hasAPIKeyFor = map[string]bool{}
	for _, k := range keys {
		if k.ServiceAccountEmail != "" && k.DeleteTime == "" {
			p.hasAPIKeyFor[strings.ToLower(k.ServiceAccountEmail)] = true
		}
	}
}

// projectRecommendations reads a project's role recommendations unless
// the recommender is skipped; a failed list is a gap on the recommender
// facet of the project, and no recommendation is attached (nil).
func (c *Collector) projectRecommendations(ctx context.Context, s *scan, proj string) map[string]*nhi.GrantRecommendation {
	if c.cfg.SkipRecommender {
		return nil
	}
	recs, err := c.listRecommendations(ctx, proj)
	if err != nil {
		c.fail(s, proj, opListRecommendations, err, "role recommendations of "+proj+" unknown")
		return nil
	}
	return recs
}

// queryActivity reads both last-authentication activity types of a
// project and widens [start, end] to their observation period.
func (c *Collector) queryActivity(ctx context.Context, proj string, saLast, keyLast map[string]time.Time, start, end *time.Time) error {
	for _, typ := range []string{actSA, actKey} {
		parent := "projects/" + proj + "/locations/global/activityTypes/" + typ
		err := c.pages(ctx, func(ctx context.Context, token string) (string, error) {
			resp, err := c.pa.Projects.Locations.ActivityTypes.Activities.Query(parent).PageSize(1000).PageToken(token).Context(ctx).Do()
			if err != nil {
				return "", err
			}
			for _, a := range resp.Activities {
				st, en := observation(a.ObservationPeriod)
				if start.IsZero() || st.Before(*start) {
					*start = st
				}
				if en.After(*end) {
					*end = en
				}
				readActivity(a, saLast, keyLast)
			}
			return resp.NextPageToken, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// listAPIKeys lists a project's API keys (their metadata: the key string
// is never requested).
func (c *Collector) listAPIKeys(ctx context.Context, proj string) ([]*apikeys.V2Key, error) {
	var keys []*apikeys.V2Key
	err := c.pages(ctx, func(ctx context.Context, token string) (string, error) {
		resp, err := c.keys.Projects.Locations.Keys.List("projects/" + proj + "/locations/global").PageSize(300).PageToken(token).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		keys = append(keys, resp.Keys...)
		return resp.NextPageToken, nil
	})
	return keys, err
}

// listHMACKeys lists a project's Cloud Storage HMAC keys (their metadata:
// the list never carries a secret), without the deleted ones.
func (c *Collector) listHMACKeys(ctx context.Context, proj string) ([]*storage.HmacKeyMetadata, error) {
	var keys []*storage.HmacKeyMetadata
	err := c.pages(ctx, func(ctx context.Context, token string) (string, error) {
		resp, err := c.gcs.Projects.HmacKeys.List(proj).MaxResults(250).PageToken(token).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		keys = append(keys, resp.Items...)
		return resp.NextPageToken, nil
	})
	return keys, err
}

func observation(o *policyanalyzer.GoogleCloudPolicyanalyzerV1ObservationPeriod) (time.Time, time.Time) {
	if o == nil {
		return time.Time{}, time.Time{}
	}
	return parseTime(o.StartTime), parseTime(o.EndTime)
}

// readActivity records one activity's last authentication.
func readActivity(a *policyanalyzer.GoogleCloudPolicyanalyzerV1Activity, saLast, keyLast map[string]time.Time) {
	var d struct {
		LastAuthenticatedTime string `json:"lastAuthenticatedTime"`
		ServiceAccount        *struct {
			FullResourceName string `json:"fullResourceName"`
			ServiceAccountID string `json:"serviceAccountId"`
		} `json:"serviceAccount"`
		ServiceAccountKey *struct {
			FullResourceName string `json:"fullResourceName"`
			ServiceAccountID string `json:"serviceAccountId"`
		} `json:"serviceAccountKey"`
	}
	if json.Unmarshal(a.Activity, &d) != nil {
		return
	}
	t := day(parseTime(d.LastAuthenticatedTime))
	if t.IsZero() {
		return
	}
	switch {
	case d.ServiceAccount != nil:
		// The account's unique id; without it, the last part of its full
		// resource name (an email or a unique id), which accountLast
		// looks up too.
		id := d.ServiceAccount.ServiceAccountID
		if id == "" {
			name := d.ServiceAccount.FullResourceName
			if name == "" {
				name = a.FullResourceName
			}
			id = strings.ToLower(name[strings.LastIndex(name, "/")+1:])
		}
		if t.After(saLast[id]) {
			saLast[id] = t
		}
	case d.ServiceAccountKey != nil:
		name := d.ServiceAccountKey.FullResourceName
		if name == "" {
			name = a.FullResourceName
		}
		id := keyID(name)
		if t.After(keyLast[id]) {
			keyLast[id] = t
		}
	}
}

// day returns the day of t, at midnight UTC. Activity Analyzer reports
// the day of the last authentication, not its time (its timestamps are the
// start of a day in Pacific time), so the collector keeps the day only.
func day(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// usedCaveat qualifies every last use Activity Analyzer reports: it is
// the day, and failed authentication attempts count (a call that was
// denied, or named a resource that does not exist, is an authentication
// too).
const usedCaveat = "day precision: Activity Analyzer reports the day of the last authentication, and counts failed attempts too"

// accountLast returns the last authentication recorded for an account, by
// unique id or, for activities that named it only by email, by email.
func (p *project) accountLast(sa *iam.ServiceAccount) (time.Time, bool) {
	last, seen := p.saLast[sa.UniqueId]
	if t, ok := p.saLast[strings.ToLower(sa.Email)]; ok && t.After(last) {
		last, seen = t, true
	}
	return last, seen
}

// parseTime parses an RFC 3339 time; empty or invalid gives zero.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
