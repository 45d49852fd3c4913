package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gh "github.com/google/go-github/v89/github"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestGapSetOrderIndependent: concurrent calls fail in any order; the
// aggregated gap (kind, detail, permission) must not depend on which
// failure arrived first, or two scans of the same state differ.
func TestGapSetOrderIndependent(t *testing.T) {
	errs := []error{
		fmt.Errorf("GET repos/acme/b/keys: %w", collectors.ErrThrottled),
		fmt.Errorf("GET repos/acme/a/keys: status 403: %w", collectors.ErrDenied),
		errors.New("GET repos/acme/c/keys: connection reset"),
	}
	var got [][]any
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 2, 0}} {
		g := &gapSet{scope: "acme"}
		for _, i := range order {
			g.add(opListDeployKeys, errs[i], false)
		}
		l := g.list()
		if len(l) != 1 {
			t.Fatalf("gaps = %+v", l)
		}
		got = append(got, []any{l[0].Kind, l[0].Detail, l[0].Permission})
	}
	for i := 1; i < len(got); i++ {
		if diff := cmp.Diff(got[0], got[i]); diff != "" {
			t.Errorf("order %d aggregates differently (-first +this):\n%s", i, diff)
		}
	}
}

// TestHeldBackCallsKeepTheirRetries: go-github answers a call it holds
// back during a secondary limit with a made-up error (no headers, no
// request). Those waits must not use up the call's own retries.
func TestHeldBackCallsKeepTheirRetries(t *testing.T) {
	c := &Collector{cfg: Config{MaxRetries: 1, MaxRetryWait: time.Minute}, log: slog.New(slog.DiscardHandler)}
	wait := time.Millisecond
	calls := 0
	_, err := c.do(context.Background(), func() (*gh.Response, error) {
		calls++
		if calls <= 3 {
			fake := &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{}}
			return &gh.Response{Response: fake}, &gh.AbuseRateLimitError{Response: fake, RetryAfter: &wait}
		}
		return &gh.Response{}, nil
	})
	if err != nil || calls != 4 {
		t.Errorf("after 3 held-back answers: %d calls, error %v; want success on the 4th", calls, err)
	}

	calls = 0
	_, err = c.do(context.Background(), func() (*gh.Response, error) {
		calls++
		real := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"0"}}}
		return &gh.Response{Response: real}, &gh.AbuseRateLimitError{Response: real, RetryAfter: &wait}
	})
	if err == nil || calls != 2 {
		t.Errorf("real throttles: %d calls, error %v; want give-up after MaxRetries+1 = 2", calls, err)
	}
}

func TestCloudSecretClassification(t *testing.T) {
	c, err := New(Config{Orgs: []string{"a"}, TokenEnv: "PATH"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"AWS_ACCESS_KEY_ID":              "aws",
		"PROD_AWS_SECRET_ACCESS_KEY":     "aws",
		"AZURE_CLIENT_SECRET":            "azure",
		"ARM_CLIENT_SECRET":              "azure",
		"GCP_SA_KEY":                     "gcp",
		"GOOGLE_CREDENTIALS":             "gcp",
		"ALARM_GCP_SA_KEY":               "gcp", // "ARM_" inside a word is not Azure
		"DRAWSTRING_GOOGLE_CREDENTIALS":  "gcp", // nor is "AWS" inside a word
		"NPM_TOKEN":                      "",
		"GOOGLE_APPLICATION_CREDENTIALS": "gcp",
	} {
		if got, _ := c.cloudSecret(name); got != want {
			t.Errorf("%s: cloud %q, want %q", name, got, want)
		}
	}
}

func TestCloudSecretAgeWithoutDates(t *testing.T) {
	c, err := New(Config{Orgs: []string{"a"}, TokenEnv: "PATH"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	d := &orgData{}
	id := c.actionsIdentity(now, "github:actions:repo:1", "1", "a/r", "a", "a/r", nil, d, []apiSecret{
		{Name: "AWS_ACCESS_KEY_ID"},
		{Name: "GCP_SA_KEY", CreatedAt: now.AddDate(0, 0, -30)},
	}, nil)
	aws, gcp := id.Credentials[0], id.Credentials[1]
	if _, ok := aws.Attributes["age_days"]; ok || len(aws.Signals) != 1 || !aws.Created.IsZero() {
		t.Errorf("secret without dates: age %q, signals %v, created %v; want no age, the signal, zero created", aws.Attributes["age_days"], aws.Signals, aws.Created)
	}
	if _, ok := aws.Attributes["updated_at"]; ok {
		t.Errorf("zero updated_at printed as %q", aws.Attributes["updated_at"])
	}
	if gcp.Attributes["age_days"] != "30" || !gcp.Created.Equal(now.AddDate(0, 0, -30)) {
		t.Errorf("secret with created_at only: age %q, created %v; want 30 days from created_at", gcp.Attributes["age_days"], gcp.Created)
	}
}

func TestPlainThrottleIsThrottled(t *testing.T) {
	plain := &gh.ErrorResponse{Response: &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{}}, Message: "Too Many Requests"}
	if kind, _ := classify(plain); kind != nhi.GapThrottled {
		t.Errorf("plain 429 classified %q, want throttled", kind)
	}
	if err := actErr("x", plain); !errors.Is(err, collectors.ErrThrottled) {
		t.Errorf("plain 429 in a control: %v, want ErrThrottled", err)
	}
	denied := &gh.ErrorResponse{Response: &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{}}, Message: "Resource not accessible by integration"}
	if kind, _ := classify(denied); kind != nhi.GapDenied {
		t.Errorf("403 without Retry-After classified %q, want denied", kind)
	}
}
