package catalog_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// TestProtected: a protected role protects its members, a protected
// selector the identities it picks (by role too), and nothing else.
func TestProtected(t *testing.T) {
	c, err := catalog.LoadFS(fstest.MapFS{"c.yaml": {Data: []byte(`
people: [{ id: a@x.example, status: active }]
roles:
  - { id: breakglass, purpose: p, business_owner: a@x.example, protected: true, members: [{ provider: aws, name: "breakglass-*" }] }
  - { id: deployers, purpose: p, business_owner: a@x.example, members: [{ provider: aws, name: "deploy-*" }] }
  - { id: ci, purpose: p, business_owner: a@x.example, members: [{ provider: github }] }
protected:
  - { provider: gcp, tags: { tier: "0" } }
  - { role: ci, kind: github-deploy-key }
`)}}, evalTime, "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   nhi.Identity
		role string
		want string
	}{
		{nhi.Identity{Provider: nhi.AWS, Kind: nhi.KindAWSRole, Name: "breakglass-admin"}, "breakglass", "member of protected role breakglass"},
		{nhi.Identity{Provider: nhi.AWS, Kind: nhi.KindAWSRole, Name: "deploy-prod"}, "deployers", ""},
		{nhi.Identity{Provider: nhi.GCP, Kind: nhi.KindGCPServiceAccount, Tags: map[string]string{"tier": "0"}}, "", "protected selector"},
		{nhi.Identity{Provider: nhi.GCP, Kind: nhi.KindGCPServiceAccount, Tags: map[string]string{"tier": "1"}}, "", ""},
		{nhi.Identity{Provider: nhi.GitHub, Kind: nhi.KindGitHubDeployKey}, "ci", "protected selector"},
		{nhi.Identity{Provider: nhi.GitHub, Kind: nhi.KindGitHubDeployKey}, "", ""},
		{nhi.Identity{Provider: nhi.GitHub, Kind: nhi.KindGitHubFineGrainedPAT}, "ci", ""},
	} {
		why, ok := c.Protects(&tc.id, tc.role)
		if why != tc.want || ok != (tc.want != "") {
			t.Errorf("Protects(%s %s, role %q) = %q, %v; want %q", tc.id.Kind, tc.id.Name, tc.role, why, ok, tc.want)
		}
	}
}

func TestProtectedErrors(t *testing.T) {
	_, err := catalog.LoadFS(fstest.MapFS{"c.yaml": {Data: []byte(`
protected:
  - { role: nosuch }
  - { scope: "*" }
roles:
  - { id: r, purpose: p, business_owner: a@x.example, protected: "yes", members: [{ provider: aws }] }
people: [{ id: a@x.example, status: active }]
`)}}, evalTime, "c.yaml")
	if err == nil {
		t.Fatal("bad protected selectors loaded")
	}
	for _, want := range []string{`c.yaml:3:`, `unknown role "nosuch"`, `c.yaml:4:`, "empty protected selector", `c.yaml:6:`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
