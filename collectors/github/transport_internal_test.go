package github

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	gh "github.com/google/go-github/v89/github"
)

// TestHeldBackCallsKeepTheirRetries: go-github answers a call it holds
// back during a secondary limit with a made-up error (no headers, no
// request). Those waits must not use up the call's own retries.
func TestHeldBackCallsKeepTheirRetries(t *testing.T) {
	c := &api{cfg: Config{MaxRetries: 1, MaxRetryDelay: time.Minute}, log: slog.New(slog.DiscardHandler)}
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
