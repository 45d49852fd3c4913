package github_test

import (
	"context"
	"testing"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestInspect: the re-read of a deploy key, a fine-grained token's grant
// and a SAML authorisation agrees with the scan (id, status, creation,
// last use) and shows each gone after its control.
func TestInspect(t *testing.T) {
	s := demoSetup(t)
	inv := collectortest.Collect(t, s.collector(t))
	ctl := s.controls(t)
	ctx := context.Background()
	for _, ref := range []string{"github:deploy-key:810001", "github:fine-grained-token:7100001:930002", "github:credential-authorization:7100001:950001"} {
		id := *find(t, inv, ref)
		for _, cred := range []string{"", id.Credentials[0].ID} {
			want := id.Credentials[0]
			expectID := want.ID
			if cred == "" {
				expectID = id.NativeID
			}
			st, err := ctl.Inspect(ctx, collectors.ActionRequest{Identity: id, CredentialID: cred})
			if err != nil {
				t.Fatalf("inspect %s %q: %v", ref, cred, err)
			}
			if !st.Exists || st.ID != expectID || st.Status != want.Status || !st.Created.Equal(want.Created) ||
				st.Usage.State != want.Usage.State || !st.Usage.LastUsed.Equal(want.Usage.LastUsed) || st.Usage.Source != want.Usage.Source {
				t.Errorf("%s %q = %+v; scan %+v", ref, cred, st, want)
			}
		}
		if _, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: id}); err != nil {
			t.Fatal(err)
		}
		st, err := ctl.Inspect(ctx, collectors.ActionRequest{Identity: id})
		if err != nil || st.Exists {
			t.Errorf("%s after its control = %+v, %v", ref, st, err)
		}
	}
	if _, err := ctl.Inspect(ctx, collectors.ActionRequest{Identity: nhi.Identity{Scope: "elsewhere", Kind: nhi.KindGitHubDeployKey}}); err == nil {
		t.Error("inspect in an organisation not configured")
	}
}
