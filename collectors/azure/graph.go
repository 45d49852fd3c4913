package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/nhiscan/nhiscan/collectors"
)

// graphClient calls Microsoft Graph through an azcore pipeline.
type graphClient struct {
	pl   runtime.Pipeline
	base string
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
	// An empty answer is not an empty collection: only what was read
	// counts as observed.
	if b, err := runtime.Payload(resp); err != nil || len(bytes.TrimSpace(b)) == 0 {
		return fmt.Errorf("%s: empty response body (%d): %w", op, resp.StatusCode, collectors.ErrUnavailable)
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

type timeValue = time.Time

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	// The beta reports are documented with one-digit hour offsets
	// ("-8:00"); pad them to RFC 3339.
	if n := len(s); n > 5 && s[n-3] == ':' && (s[n-5] == '+' || s[n-5] == '-') && isDigit(s[n-4]) {
		s = s[:n-4] + "0" + s[n-4:]
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised time (%d characters)", len(s))
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// Graph wire types follow.

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
	DisabledByMicrosoft string               `json:"disabledByMicrosoftStatus"`
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

// spTypeManagedIdentity is the servicePrincipalType of a managed identity.
const spTypeManagedIdentity = "ManagedIdentity"

type servicePrincipal struct {
	ID                     string               `json:"id"`
	AppID                  string               `json:"appId"`
	DisplayName            string               `json:"displayName"`
	ServicePrincipalType   string               `json:"servicePrincipalType"`
	AccountEnabled         *bool                `json:"accountEnabled"`
	DisabledByMicrosoft    string               `json:"disabledByMicrosoftStatus"`
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

// signInActivity is one last-sign-in record of the beta reports.
// lastSignInDateTime is the last attempt, failed or partial ones included;
// lastSuccessfulSignInDateTime, where the report fills it, is the last
// success.
type signInActivity struct {
	LastSignInDateTime           jsonTime `json:"lastSignInDateTime"`
	LastSuccessfulSignInDateTime jsonTime `json:"lastSuccessfulSignInDateTime"`
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
