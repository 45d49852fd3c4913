package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Operations the collector calls, recorded as a gap's source. The names
// match the fake's operation names.
const (
	opApplications      = "graph:applications.list"
	opFederated         = "graph:applications.list($expand=federatedIdentityCredentials)"
	opFederatedPerApp   = "graph:applications.federatedIdentityCredentials.list"
	opAppOwners         = "graph:applications.owners.list"
	opServicePrincipals = "graph:servicePrincipals.list"
	opSPOwners          = "graph:servicePrincipals.owners.list"
	opAppRoleAssignedTo = "graph:servicePrincipals.appRoleAssignedTo.list"
	opUsers             = "graph:users.list"
	opDirRoleDefs       = "graph:roleManagement.directory.roleDefinitions.list"
	opDirRoleAssigns    = "graph:roleManagement.directory.roleAssignments.list"
	opDelegated         = "graph:oauth2PermissionGrants.list"
	opEligibleRoles     = "graph:roleManagement.directory.roleEligibilityScheduleInstances.list"
	opRoleGroups        = "graph:groups.list(isAssignableToRole)"
	opRoleGroupMembers  = "graph:groups.members.list"
	opSPSignIns         = "graph:reports.servicePrincipalSignInActivities"
	opCredSignIns       = "graph:reports.appCredentialSignInActivities"
	opSubscriptions     = "arm:subscriptions.list"
	opRoleAssignments   = "arm:roleAssignments.listForSubscription"
	opRoleDefinition    = "arm:roleDefinitions.get"
	opUserAssigned      = "arm:userAssignedIdentities.listBySubscription"
	opMIFederated       = "arm:userAssignedIdentities.federatedIdentityCredentials.list"
)

// Permissions that let the operations succeed.
const (
	permApplication = "Application.Read.All"
	permUsers       = "User.Read.All"
	permRoles       = "RoleManagement.Read.Directory"
	permDelegated   = "DelegatedPermissionGrant.Read.All (or Directory.Read.All)"
	permEligible    = "RoleEligibilitySchedule.Read.Directory or RoleManagement.Read.Directory (and an Entra ID P2 licence)"
	permGroups      = "GroupMember.Read.All (or Group.Read.All, Directory.Read.All)"
	permReports     = "AuditLog.Read.All (and an Entra ID P1 or P2 licence)"
	permARMRead     = "Reader (Microsoft.Authorization/*/read, Microsoft.ManagedIdentity/userAssignedIdentities/read and .../federatedIdentityCredentials/read)"
)

// Grant kinds the collector emits.
const (
	kindDirectoryRole = "directory-role"
	kindAppPermission = "app-permission"
	kindRBACRole      = "rbac-role"
	kindDelegated     = "delegated-permission"
	kindEligibleRole  = "eligible-directory-role"
)

// The facets the collector reads.
var (
	fApps        = nhi.IdentitiesFacet(nhi.KindEntraApplication)
	fSPs         = nhi.IdentitiesFacet(nhi.KindEntraServicePrincipal)
	fMIs         = nhi.IdentitiesFacet(nhi.KindEntraManagedIdentity)
	fSecrets     = nhi.CredentialsFacet(nhi.CredEntraClientSecret)
	fCerts       = nhi.CredentialsFacet(nhi.CredEntraCertificate)
	fFederated   = nhi.CredentialsFacet(nhi.CredEntraFederated)
	fDirRoles    = nhi.GrantsFacet(kindDirectoryRole)
	fAppPerms    = nhi.GrantsFacet(kindAppPermission)
	fRBAC        = nhi.GrantsFacet(kindRBACRole)
	fDelegated   = nhi.GrantsFacet(kindDelegated)
	fEligible    = nhi.GrantsFacet(kindEligibleRole)
	fSignIns     = nhi.UsageFacet(sourceSignIns)
	fCredSignIns = nhi.UsageFacet(sourceCredSignIns)
	fOwnership   = nhi.FacetOwnership
	fTrust       = nhi.FacetTrust
)

// tenantFacets are what the collector reads in the tenant scope:
// applications (merged with their service principal), other service
// principals, managed identities not placed in a scanned subscription,
// their credentials, grants, usage, federated trusts and owners.
var tenantFacets = []nhi.Facet{fApps, fSPs, fMIs, fSecrets, fCerts, fFederated, fDirRoles, fEligible, fAppPerms, fDelegated,
	fRBAC, fSignIns, fCredSignIns, fTrust, fOwnership}

// subscriptionFacets are what the collector reads in a subscription scope:
// the managed identities placed there, with what a managed identity can
// hold.
var subscriptionFacets = []nhi.Facet{fMIs, fSecrets, fCerts, fFederated, fDirRoles, fEligible, fAppPerms, fDelegated, fRBAC,
	fSignIns, fCredSignIns, fTrust, fOwnership}

// reach says which scopes a failed operation loses data in.
type reach int

