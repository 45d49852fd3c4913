package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v89/github"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// deployKeyRestore is the RestoreData of a deleted deploy key: its public
// half and settings, enough to add it again (it gets a new id).
type deployKeyRestore struct {
	Repository string `json:"repository"`
	Title      string `json:"title"`
	Key        string `json:"key"`
	ReadOnly   bool   `json:"read_only"`
}

// Controls performs the GitHub credential controls. It is built apart
// from the read-only Collector, so that code that only scans cannot write.
type Controls struct {
	*api
}

var _ collectors.Controller = (*Controls)(nil)

// NewControls checks cfg and builds Controls; it reads the key and token
// files once and makes no request. The controls act only in the
// organisations cfg names.
func NewControls(cfg Config) (*Controls, error) {
	a, err := newAPI(cfg)
	if err != nil {
		return nil, err
	}
	return &Controls{api: a}, nil
}

// Act performs one credential control. It is idempotent: acting on a
// target already in the requested state returns Changed false.
//
//   - deploy key: Delete (RestoreData keeps the public key) and Restore;
//   - fine-grained token: Delete revokes its access to the organisation
//     (GitHub answers 204, as its description says, or 202; the owner
//     must ask for access again);
//   - SAML-authorised classic token or SSH key: Delete removes the
//     authorisation (the owner may authorise it again).
//
// Anything else is collectors.ErrUnsupported.
func (c *Controls) Act(ctx context.Context, req collectors.ActionRequest) (collectors.ActionResult, error) {
	id := req.Identity
	oc, ok := c.clients[strings.ToLower(id.Scope)]
	if !ok {
		return collectors.ActionResult{}, fmt.Errorf("github: organisation %q is not configured: %w", id.Scope, collectors.ErrUnsupported)
	}
	switch {
	case id.Kind == nhi.KindGitHubDeployKey && req.Action == collectors.Delete:
		return c.deleteDeployKey(ctx, oc, id)
	case id.Kind == nhi.KindGitHubDeployKey && req.Action == collectors.Restore:
		return c.restoreDeployKey(ctx, oc, req.RestoreData)
	case id.Kind == nhi.KindGitHubFineGrainedPAT && req.Action == collectors.Delete:
		return c.revokePAT(ctx, oc, id)
	case (id.Kind == nhi.KindGitHubClassicPAT || id.Kind == nhi.KindGitHubSSHKey) && req.Action == collectors.Delete:
		return c.removeSAMLAuth(ctx, oc, id)
	}
	return collectors.ActionResult{}, fmt.Errorf("github: %s on %s: %w", req.Action, id.Kind, collectors.ErrUnsupported)
}

// numericID checks that an id taken from an identity is a positive
// decimal integer, as GitHub's ids are, before it goes into a path.
func numericID(what, id string) error {
	if n, err := strconv.ParseInt(id, 10, 64); err != nil || n <= 0 || strconv.FormatInt(n, 10) != id {
		return fmt.Errorf("github: %s %q is not a GitHub id: %w", what, id, collectors.ErrUnsupported)
	}
	return nil
}

// splitRepo splits "owner/name" and checks that the repository belongs to
// org, whose credentials will act on it: a target in another organisation
// is refused, whatever the identity claims.
func splitRepo(org, full string) (string, string, error) {
	owner, repo, ok := strings.Cut(full, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") || repo == "." || repo == ".." {
		return "", "", fmt.Errorf("github: repository %q is not owner/name: %w", full, collectors.ErrUnsupported)
	}
	if !strings.EqualFold(owner, org) {
		return "", "", fmt.Errorf("github: repository %q is not in organisation %q: %w", full, org, collectors.ErrUnsupported)
	}
	return owner, repo, nil
}

func (c *Controls) deleteDeployKey(ctx context.Context, oc *orgClients, id nhi.Identity) (collectors.ActionResult, error) {
	repoFull := id.Path
	if repoFull == "" {
		repoFull = id.Attributes["repository"]
	}
	owner, repo, err := splitRepo(oc.org, repoFull)
	if err != nil {
		return collectors.ActionResult{}, err
	}
	if err := numericID("deploy key id", id.NativeID); err != nil {
		return collectors.ActionResult{}, err
	}
	path := "repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo) + "/keys/" + url.PathEscape(id.NativeID)
	var k apiKey
	if _, err := c.call(ctx, oc.rest, http.MethodGet, path, nil, &k); err != nil {
		if statusOf(err) == http.StatusNotFound {
			return collectors.ActionResult{Changed: false, Before: "absent", After: "absent", Detail: "deploy key already deleted"}, nil
		}
		return collectors.ActionResult{}, actErr("read deploy key "+id.NativeID, err)
	}
	restore, err := json.Marshal(deployKeyRestore{Repository: repoFull, Title: k.Title, Key: k.Key, ReadOnly: k.ReadOnly})
	if err != nil {
		return collectors.ActionResult{}, fmt.Errorf("github: restore data: %w", err)
	}
	if _, err := c.call(ctx, oc.rest, http.MethodDelete, path, nil, nil); err != nil {
		if statusOf(err) == http.StatusNotFound {
			return collectors.ActionResult{Changed: false, Before: "absent", After: "absent", Detail: "deploy key already deleted"}, nil
		}
		return collectors.ActionResult{}, actErr("delete deploy key "+id.NativeID, err)
	}
	return collectors.ActionResult{Changed: true, Before: "present", After: "deleted", RestoreData: restore,
		Detail: "deploy key deleted from " + repoFull + "; restore re-adds its public key under a new id"}, nil
}

