package github

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v89/github"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

func ghErr(status int, hdr http.Header, msg string) error {
	if hdr == nil {
		hdr = http.Header{}
	}
	return &gh.ErrorResponse{Response: &http.Response{StatusCode: status, Header: hdr}, Message: msg}
}

// TestTranslateGapKinds: every failure of a read comes out as the gap kind
// collectors.GapKind gives its translation: timeouts as timeout, rate
// limits past the retries as throttled, a cancelled scan as unavailable.
func TestTranslateGapKinds(t *testing.T) {
	wait := time.Second
	for name, tc := range map[string]struct {
		err  error
		want nhi.GapKind
	}{
		"403":                   {ghErr(http.StatusForbidden, nil, "Resource not accessible by integration"), nhi.GapDenied},
		"401":                   {ghErr(http.StatusUnauthorized, nil, "Bad credentials"), nhi.GapDenied},
		"404 hides":             {ghErr(http.StatusNotFound, nil, "Not Found"), nhi.GapDenied},
		"500":                   {ghErr(http.StatusInternalServerError, nil, ""), nhi.GapUnavailable},
		"502":                   {ghErr(http.StatusBadGateway, nil, ""), nhi.GapUnavailable},
		"504":                   {ghErr(http.StatusGatewayTimeout, nil, ""), nhi.GapTimeout},
		"422":                   {ghErr(http.StatusUnprocessableEntity, nil, "Validation Failed"), nhi.GapError},
		"plain 429":             {ghErr(http.StatusTooManyRequests, nil, "Too Many Requests"), nhi.GapThrottled},
		"403 with Retry-After":  {ghErr(http.StatusForbidden, http.Header{"Retry-After": {"60"}}, "slow down"), nhi.GapThrottled},
		"secondary rate limit":  {&gh.AbuseRateLimitError{Response: &http.Response{StatusCode: 429}, RetryAfter: &wait}, nhi.GapThrottled},
		"primary rate limit":    {&gh.RateLimitError{Response: &http.Response{StatusCode: 403}}, nhi.GapThrottled},
		"graphql refusal":       {fmt.Errorf("graphql forbidden: %w", collectors.ErrDenied), nhi.GapDenied},
		"client timeout":        {&url.Error{Op: "Get", URL: "https://api.github.com/x", Err: &net.DNSError{IsTimeout: true}}, nhi.GapTimeout},
		"i/o timeout":           {&url.Error{Op: "Get", URL: "https://api.github.com/x", Err: &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}}, nhi.GapTimeout},
		"deadline":              {context.DeadlineExceeded, nhi.GapTimeout},
		"cancelled":             {context.Canceled, nhi.GapUnavailable},
		"app token unavailable": {&url.Error{Op: "Get", URL: "u", Err: fmt.Errorf("create installation token: status 503: %w", collectors.ErrUnavailable)}, nhi.GapUnavailable},
		"connection reset":      {errors.New("connection reset by peer"), nhi.GapError},
	} {
		if got := collectors.GapKind(translate(tc.err)); got != tc.want {
			t.Errorf("%s: %v is %q, want %q", name, translate(tc.err), got, tc.want)
		}
	}
	if translate(nil) != nil {
		t.Error("translate(nil) is not nil")
	}
}

// TestActErr: in a credential control a 404 means the target is gone, and
// a refusal or a rate limit keeps its sentinel.
func TestActErr(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want error
	}{
		"404":       {ghErr(http.StatusNotFound, nil, "Not Found"), collectors.ErrNotFound},
		"403":       {ghErr(http.StatusForbidden, nil, "Resource not accessible by integration"), collectors.ErrDenied},
		"plain 429": {ghErr(http.StatusTooManyRequests, nil, "Too Many Requests"), collectors.ErrThrottled},
	} {
		if err := actErr("x", tc.err); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if err := actErr("x", ghErr(http.StatusNotFound, nil, "")); errors.Is(err, collectors.ErrDenied) {
		t.Errorf("a control's 404 is a refusal: %v", err)
	}
}

// TestOpsTable: every operation the collector records has a permission
// and valid facets; only the organisation and the App's authentication
// there hide the whole organisation.
func TestOpsTable(t *testing.T) {
	for op, info := range ops {
		if info.Permission == "" {
			t.Errorf("%s: no permission", op)
		}
		if whole := op == opGetOrg || op == opGetInstallation || op == opCreateToken; (len(info.Facets) == 0) != whole {
			t.Errorf("%s: facets %v", op, info.Facets)
		}
		for _, f := range info.Facets {
			if !f.Valid() {
				t.Errorf("%s: invalid facet %q", op, f)
			}
		}
	}
}

// TestErrorBodiesReduced: of an error answer only the status, the error
// code and a short message survive translation, and a credential the
// server echoed in its message is redacted.
func TestErrorBodiesReduced(t *testing.T) {
	const canary = "ghp_plantedCanaryValue0123456789abcdef"
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiI0MjQyNDIifQ.c2lnbmF0dXJl"
	long := strings.Repeat("word ", 60)
	for name, er := range map[string]*gh.ErrorResponse{
		"403 echoing a token": {Response: &http.Response{StatusCode: 403}, Message: "Bad credentials: " + canary},
		"401 echoing a JWT":   {Response: &http.Response{StatusCode: 401}, Message: "A JSON web token could not be decoded " + jwt},
		"422 with a secret":   {Response: &http.Response{StatusCode: 422}, Message: "Validation Failed: value=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5", Errors: []gh.Error{{Code: "invalid", Message: canary}}},
		"long message":        {Response: &http.Response{StatusCode: 403}, Message: long},
	} {
		got := translate(er).Error()
		for _, leak := range []string{canary, jwt, "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5", long} {
			if strings.Contains(got, leak) {
				t.Errorf("%s: %q keeps %.12s…", name, got, leak)
			}
		}
		if len(got) > 160 {
			t.Errorf("%s: %d bytes: %q", name, len(got), got)
		}
	}
	if got := translate(ghErr(http.StatusForbidden, nil, "Resource not accessible by personal access token")).Error(); !strings.Contains(got, "Resource not accessible by personal access token") {
		t.Errorf("an ordinary message is lost: %q", got)
	}
	if got := translate(&gh.ErrorResponse{Response: &http.Response{StatusCode: 422}, Message: "Validation Failed", Errors: []gh.Error{{Code: "already_exists"}}}).Error(); got != "status 422: already_exists: Validation Failed" {
		t.Errorf("422 = %q, want the status, the error code and the message", got)
	}
}
