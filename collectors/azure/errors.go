package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Gap sources (the Graph and ARM operations), with the permission each
// needs. The names match the fake's operation names.
const (
	srcApplications      = "graph:applications.list"
	srcFederated         = "graph:applications.list($expand=federatedIdentityCredentials)"
	srcFederatedPerApp   = "graph:applications.federatedIdentityCredentials.list"
	srcAppOwners         = "graph:applications.owners.list"
	srcServicePrincipals = "graph:servicePrincipals.list"
	srcSPOwners          = "graph:servicePrincipals.owners.list"
	srcAppRoleAssignedTo = "graph:servicePrincipals.appRoleAssignedTo.list"
	srcUsers             = "graph:users.list"
	srcDirRoleDefs       = "graph:roleManagement.directory.roleDefinitions.list"
	srcDirRoleAssigns    = "graph:roleManagement.directory.roleAssignments.list"
	srcSPSignIns         = "graph:reports.servicePrincipalSignInActivities"
	srcCredSignIns       = "graph:reports.appCredentialSignInActivities"

	permApplication = "Application.Read.All"
	permUsers       = "User.Read.All"
	permRoles       = "RoleManagement.Read.Directory"
	permReports     = "AuditLog.Read.All (and an Entra ID P1 or P2 licence)"
)

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

// translate turns an SDK or HTTP error into an apiError with a sentinel.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return statusError(op, re.StatusCode, re.ErrorCode)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

func statusError(op string, status int, code string) error {
	var kind error
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		kind = collectors.ErrDenied
	case http.StatusTooManyRequests:
		kind = collectors.ErrThrottled
	case http.StatusNotFound:
		kind = collectors.ErrNotFound
	default:
		kind = errors.New(strings.ToLower(http.StatusText(status)))
	}
	return &apiError{op: op, status: status, code: code, kind: kind}
}

// gapKind classifies an error for an nhi.Gap.
func gapKind(err error) nhi.GapKind {
	var ae *apiError
	switch {
	case errors.Is(err, collectors.ErrDenied):
		return nhi.GapDenied
	case errors.Is(err, collectors.ErrThrottled):
		return nhi.GapThrottled
	case errors.Is(err, context.DeadlineExceeded):
		return nhi.GapTimeout
	case errors.Is(err, collectors.ErrNotFound), errors.As(err, &ae) && ae.status == http.StatusBadRequest:
		return nhi.GapUnavailable
	}
	return nhi.GapError
}

// gapSet collects gaps, one per scope and source.
type gapSet struct {
	mu   sync.Mutex
	gaps map[[2]string]*nhi.Gap
	n    map[[2]string]int
}

func (s *gapSet) add(scope, source, perm string, usageOnly bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gaps == nil {
		s.gaps, s.n = map[[2]string]*nhi.Gap{}, map[[2]string]int{}
	}
	k := [2]string{scope, source}
	s.n[k]++
	if g := s.gaps[k]; g != nil {
		return
	}
	s.gaps[k] = &nhi.Gap{Provider: nhi.Azure, Scope: scope, Source: source, Kind: gapKind(err),
		Permission: perm, Detail: err.Error(), UsageOnly: usageOnly}
}

// spread copies the gaps of the given sources to every other scope: what
// those sources lost (service principals, their grants) can belong to
// identities in any scope, such as a managed identity placed in its
// subscription or an application holding an Azure role in another
// subscription. A scope that lost data must be partial, or the loss would
// look like a removal.
func (s *gapSet) spread(scopes []string, sources ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := map[string]bool{}
	for _, src := range sources {
		want[src] = true
	}
	var from []nhi.Gap
	for k, g := range s.gaps {
		if want[k[1]] && g.Scope != "" {
			from = append(from, *g)
		}
	}
	slices.SortFunc(from, func(a, b nhi.Gap) int { return strings.Compare(a.Scope+"|"+a.Source, b.Scope+"|"+b.Source) })
	for _, g := range from {
		for _, sc := range scopes {
			k := [2]string{sc, g.Source}
			if s.gaps[k] != nil {
				continue
			}
			c := g
			c.Scope = sc
			c.Detail = "data of identities in this scope may be missing; failed in " + g.Scope + ": " + g.Detail
			s.gaps[k], s.n[k] = &c, 1
		}
	}
}

func (s *gapSet) list() []nhi.Gap {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []nhi.Gap
	for k, g := range s.gaps {
		gg := *g
		if n := s.n[k]; n > 1 {
			gg.Detail = fmt.Sprintf("%d calls failed; first: %s", n, gg.Detail)
		}
		out = append(out, gg)
	}
	return out
}