func (c *Controls) restoreDeployKey(ctx context.Context, oc *orgClients, data json.RawMessage) (collectors.ActionResult, error) {
	var r deployKeyRestore
	if err := json.Unmarshal(data, &r); err != nil || r.Key == "" {
		return collectors.ActionResult{}, fmt.Errorf("github: restore data is not a deleted deploy key: %w", collectors.ErrUnsupported)
	}
	owner, repo, err := splitRepo(oc.org, r.Repository)
	if err != nil {
		return collectors.ActionResult{}, err
	}
	path := "repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo) + "/keys"
	keys, _, err := list[apiKey](ctx, c.api, oc.rest, path, "")
	if err != nil {
		return collectors.ActionResult{}, actErr("list deploy keys of "+r.Repository, err)
	}
	for _, k := range keys {
		if samePublicKey(k.Key, r.Key) {
			return collectors.ActionResult{Changed: false, Before: "present", After: "present", Detail: "deploy key already present with id " + id64(k.ID)}, nil
		}
	}
	var created apiKey
	body := map[string]any{"title": r.Title, "key": r.Key, "read_only": r.ReadOnly}
	if _, err := c.call(ctx, oc.rest, http.MethodPost, path, body, &created); err != nil {
		return collectors.ActionResult{}, actErr("re-add deploy key to "+r.Repository, err)
	}
	return collectors.ActionResult{Changed: true, Before: "absent", After: "present",
		Detail: "deploy key re-added to " + r.Repository + " with new id " + id64(created.ID)}, nil
}

func samePublicKey(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	return len(fa) >= 2 && len(fb) >= 2 && fa[0] == fb[0] && fa[1] == fb[1]
}

func (c *Controls) revokePAT(ctx context.Context, oc *orgClients, id nhi.Identity) (collectors.ActionResult, error) {
	if !oc.app {
		return collectors.ActionResult{}, fmt.Errorf("github: revoking a fine-grained token needs GitHub App authentication: %w", collectors.ErrDenied)
	}
	patID := id.Attributes["pat_id"]
	if patID == "" {
		return collectors.ActionResult{}, fmt.Errorf("github: identity %s has no pat_id attribute: %w", id.ID, collectors.ErrUnsupported)
	}
	if err := numericID("pat_id", patID); err != nil {
		return collectors.ActionResult{}, err
	}
	path := "orgs/" + url.PathEscape(id.Scope) + "/personal-access-tokens/" + url.PathEscape(patID)
	_, err := c.call(ctx, oc.rest, http.MethodPost, path, map[string]string{"action": "revoke"}, nil)
	var accepted *gh.AcceptedError
	switch {
	case err == nil, errors.As(err, &accepted): // 204, or 202 Accepted, is success
		return collectors.ActionResult{Changed: true, Before: "granted", After: "revoked",
			Detail: "fine-grained token's access to " + id.Scope + " revoked; the owner must request access again"}, nil
	case statusOf(err) == http.StatusNotFound:
		return collectors.ActionResult{Changed: false, Before: "revoked", After: "revoked", Detail: "no such token grant: already revoked"}, nil
	}
	return collectors.ActionResult{}, actErr("revoke fine-grained token "+id.NativeID, err)
}