const (
	// reachCalled: only the scope the call was made in.
	reachCalled reach = iota
	// reachAll: the tenant and every subscription, because the lost data
	// can belong to any identity (a managed identity placed in any
	// subscription, an application holding a role in another one).
	reachAll
	// reachObjects: the scopes of the identities of the objects the
	// failure names (the tenant when an object has no identity).
	reachObjects
)

// opInfo is one row of the operation table: the permission, which scopes
// a failure reaches, and the facets it hides in the tenant scope and in a
// subscription scope.
type opInfo struct {
	perm               string
	reach              reach
	tenant, subscribed []nhi.Facet
}

// opTable is the collector's operation table. Notes on the less obvious
// rows:
//   - The application list decides which service principals are merged
//     into their application: without it, the service principals of this
//     tenant's apps cannot be told from orphans and are left out, so the
//     service-principal list is hidden too.
//   - The service-principal list links every application to its service
//     principal (status, credentials, owners and all grants, which Entra
//     and ARM key by service principal) and is the only source of
//     system-assigned managed identities and of the resources whose
//     application permissions are read.
//   - Microsoft's own service principals are listed only when they hold a
//     credential or a grant, so losing a grant source hides that list.
//   - Without the subscription list (and no subscriptions configured) the
//     subscriptions are unknown: the gap covers every scope, and managed
//     identities that would be placed in a subscription are left out.
var opTable = map[string]opInfo{
	opApplications:      {permApplication, reachCalled, []nhi.Facet{fApps, fSPs, fSecrets, fCerts, fOwnership}, nil},
	opFederated:         {permApplication, reachCalled, []nhi.Facet{fFederated, fTrust}, nil},
	opFederatedPerApp:   {permApplication, reachCalled, []nhi.Facet{fFederated, fTrust}, nil},
	opAppOwners:         {permApplication, reachCalled, []nhi.Facet{fOwnership}, nil},
	opServicePrincipals: {permApplication, reachAll, []nhi.Facet{fApps, fSPs, fMIs, fSecrets, fCerts, fDirRoles, fEligible, fAppPerms, fDelegated, fRBAC, fOwnership}, []nhi.Facet{fMIs, fSecrets, fCerts, fAppPerms, fDelegated, fOwnership}},
	opSPOwners:          {permApplication, reachObjects, []nhi.Facet{fOwnership}, []nhi.Facet{fOwnership}},
	opAppRoleAssignedTo: {permApplication, reachAll, []nhi.Facet{fAppPerms, fSPs}, []nhi.Facet{fAppPerms}},
	opUsers:             {permUsers, reachObjects, []nhi.Facet{fOwnership}, []nhi.Facet{fOwnership}},
	opDirRoleDefs:       {permRoles, reachAll, []nhi.Facet{fDirRoles, fEligible}, []nhi.Facet{fDirRoles, fEligible}},
	opDirRoleAssigns:    {permRoles, reachAll, []nhi.Facet{fDirRoles, fSPs}, []nhi.Facet{fDirRoles}},
	opDelegated:         {permDelegated, reachAll, []nhi.Facet{fDelegated, fSPs}, []nhi.Facet{fDelegated}},
	opEligibleRoles:     {permEligible, reachAll, []nhi.Facet{fEligible, fSPs}, []nhi.Facet{fEligible}},
	opRoleGroups:        {permGroups, reachAll, []nhi.Facet{fDirRoles, fEligible, fSPs}, []nhi.Facet{fDirRoles, fEligible}},
	opRoleGroupMembers:  {permGroups, reachAll, []nhi.Facet{fDirRoles, fEligible, fSPs}, []nhi.Facet{fDirRoles, fEligible}},
	opSPSignIns:         {permReports, reachAll, []nhi.Facet{fSignIns}, []nhi.Facet{fSignIns}},
	opCredSignIns:       {permReports, reachAll, []nhi.Facet{fCredSignIns}, []nhi.Facet{fCredSignIns}},
	opSubscriptions:     {permARMRead, reachCalled, []nhi.Facet{fMIs, fSPs, fRBAC}, nil},
	opRoleAssignments:   {permARMRead, reachAll, []nhi.Facet{fRBAC, fSPs}, []nhi.Facet{fRBAC}},
	opRoleDefinition:    {permARMRead, reachObjects, []nhi.Facet{fRBAC}, []nhi.Facet{fRBAC}},
	opUserAssigned:      {permARMRead, reachCalled, nil, []nhi.Facet{fMIs, fFederated, fTrust, fOwnership}},
	opMIFederated:       {permARMRead, reachObjects, []nhi.Facet{fFederated, fTrust}, []nhi.Facet{fFederated, fTrust}},
}

// ops is the operation table in the shared form: the permission, and every
// facet a failure can hide.
var ops = func() collectors.Ops {
	out := collectors.Ops{}
	for op, info := range opTable {
		fs := slices.Concat(info.tenant, info.subscribed)
		slices.Sort(fs)
		out[op] = collectors.Op{Permission: info.perm, Facets: slices.Compact(fs)}
	}
	return out
}()

