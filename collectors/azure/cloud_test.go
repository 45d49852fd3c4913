package azure_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/nhiscan/nhiscan/collectors/azure"
)

// scopeRecorder is a token credential that records the scopes asked for.
type scopeRecorder struct {
	mu     sync.Mutex
	scopes []string
}

func (r *scopeRecorder) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range o.Scopes {
		if !slices.Contains(r.scopes, s) {
			r.scopes = append(r.scopes, s)
		}
	}
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// denyAll answers every request with 403 without any network.
type denyAll struct {
	mu    sync.Mutex
	hosts []string
}

func (d *denyAll) RoundTrip(r *http.Request) (*http.Response, error) {
	d.mu.Lock()
	if !slices.Contains(d.hosts, r.URL.Host) {
		d.hosts = append(d.hosts, r.URL.Host)
	}
	d.mu.Unlock()
	return &http.Response{StatusCode: http.StatusForbidden, Request: r, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"error":{"code":"Authorization_RequestDenied","message":"denied"}}`))}, nil
}

// TestSovereignClouds: each cloud's Graph and ARM endpoints get tokens for
// their own audience; a Graph endpoint override to a known national Graph
// host (US Gov DoD) takes that host's audience.
func TestSovereignClouds(t *testing.T) {
	cases := []struct {
		cloud, graphURL          string
		wantHosts, wantAudiences []string
	}{
		{"public", "", []string{"graph.microsoft.com", "management.azure.com"},
			[]string{"https://graph.microsoft.com/.default", "https://management.core.windows.net//.default"}},
		{"usgovernment", "", []string{"graph.microsoft.us", "management.usgovcloudapi.net"},
			[]string{"https://graph.microsoft.us/.default", "https://management.core.usgovcloudapi.net//.default"}},
		{"usgovernment", "https://dod-graph.microsoft.us", []string{"dod-graph.microsoft.us"},
			[]string{"https://dod-graph.microsoft.us/.default"}},
		{"china", "", []string{"microsoftgraph.chinacloudapi.cn", "management.chinacloudapi.cn"},
			[]string{"https://microsoftgraph.chinacloudapi.cn/.default", "https://management.core.chinacloudapi.cn//.default"}},
	}
	for _, tc := range cases {
		t.Run(tc.cloud+tc.graphURL, func(t *testing.T) {
			rec, tr := &scopeRecorder{}, &denyAll{}
			c, err := azure.New(azure.Config{TenantID: "t1", Cloud: tc.cloud, GraphURL: tc.graphURL, Credential: rec,
				HTTPClient: &http.Client{Transport: tr}, MaxRetries: -1, Subscriptions: []string{"00000000-0000-4000-8000-000000000001"}})
			if err != nil {
				t.Fatal(err)
			}
			_, _ = c.Collect(context.Background())
			for _, h := range tc.wantHosts {
				if !slices.Contains(tr.hosts, h) {
					t.Errorf("no call to %s; called %v", h, tr.hosts)
				}
			}
			for _, a := range tc.wantAudiences {
				if !slices.Contains(rec.scopes, a) {
					t.Errorf("no token for %s; asked %v", a, rec.scopes)
				}
			}
		})
	}
}