// removeSAMLAuth removes the credential's current SAML authorisation. The
// authorisation's id (credential_id) changes each time the owner
// authorises the credential again, so it is looked up afresh by the
// credential's own id (authorized_credential_id); an identity from an
// inventory without it (an earlier nhiscan) names the authorisation.
func (c *Controls) removeSAMLAuth(ctx context.Context, oc *orgClients, id nhi.Identity) (collectors.ActionResult, error) {
	if oc.saml == nil {
		return collectors.ActionResult{}, fmt.Errorf("github: removing a SAML authorisation needs a token of an org owner (admin:org): %w", collectors.ErrDenied)
	}
	if err := numericID("credential id", id.NativeID); err != nil {
		return collectors.ActionResult{}, err
	}
	credID := id.Attributes["authorized_credential_id"]
	match := func(a apiCredAuth) bool { return id64(a.AuthorizedCredentialID) == credID }
	if credID == "" {
		match = func(a apiCredAuth) bool { return id64(a.CredentialID) == id.NativeID }
	} else if err := numericID("authorized credential id", credID); err != nil {
		return collectors.ActionResult{}, err
	}
	path := "orgs/" + url.PathEscape(id.Scope) + "/credential-authorizations"
	if login := id.Attributes["login"]; login != "" {
		path += "?login=" + url.QueryEscape(login)
	}
	auths, _, err := list[apiCredAuth](ctx, c.api, oc.saml, path, "")
	if err != nil {
		return collectors.ActionResult{}, actErr("list SAML authorisations", err)
	}
	current := ""
	for _, a := range latestAuths(auths) {
		if match(a) {
			current = id64(a.CredentialID)
		}
	}
	if current == "" {
		return collectors.ActionResult{Changed: false, Before: "unauthorised", After: "unauthorised", Detail: "no authorisation of this credential: already removed"}, nil
	}
	if _, err := c.call(ctx, oc.saml, http.MethodDelete, "orgs/"+url.PathEscape(id.Scope)+"/credential-authorizations/"+current, nil, nil); err != nil {
		if statusOf(err) == http.StatusNotFound {
			return collectors.ActionResult{Changed: false, Before: "unauthorised", After: "unauthorised", Detail: "authorisation already removed"}, nil
		}
		return collectors.ActionResult{}, actErr("remove SAML authorisation "+current, err)
	}
	return collectors.ActionResult{Changed: true, Before: "authorised", After: "unauthorised",
		Detail: "SAML authorisation " + current + " removed; the credential no longer reaches " + id.Scope + " (its owner may authorise it again)"}, nil
}

var _ collectors.Inspector = (*Controls)(nil)

// Inspect re-reads one target, read-only: a deploy key (GET the key: its
// creation and last use), a fine-grained token's access to the
// organisation (found by pat_id in the organisation's list: its last use
// and expiry), or a SAML authorisation of a classic token or SSH key
// (found in the organisation's list: its last access). A target that is
// gone (a deleted key, a revoked grant, a removed authorisation) is Exists
// false.
func (c *Controls) Inspect(ctx context.Context, req collectors.ActionRequest) (collectors.TargetState, error) {
	id := req.Identity
	oc, ok := c.clients[strings.ToLower(id.Scope)]
	if !ok {
		return collectors.TargetState{}, fmt.Errorf("github: organisation %q is not configured: %w", id.Scope, collectors.ErrUnsupported)
	}
	now := c.cfg.Now().UTC()
	switch id.Kind {
	case nhi.KindGitHubDeployKey:
		return c.inspectDeployKey(ctx, oc, id, now)
	case nhi.KindGitHubFineGrainedPAT:
		return c.inspectPAT(ctx, oc, id, now)
	case nhi.KindGitHubClassicPAT, nhi.KindGitHubSSHKey:
		return c.inspectSAMLAuth(ctx, oc, id, req.CredentialID != "", now)
	}
	return collectors.TargetState{}, fmt.Errorf("github: inspect %s: %w", id.Kind, collectors.ErrUnsupported)
}

func absent(detail string) collectors.TargetState {
	return collectors.TargetState{Detail: detail, Usage: nhi.Usage{State: nhi.UsageNotReported}}
}

func (c *Controls) inspectDeployKey(ctx context.Context, oc *orgClients, id nhi.Identity, now time.Time) (collectors.TargetState, error) {
	repoFull := id.Path
	if repoFull == "" {
		repoFull = id.Attributes["repository"]
	}
	owner, repo, err := splitRepo(oc.org, repoFull)
	if err != nil {
		return collectors.TargetState{}, err
	}
	if err := numericID("deploy key id", id.NativeID); err != nil {
		return collectors.TargetState{}, err
	}
	var k apiKey
	if _, err := c.call(ctx, oc.rest, http.MethodGet, "repos/"+url.PathEscape(owner)+"/"+url.PathEscape(repo)+"/keys/"+url.PathEscape(id.NativeID), nil, &k); err != nil {
		if statusOf(err) == http.StatusNotFound {
			return absent("deploy key " + id.NativeID + " no longer exists in " + repoFull), nil
		}
		return collectors.TargetState{}, actErr("read deploy key "+id.NativeID, err)
	}
	st := collectors.TargetState{Exists: true, ID: id64(k.ID), Status: nhi.StatusActive, Native: "present", Created: k.CreatedAt.T,
		Usage: stampUsage(k.LastUsed, now, "GitHub records no use of this key")}
	if k.Enabled != nil && !*k.Enabled {
		st.Status, st.Native = nhi.StatusDisabled, "disabled"
	}
	return st, nil
}

