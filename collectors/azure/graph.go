package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	neturl "net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// graphClient calls Microsoft Graph through an azcore pipeline.
type graphClient struct {
	pl   runtime.Pipeline
	base string
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

// do sends one request and decodes a JSON answer into out (when non-nil).
func (g *graphClient) do(ctx context.Context, op, method, url string, body, out any) error {
	req, err := runtime.NewRequest(ctx, method, url)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	resp, err := g.pl.Do(req)
	if err != nil {
		return translate(op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return translate(op, runtime.NewResponseError(resp))
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := runtime.UnmarshalAsJSON(resp, out); err != nil {
		return fmt.Errorf("%s: decoding response: %w", op, err)
	}
	return nil
}

// page is an OData collection page.
type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

// list follows @odata.nextLink from path (relative to the Graph base) and
// calls fn for every item.
func list[T any](ctx context.Context, g *graphClient, op, path string, fn func(T)) error {
	url := g.base + path
	for url != "" {
		var p page[T]
		if err := g.do(ctx, op, http.MethodGet, url, nil, &p); err != nil {
			return err
		}
		for _, v := range p.Value {
			fn(v)
		}
		next, err := g.onBase(p.NextLink)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		url = next
	}
	return nil
}

// onBase keeps a nextLink on the configured Graph endpoint: a link naming
// another host (an upstream behind a proxy, or a hostile answer) is
// followed with its path and query on the base, so the bearer token never
// goes anywhere else.
func (g *graphClient) onBase(link string) (string, error) {
	if link == "" {
		return "", nil
	}
	u, err := neturl.Parse(link)
	if err != nil {
		return "", fmt.Errorf("nextLink: %w", err)
	}
	b, err := neturl.Parse(g.base)
	if err != nil {
		return "", fmt.Errorf("graph base: %w", err)
	}
	if strings.EqualFold(u.Scheme, b.Scheme) && strings.EqualFold(u.Host, b.Host) {
		return link, nil
	}
	rebased := *b
	rebased.Path = strings.TrimSuffix(b.Path, "/") + u.Path
	rebased.RawPath = ""
	if u.RawPath != "" {
		rebased.RawPath = strings.TrimSuffix(b.EscapedPath(), "/") + u.RawPath
	}
	rebased.RawQuery, rebased.Fragment = u.RawQuery, ""
	return rebased.String(), nil
}

// Graph wire types: only the properties the collector selects.

type passwordCredential struct {
	KeyID         string   `json:"keyId"`
	DisplayName   string   `json:"displayName"`
	StartDateTime jsonTime `json:"startDateTime"`
	EndDateTime   jsonTime `json:"endDateTime"`
}

type keyCredential struct {
	KeyID               string   `json:"keyId"`
	DisplayName         string   `json:"displayName,omitempty"`
	Type                string   `json:"type"`
	Usage               string   `json:"usage"`
	StartDateTime       jsonTime `json:"startDateTime"`
	EndDateTime         jsonTime `json:"endDateTime"`
	CustomKeyIdentifier string   `json:"customKeyIdentifier,omitempty"`
	// Key is the public certificate; read only for a restorable removal.
	Key string `json:"key,omitempty"`
}

type ficWire struct {
	ID          string   `json:"id,omitempty"`
	Name        string   `json:"name"`
	Issuer      string   `json:"issuer"`
	Subject     string   `json:"subject"`
	Audiences   []string `json:"audiences"`
	Description string   `json:"description,omitempty"`
}

type directoryObject struct {
	Type              string `json:"@odata.type"`
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
	DisplayName       string `json:"displayName"`
	AccountEnabled    *bool  `json:"accountEnabled"`
}

type application struct {
	ID                  string               `json:"id"`
	AppID               string               `json:"appId"`
	DisplayName         string               `json:"displayName"`
	CreatedDateTime     jsonTime             `json:"createdDateTime"`
	SignInAudience      string               `json:"signInAudience"`
	Tags                []string             `json:"tags"`
	PasswordCredentials []passwordCredential `json:"passwordCredentials"`
	KeyCredentials      []keyCredential      `json:"keyCredentials"`
	Owners              []directoryObject    `json:"owners"`
}

type appRole struct {
	ID                 string   `json:"id"`
	Value              string   `json:"value"`
	AllowedMemberTypes []string `json:"allowedMemberTypes"`
}

type servicePrincipal struct {
	ID                     string               `json:"id"`
	AppID                  string               `json:"appId"`
	DisplayName            string               `json:"displayName"`
	ServicePrincipalType   string               `json:"servicePrincipalType"`
	AccountEnabled         *bool                `json:"accountEnabled"`
	AppOwnerOrganizationID string               `json:"appOwnerOrganizationId"`
	AlternativeNames       []string             `json:"alternativeNames"`
	Tags                   []string             `json:"tags"`
	PasswordCredentials    []passwordCredential `json:"passwordCredentials"`
	KeyCredentials         []keyCredential      `json:"keyCredentials"`
	AppRoles               []appRole            `json:"appRoles"`
	Owners                 []directoryObject    `json:"owners"`
}

type directoryRole struct {
	ID           string `json:"id"`
	DisplayName  string `json:"displayName"`
	TemplateID   string `json:"templateId"`
	IsPrivileged *bool  `json:"isPrivileged"`
}

type directoryRoleAssignment struct {
	ID               string `json:"id"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	DirectoryScopeID string `json:"directoryScopeId"`
}

type appRoleAssignment struct {
	ID              string   `json:"id"`
	AppRoleID       string   `json:"appRoleId"`
	CreatedDateTime jsonTime `json:"createdDateTime"`
	PrincipalID     string   `json:"principalId"`
	PrincipalType   string   `json:"principalType"`
	ResourceID      string   `json:"resourceId"`
}

type signInActivity struct {
	LastSignInDateTime jsonTime `json:"lastSignInDateTime"`
}

type spSignIn struct {
	AppID              string          `json:"appId"`
	LastSignInActivity *signInActivity `json:"lastSignInActivity"`
	DelegatedClient    *signInActivity `json:"delegatedClientSignInActivity"`
	AppAuthClient      *signInActivity `json:"applicationAuthenticationClientSignInActivity"`
	AppAuthResource    *signInActivity `json:"applicationAuthenticationResourceSignInActivity"`
	DelegatedResource  *signInActivity `json:"delegatedResourceSignInActivity"`
}

type credSignIn struct {
	KeyID          string          `json:"keyId"`
	SignInActivity *signInActivity `json:"signInActivity"`
}

// jsonTime decodes Graph's ISO 8601 times (and null) to UTC.
type jsonTime struct{ t timeValue }

func (j *jsonTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := parseTime(s)
	if err != nil {
		return err
	}
	j.t = t
	return nil
}

func (j jsonTime) MarshalJSON() ([]byte, error) {
	if j.t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(j.t.UTC())
}
