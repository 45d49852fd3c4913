package azure_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"

	"github.com/nhiscan/nhiscan/collectors/azure"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestNextLinkStaysOnGraph: a nextLink naming another host is followed on
// the configured Graph endpoint; the bearer token never goes elsewhere.
func TestNextLinkStaysOnGraph(t *testing.T) {
	var mu sync.Mutex
	var foreign int
	var pages []string
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		foreign++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"value":[]}`)
	}))
	defer other.Close()
	graph := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/v1.0/applications" {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"error":{"code":"Authorization_RequestDenied","message":"denied"}}`)
			return
		}
		mu.Lock()
		pages = append(pages, r.URL.RawQuery)
		mu.Unlock()
		if r.URL.Query().Get("$skiptoken") == "" {
			fmt.Fprintf(w, `{"value":[{"id":"a1","appId":"c1","displayName":"one"}],"@odata.nextLink":%q}`,
				other.URL+"/v1.0/applications?$skiptoken=p2")
			return
		}
		fmt.Fprint(w, `{"value":[{"id":"a2","appId":"c2","displayName":"two"}]}`)
	}))
	defer graph.Close()
	inv := collectFrom(t, graph)
	mu.Lock()
	defer mu.Unlock()
	if foreign != 0 {
		t.Errorf("%d requests (with the bearer token) went to the host named in nextLink", foreign)
	}
	names := map[string]bool{}
	for _, id := range inv.Identities {
		names[id.Name] = true
	}
	if !names["one"] || !names["two"] || !strings.Contains(strings.Join(pages, " "), "skiptoken=p2") {
		t.Errorf("second page not read from the Graph endpoint: identities %v, queries %q", names, pages)
	}
}

// TestEmptyAnswerIsAGap: a 200 with no body (a broken proxy) is not an
// empty directory: the call is a gap, never an observed empty list.
func TestEmptyAnswerIsAGap(t *testing.T) {
	graph := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1.0/servicePrincipals" {
			w.WriteHeader(http.StatusOK) // no body
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"value":[]}`)
	}))
	defer graph.Close()
	inv := collectFrom(t, graph)
	if g, ok := gapIn(inv, "t1", "graph:servicePrincipals.list"); !ok || g.Kind != nhi.GapUnavailable {
		t.Errorf("empty answer: gap %+v (found %t), want unavailable", g, ok)
	}
}

// collectFrom scans tenant t1, with subscription s1, against a test
// server standing for both Graph and ARM, without retries.
func collectFrom(t *testing.T, srv *httptest.Server) nhi.Inventory {
	t.Helper()
	c, err := azure.New(azure.Config{TenantID: "t1", GraphURL: srv.URL, ResourceManagerURL: srv.URL,
		Subscriptions: []string{"s1"}, Credential: &azfake.TokenCredential{}, HTTPClient: srv.Client(), MaxRetries: -1,
		Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := c.Collect(t.Context())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return inv
}