func (c *Controls) inspectPAT(ctx context.Context, oc *orgClients, id nhi.Identity, now time.Time) (collectors.TargetState, error) {
	if !oc.app {
		return collectors.TargetState{}, fmt.Errorf("github: reading fine-grained tokens needs GitHub App authentication: %w", collectors.ErrDenied)
	}
	patID := id.Attributes["pat_id"]
	if err := numericID("pat_id", patID); err != nil {
		return collectors.TargetState{}, err
	}
	pats, _, err := list[apiPAT](ctx, c.api, oc.rest, "orgs/"+url.PathEscape(id.Scope)+"/personal-access-tokens", "")
	if err != nil {
		return collectors.TargetState{}, actErr("list fine-grained tokens of "+id.Scope, err)
	}
	for _, p := range pats {
		if id64(p.ID) != patID {
			continue
		}
		tokenID := p.TokenID
		if tokenID == 0 {
			tokenID = p.ID
		}
		st := collectors.TargetState{Exists: true, ID: id64(tokenID), Status: nhi.StatusActive, Native: "granted", Created: p.AccessGrantedAt.T,
			Usage: stampUsage(p.TokenLastUsedAt, now, "GitHub records no use of this token")}
		if p.TokenExpired || (p.TokenExpiresAt.set() && !now.Before(p.TokenExpiresAt.T)) {
			st.Status, st.Native = nhi.StatusExpired, "expired"
		}
		return st, nil
	}
	return absent("no fine-grained token grant " + patID + " in " + id.Scope), nil
}

func (c *Controls) inspectSAMLAuth(ctx context.Context, oc *orgClients, id nhi.Identity, credential bool, now time.Time) (collectors.TargetState, error) {
	if oc.saml == nil {
		return collectors.TargetState{}, fmt.Errorf("github: reading SAML authorisations needs a token of an org owner (admin:org): %w", collectors.ErrDenied)
	}
	if err := numericID("credential id", id.NativeID); err != nil {
		return collectors.TargetState{}, err
	}
	auths, _, err := list[apiCredAuth](ctx, c.api, oc.saml, "orgs/"+url.PathEscape(id.Scope)+"/credential-authorizations", "")
	if err != nil {
		return collectors.TargetState{}, actErr("list SAML authorisations of "+id.Scope, err)
	}
	// The identity is the credential (authorized_credential_id), which
	// survives re-authorisation; an inventory without it names the
	// authorisation (credential_id).
	credID := id.Attributes["authorized_credential_id"]
	match := func(a apiCredAuth) bool { return id64(a.AuthorizedCredentialID) == credID }
	if credID == "" {
		match = func(a apiCredAuth) bool { return id64(a.CredentialID) == id.NativeID }
	}
	for _, a := range latestAuths(auths) {
		if !match(a) {
			continue
		}
		st := collectors.TargetState{Exists: true, ID: id.NativeID, Status: nhi.StatusActive, Native: "authorised",
			Created: a.CredentialAuthorizedAt.T, Usage: stampUsage(a.CredentialAccessedAt, now, "GitHub records no access with this credential")}
		if credential && a.AuthorizedCredentialID != 0 {
			st.ID = id64(a.AuthorizedCredentialID)
		}
		if a.AuthorizedExpiresAt.set() && !now.Before(a.AuthorizedExpiresAt.T) {
			st.Status, st.Native = nhi.StatusExpired, "expired"
		}
		return st, nil
	}
	return absent("no SAML authorisation of credential " + id.NativeID + " in " + id.Scope), nil
}

// stampUsage is the usage a re-read timestamp gives: used at it, never used
// when GitHub gives none, unknown when it gave a value that is not a time.
func stampUsage(t stamp, asOf time.Time, neverReason string) nhi.Usage {
	switch {
	case t.Bad:
		return nhi.Usage{State: nhi.UsageUnknown, Source: usageSource, Reason: "GitHub answered a last-use time that is not a time"}
	case t.set():
		return nhi.Usage{State: nhi.UsageUsed, LastUsed: t.T, Source: usageSource, AsOf: asOf}
	}
	return nhi.Usage{State: nhi.UsageNeverUsed, Source: usageSource, AsOf: asOf, Reason: neverReason}
}
