package azure_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
)

// largeTenant builds a tenant with apps applications (each with its
// service principal and a secret), sps service principals in all
// (managed identities and third-party apps fill the rest), and subs
// subscriptions with role assignments and user-assigned identities.
func largeTenant(now time.Time, apps, sps, subs int) azurefake.Seed {
	s := azurefake.Seed{TenantID: azurefake.DemoTenantID, SignIns: map[string]azurefake.SignIn{},
		CredentialSignIns: map[string]time.Time{}, RoleDefinitions: azurefake.BuiltInRoleDefinitions(),
		DirectoryRoles: azurefake.BuiltInDirectoryRoles()}
	for i := 0; i < 500; i++ {
		s.Users = append(s.Users, azurefake.User{ID: azurefake.GUID("e5", i), UserPrincipalName: fmt.Sprintf("user%03d@acme.example", i), AccountEnabled: i%10 != 0})
	}
	s.ServicePrincipals = append(s.ServicePrincipals, azurefake.GraphServicePrincipal(azurefake.DemoGraphSPID))
	for i := 0; i < apps; i++ {
		key := azurefake.GUID("b0", i)
		a := azurefake.Application{ID: azurefake.GUID("a1", i), AppID: azurefake.GUID("c1", i), DisplayName: fmt.Sprintf("app-%05d", i),
			CreatedDateTime: now.AddDate(0, 0, -i%700), Tags: []string{"team:t" + fmt.Sprint(i%12)},
			Owners:              []string{azurefake.GUID("e5", i%500)},
			PasswordCredentials: []azurefake.PasswordCredential{{KeyID: key, StartDateTime: now.AddDate(0, 0, -i%400), EndDateTime: now.AddDate(1, 0, 0)}}}
		if i%3 == 0 {
			a.FederatedIdentityCredentials = []azurefake.FederatedIdentityCredential{{ID: azurefake.GUID("f1", i), Name: "gh", Issuer: "https://token.actions.githubusercontent.com", Subject: "repo:acme/r:environment:prod", Audiences: []string{"api://AzureADTokenExchange"}}}
		}
		s.Applications = append(s.Applications, a)
		s.ServicePrincipals = append(s.ServicePrincipals, azurefake.ServicePrincipal{ID: azurefake.GUID("5a", i), AppID: a.AppID, DisplayName: a.DisplayName,
			ServicePrincipalType: "Application", AccountEnabled: true, AppOwnerOrganizationID: azurefake.DemoTenantID})
		if i%2 == 0 {
			s.SignIns[a.AppID] = azurefake.SignIn{AppOnlyClient: now.Add(-time.Duration(i) * time.Minute)}
			s.CredentialSignIns[key] = now.Add(-time.Duration(i) * time.Minute)
		}
		if i%50 == 0 {
			s.AppRoleAssignments = append(s.AppRoleAssignments, azurefake.AppRoleAssignment{ID: azurefake.GUID("ae", i),
				AppRoleID: azurefake.GraphAppRoleID("Directory.Read.All"), PrincipalID: azurefake.GUID("5a", i),
				PrincipalType: "ServicePrincipal", ResourceID: azurefake.DemoGraphSPID})
		}
	}
	miPerSub := 20
	for j := 0; j < subs; j++ {
		sub := azurefake.GUID("1d", j)
		s.Subscriptions = append(s.Subscriptions, azurefake.Subscription{ID: sub, DisplayName: fmt.Sprintf("sub-%02d", j)})
		for k := 0; k < miPerSub; k++ {
			n := j*miPerSub + k
			s.ManagedIdentities = append(s.ManagedIdentities, azurefake.ManagedIdentity{SubscriptionID: sub, ResourceGroup: "rg", Name: fmt.Sprintf("mi-%04d", n),
				PrincipalID: azurefake.GUID("3a", n), ClientID: azurefake.GUID("3c", n), Tags: map[string]string{"owner": fmt.Sprintf("user%03d@acme.example", n%500)}})
			s.RoleAssignments = append(s.RoleAssignments, azurefake.RoleAssignment{Name: azurefake.GUID("7a", n), Scope: "/subscriptions/" + sub + "/resourceGroups/rg",
				RoleDefinitionID: azurefake.RoleContributor, PrincipalID: azurefake.GUID("3a", n), PrincipalType: "ServicePrincipal", CreatedOn: now.AddDate(0, 0, -30)})
			s.RoleAssignments = append(s.RoleAssignments, azurefake.RoleAssignment{Name: azurefake.GUID("7b", n), Scope: "/subscriptions/" + sub,
				RoleDefinitionID: azurefake.RoleReader, PrincipalID: azurefake.GUID("5a", n%apps), PrincipalType: "ServicePrincipal", CreatedOn: now.AddDate(0, 0, -30)})
		}
	}
	for i := len(s.ServicePrincipals) + subs*miPerSub; i < sps; i++ {
		s.ServicePrincipals = append(s.ServicePrincipals, azurefake.ServicePrincipal{ID: azurefake.GUID("5c", i), AppID: azurefake.GUID("c3", i),
			DisplayName: fmt.Sprintf("vendor-%05d", i), ServicePrincipalType: "Application", AccountEnabled: true,
			AppOwnerOrganizationID: "0c0c0c0c-0000-4000-a000-00000000c0c0"})
	}
	return s
}

// BenchmarkLargeTenant scans 10,000 applications, 20,000 service
// principals and 50 subscriptions with 20 ms of latency per call.
func BenchmarkLargeTenant(b *testing.B) {
	seed := largeTenant(fixedNow, 10000, 20000, 50)
	f := newFake(b, seed)
	f.SetLatency(20 * time.Millisecond)
	c := newCollector(b, f)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.ResetCalls()
		inv, err := c.Collect(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if len(inv.Gaps) != 0 {
			b.Fatalf("gaps: %+v", inv.Gaps)
		}
		b.ReportMetric(float64(f.TotalCalls()), "calls/scan")
		b.ReportMetric(float64(len(inv.Identities)), "identities")
	}
}