// failure is a failed call, kept until the inventory is built: only then
// is it known which scopes hold the identities that lost data.
type failure struct {
	op string
	// scope is where the call was made: the tenant id, a subscription id,
	// or "" for the subscription list when no subscriptions are
	// configured (every scope).
	scope string
	err   error
	// objects names the objects (application, service principal or
	// principal ids) whose identities lost data, for reachObjects.
	objects []string
}

// failures collects the failed calls of a scan. It is safe for concurrent
// use.
type failures struct {
	mu   sync.Mutex
	list []failure
}

func (f *failures) add(op, scope string, err error, objects ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = append(f.list, failure{op: op, scope: scope, err: err, objects: objects})
}

// gaps turns the failures into gaps, each on every scope whose identities
// lost data, naming the facets it hides there. where maps object ids (lower
// case) to the scope of their identity.
func (f *failures) gaps(tenant string, scopes []nhi.Scope, where map[string]string) []nhi.Gap {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := collectors.NewGaps(nhi.Azure, ops)
	for _, fl := range f.list {
		info := opTable[fl.op]
		for _, sc := range fl.targets(info, tenant, scopes, where) {
			fs := info.subscribed
			if sc == tenant || sc == "" {
				fs = info.tenant
			}
			if len(fs) > 0 {
				g.Add(sc, fl.op, fl.err, fs...)
			}
		}
	}
	return g.List()
}

// targets returns the scopes a failure loses data in.
func (fl failure) targets(info opInfo, tenant string, scopes []nhi.Scope, where map[string]string) []string {
	switch info.reach {
	case reachAll:
		out := make([]string, 0, len(scopes))
		for _, s := range scopes {
			out = append(out, s.ID)
		}
		return out
	case reachObjects:
		var out []string
		for _, o := range fl.objects {
			sc, ok := where[strings.ToLower(o)]
			if !ok {
				sc = tenant
			}
			out = append(out, sc)
		}
		if len(out) == 0 {
			out = append(out, tenant)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return []string{fl.scope}
}

// apiError is a failed API call, translated into a collectors sentinel.
type apiError struct {
	op     string
	status int
	code   string
	kind   error
}

func (e *apiError) Error() string {
	if e.code != "" {
		return fmt.Sprintf("%s: %v (%d %s)", e.op, e.kind, e.status, e.code)
	}
	return fmt.Sprintf("%s: %v (%d)", e.op, e.kind, e.status)
}

func (e *apiError) Unwrap() error { return e.kind }

// translate turns an SDK or HTTP error into an error wrapping one of the
// collectors sentinels, so that collectors.GapKind classifies it. Network
// errors, timeouts and the context's errors keep their own type.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		// The error body (message, inner error, target) is dropped here:
		// it can echo what was sent or carry anything an intermediary put
		// there. Only the status and a well-formed error code are kept.
		return statusError(op, re.StatusCode, errorCode(re.ErrorCode))
	}
	var af *azidentity.AuthenticationFailedError
	if errors.As(err, &af) {
		// The token endpoint's answer is printed whole by the error
		// (and may echo the client assertion): keep its status only.
		status := 0
		if af.RawResponse != nil {
			status = af.RawResponse.StatusCode
		}
		return fmt.Errorf("%s: token request failed (%d): %w", op, status, collectors.ErrDenied)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// The URL (a nextLink the server chose) is not kept.
		return fmt.Errorf("%s: %s: %w", op, strings.ToLower(ue.Op), ue.Err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// errorCode keeps a Graph or ARM error code ("Authorization_RequestDenied",
// "AuthorizationFailed", "Authentication_RequestFromNonPremiumTenantOrB2CTenant")
// and drops anything else a body put in its place: a code longer than 64
// characters, with characters other than letters, digits, '_' and '.', or
// with more than three digits (a token, key or id rather than a name).
func errorCode(code string) string {
	if len(code) == 0 || len(code) > 64 {
		return ""
	}
	digits := 0
	for _, r := range code {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_', r == '.':
		default:
			return ""
		}
	}
	if digits > 3 {
		return ""
	}
	return code
}

// statusError translates an HTTP error status of Graph or ARM.
func statusError(op string, status int, code string) error {
	var kind error
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		kind = collectors.ErrDenied
	case http.StatusTooManyRequests:
		kind = collectors.ErrThrottled
	case http.StatusNotFound:
		kind = collectors.ErrNotFound
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		kind = collectors.ErrTimeout
	case http.StatusBadRequest, http.StatusBadGateway, http.StatusServiceUnavailable:
		// 400: a query this cloud or tenant does not support (the beta
		// reports in a national cloud).
		kind = fmt.Errorf("%s: %w", strings.ToLower(http.StatusText(status)), collectors.ErrUnavailable)
	default:
		kind = errors.New(strings.ToLower(http.StatusText(status)))
	}
	return &apiError{op: op, status: status, code: code, kind: kind}
}

// skipped is the failure of a source not called, and why.
func skipped(why string) error {
	return fmt.Errorf("not called: %s: %w", why, collectors.ErrUnavailable)
}
