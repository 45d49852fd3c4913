package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// restoreData is what a Delete keeps so Restore can undo it: the public
// definition of a certificate or of a federated credential. Never a secret.
type restoreData struct {
	Kind        string         `json:"kind"` // certificate | federated-credential
	Origin      string         `json:"origin"`
	ObjectID    string         `json:"object_id"`
	Certificate *keyCredential `json:"certificate,omitempty"`
	Federated   *ficWire       `json:"federated_credential,omitempty"`
}

// Controls performs the credential controls on one Entra tenant through
// Microsoft Graph. It is built separately from the read-only Collector
// (NewControls), so code that only scans holds nothing that can write.
type Controls struct {
	graph *graphClient
	now   func() time.Time
}

var _ collectors.Controller = (*Controls)(nil)

// NewControls checks the configuration and builds the credential controls
// of the tenant. It reads the same Config as New (the identity that acts
// should be a different one from the scanner's) and contacts nothing.
func NewControls(cfg Config) (*Controls, error) {
	cl, err := newClients(cfg)
	if err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Controls{graph: cl.graph, now: now}, nil
}

// Act performs a credential control. Disable and Enable switch a service
// principal's accountEnabled (Entra has no disabled state for a single
// secret or certificate); Delete removes a client secret (irreversible), a
// certificate or a federated credential (both restorable); Restore re-adds
// a removed certificate or federated credential. Every action reads the
// live state first and is idempotent.
func (c *Controls) Act(ctx context.Context, req collectors.ActionRequest) (collectors.ActionResult, error) {
	id := req.Identity
	if id.Provider != "" && id.Provider != nhi.Azure {
		return collectors.ActionResult{}, fmt.Errorf("azure: identity %s belongs to %s: %w", id.ID, id.Provider, collectors.ErrUnsupported)
	}
	switch req.Action {
	case collectors.Disable, collectors.Enable:
		if req.CredentialID != "" {
			return collectors.ActionResult{}, fmt.Errorf("azure: Entra cannot disable one secret or certificate; disable the service principal or delete the credential: %w", collectors.ErrUnsupported)
		}
		return c.setEnabled(ctx, id, req.Action == collectors.Enable)
	case collectors.Delete:
		if req.CredentialID == "" {
			return collectors.ActionResult{}, fmt.Errorf("azure: deleting an application or service principal is not offered: %w", collectors.ErrUnsupported)
		}
		return c.deleteCredential(ctx, id, strings.ToLower(req.CredentialID))
	case collectors.Restore:
		return c.restore(ctx, req.RestoreData)
	}
	return collectors.ActionResult{}, fmt.Errorf("azure: action %q: %w", req.Action, collectors.ErrUnsupported)
}

// checkObjectID refuses an id that is not an Entra object id (a GUID)
// before it reaches a URL: an empty id would name the collection itself,
// and the action would answer for an object it never touched.
func checkObjectID(what, id string) error {
	if !isGUID(id) {
		return fmt.Errorf("azure: %s %q is not an Entra object id: %w", what, id, collectors.ErrUnsupported)
	}
	return nil
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return true
}

func (c *Controls) spPath(id string) string {
	return c.graph.base + "/v1.0/servicePrincipals/" + url.PathEscape(id)
}

func (c *Controls) appPath(id string) string {
	return c.graph.base + "/v1.0/applications/" + url.PathEscape(id)
}

func state(enabled bool) string {
	if enabled {
		return "enabled"
	}
	return "disabled"
}

func (c *Controls) setEnabled(ctx context.Context, id nhi.Identity, enable bool) (collectors.ActionResult, error) {
	spID := id.NativeID
	if id.Kind == nhi.KindEntraApplication {
		spID = id.Attributes["service_principal_id"]
		if spID == "" {
			return collectors.ActionResult{}, fmt.Errorf("azure: application %s has no service principal in this tenant: %w", id.NativeID, collectors.ErrUnsupported)
		}
	}
	if err := checkObjectID("service principal", spID); err != nil {
		return collectors.ActionResult{}, err
	}
	var sp servicePrincipal
	if err := c.graph.do(ctx, opSPGet, http.MethodGet, c.spPath(spID)+"?$select=id,accountEnabled,servicePrincipalType", nil, &sp); err != nil {
		return collectors.ActionResult{}, fmt.Errorf("azure: read service principal %s: %w", spID, err)
	}
	if sp.ServicePrincipalType == spTypeManagedIdentity {
		return collectors.ActionResult{}, fmt.Errorf("azure: managed identity %s cannot be disabled in Entra; remove its role assignments instead: %w", spID, collectors.ErrUnsupported)
	}
	before := sp.AccountEnabled == nil || *sp.AccountEnabled
	if before == enable {
		return collectors.ActionResult{Before: state(before), After: state(before), Detail: "service principal already " + state(before)}, nil
	}
	if err := c.graph.do(ctx, opSPUpdate, http.MethodPatch, c.spPath(spID), map[string]bool{"accountEnabled": enable}, nil); err != nil {
		return collectors.ActionResult{}, fmt.Errorf("azure: set accountEnabled=%t on %s: %w", enable, spID, err)
	}
	return collectors.ActionResult{Changed: true, Before: state(before), After: state(enable),
		Detail: "service principal " + spID + " accountEnabled=" + fmt.Sprint(enable)}, nil
}

// Action sources, for errors.
const (
	opSPGet          = "graph:servicePrincipals.get"
	opSPUpdate       = "graph:servicePrincipals.update"
	opAppGet         = "graph:applications.get"
	opAppUpdate      = "graph:applications.update"
	opAppRemovePwd   = "graph:applications.removePassword"
	opSPRemovePwd    = "graph:servicePrincipals.removePassword"
	opFICGet         = "graph:applications.federatedIdentityCredentials.get"
	opFICDelete      = "graph:applications.federatedIdentityCredentials.delete"
	opFICCreate      = "graph:applications.federatedIdentityCredentials.create"
	originApp        = "application"
	originSP         = "servicePrincipal"
	originMI         = "managedIdentity"
	kindCertificate  = "certificate"
	kindFederatedCrd = "federated-credential"
)

// target finds which object holds a credential and of what type it is,
// from the collected identity.
func target(id nhi.Identity, credID string) (objectID, origin string, typ nhi.CredentialType, err error) {
	cr, ok := id.Credential(credID)
	if !ok {
		return "", "", "", fmt.Errorf("azure: identity %s has no credential %s: %w", id.ID, credID, collectors.ErrNotFound)
	}
	origin = cr.Attributes["origin"]
	switch {
	case origin == originSP && id.Kind == nhi.KindEntraApplication:
		objectID = id.Attributes["service_principal_id"]
	case origin == originSP:
		objectID = id.NativeID
	case id.Kind == nhi.KindEntraApplication:
		objectID, origin = id.NativeID, originApp
	default:
		return "", "", "", fmt.Errorf("azure: credential %s has no known holder: %w", credID, collectors.ErrUnsupported)
	}
	return objectID, origin, cr.Type, nil
}

func (c *Controls) objectPath(origin, id string) (path, getOp, updateOp string) {
	if origin == originSP {
		return c.spPath(id), opSPGet, opSPUpdate
	}
	return c.appPath(id), opAppGet, opAppUpdate
}

func (c *Controls) deleteCredential(ctx context.Context, id nhi.Identity, credID string) (collectors.ActionResult, error) {
	objID, origin, typ, err := target(id, credID)
	if err != nil {
		return collectors.ActionResult{}, err
	}
	if err := checkObjectID("holder of credential "+credID, objID); err != nil {
		return collectors.ActionResult{}, err
	}
	if typ == nhi.CredEntraFederated {
		if err := checkObjectID("federated credential", credID); err != nil {
			return collectors.ActionResult{}, err
		}
	}
	path, getOp, updateOp := c.objectPath(origin, objID)
	switch typ {
	case nhi.CredEntraClientSecret:
		var obj struct {
			PasswordCredentials []passwordCredential `json:"passwordCredentials"`
		}
		if err := c.graph.do(ctx, getOp, http.MethodGet, path+"?$select=id,passwordCredentials", nil, &obj); err != nil {
			return collectors.ActionResult{}, fmt.Errorf("azure: read %s: %w", objID, err)
		}
		if !hasSecret(obj.PasswordCredentials, credID) {
			return collectors.ActionResult{Before: "absent", After: "absent", Detail: "client secret already removed"}, nil
		}
		removeOp := opAppRemovePwd
		if origin == originSP {
			removeOp = opSPRemovePwd
		}
		if err := c.graph.do(ctx, removeOp, http.MethodPost, path+"/removePassword", map[string]string{"keyId": credID}, nil); err != nil {
			return collectors.ActionResult{}, fmt.Errorf("azure: remove client secret %s: %w", credID, err)
		}
		return collectors.ActionResult{Changed: true, Before: "present", After: "absent",
			Detail: "client secret removed; this cannot be undone (issue a new secret instead)"}, nil
	case nhi.CredEntraCertificate:
		keys, err := c.keyCredentials(ctx, path, getOp)
		if err != nil {
			return collectors.ActionResult{}, fmt.Errorf("azure: read %s: %w", objID, err)
		}
		var others []keyCredential
		var removed *keyCredential
		for i := range keys {
			if strings.EqualFold(keys[i].KeyID, credID) {
				removed = &keys[i]
				continue
			}
			others = append(others, keys[i])
		}
		if removed == nil {
			return collectors.ActionResult{Before: "absent", After: "absent", Detail: "certificate already removed"}, nil
		}
		kept := *removed
		detail := "certificate removed; its public certificate is kept for Restore"
		if !publicKey(kept) {
			// The key of a symmetric or password-protected credential is
			// a secret: never kept, so this removal cannot be undone.
			kept.Key = ""
			detail = "key credential of type " + kept.Type + " removed; it cannot be restored"
		}
		rd, err := json.Marshal(restoreData{Kind: kindCertificate, Origin: origin, ObjectID: objID, Certificate: &kept})
		if err != nil {
			return collectors.ActionResult{}, err
		}
		if others == nil {
			others = []keyCredential{}
		}
		if err := c.graph.do(ctx, updateOp, http.MethodPatch, path, map[string]any{"keyCredentials": others}, nil); err != nil {
			return collectors.ActionResult{}, fmt.Errorf("azure: remove certificate %s: %w", credID, err)
		}
		return collectors.ActionResult{Changed: true, Before: "present", After: "absent", RestoreData: rd,
			Detail: detail}, nil
	case nhi.CredEntraFederated:
		var f ficWire
		err := c.graph.do(ctx, opFICGet, http.MethodGet, c.appPath(objID)+"/federatedIdentityCredentials/"+url.PathEscape(credID), nil, &f)
		if errors.Is(err, collectors.ErrNotFound) {
			return collectors.ActionResult{Before: "absent", After: "absent", Detail: "federated credential already removed"}, nil
		}
		if err != nil {
			return collectors.ActionResult{}, fmt.Errorf("azure: read federated credential %s: %w", credID, err)
		}
		rd, err := json.Marshal(restoreData{Kind: kindFederatedCrd, Origin: originApp, ObjectID: objID,
			Federated: &ficWire{Name: f.Name, Issuer: f.Issuer, Subject: f.Subject, Audiences: f.Audiences, Description: f.Description}})
		if err != nil {
			return collectors.ActionResult{}, err
		}
		if err := c.graph.do(ctx, opFICDelete, http.MethodDelete, c.appPath(objID)+"/federatedIdentityCredentials/"+url.PathEscape(credID), nil, nil); err != nil {
			return collectors.ActionResult{}, fmt.Errorf("azure: remove federated credential %s: %w", credID, err)
		}
		return collectors.ActionResult{Changed: true, Before: "present", After: "absent", RestoreData: rd,
			Detail: "federated credential removed; its definition is kept for Restore"}, nil
	}
	return collectors.ActionResult{}, fmt.Errorf("azure: credential type %s: %w", typ, collectors.ErrUnsupported)
}

// publicKey reports whether a key credential's key is a public
// certificate, safe to keep for Restore.
func publicKey(k keyCredential) bool {
	return strings.EqualFold(k.Type, "AsymmetricX509Cert")
}

func hasSecret(pcs []passwordCredential, keyID string) bool {
	for _, p := range pcs {
		if strings.EqualFold(p.KeyID, keyID) {
			return true
		}
	}
	return false
}

// keyCredentials reads an object's certificates with their public keys (a
// single-object read selecting keyCredentials returns them).
func (c *Controls) keyCredentials(ctx context.Context, path, op string) ([]keyCredential, error) {
	var obj struct {
		KeyCredentials []keyCredential `json:"keyCredentials"`
	}
	err := c.graph.do(ctx, op, http.MethodGet, path+"?$select=id,keyCredentials", nil, &obj)
	return obj.KeyCredentials, err
}

func (c *Controls) restore(ctx context.Context, raw json.RawMessage) (collectors.ActionResult, error) {
	var rd restoreData
	if len(raw) == 0 {
		return collectors.ActionResult{}, fmt.Errorf("azure: restore needs the RestoreData of a Delete: %w", collectors.ErrUnsupported)
	}
	if err := json.Unmarshal(raw, &rd); err != nil {
		return collectors.ActionResult{}, fmt.Errorf("azure: restore data: %w", err)
	}
	if err := checkObjectID("restore target", rd.ObjectID); err != nil {
		return collectors.ActionResult{}, err
	}
	switch rd.Kind {
	case kindCertificate:
		if rd.Certificate == nil || rd.Certificate.Key == "" || !publicKey(*rd.Certificate) {
			return collectors.ActionResult{}, errors.New("azure: restore data has no public certificate")
		}
		path, getOp, updateOp := c.objectPath(rd.Origin, rd.ObjectID)
		keys, err := c.keyCredentials(ctx, path, getOp)
		if err != nil {
			return collectors.ActionResult{}, fmt.Errorf("azure: read %s: %w", rd.ObjectID, err)
		}
		for _, k := range keys {
			if strings.EqualFold(k.KeyID, rd.Certificate.KeyID) {
				return collectors.ActionResult{Before: "present", After: "present", Detail: "certificate already present"}, nil
			}
		}
		keys = append(keys, *rd.Certificate)
		if err := c.graph.do(ctx, updateOp, http.MethodPatch, path, map[string]any{"keyCredentials": keys}, nil); err != nil {
			return collectors.ActionResult{}, fmt.Errorf("azure: restore certificate %s: %w", rd.Certificate.KeyID, err)
		}
		return collectors.ActionResult{Changed: true, Before: "absent", After: "present", Detail: "certificate re-added"}, nil
	case kindFederatedCrd:
		if rd.Federated == nil {
			return collectors.ActionResult{}, errors.New("azure: restore data has no federated credential")
		}
		base := c.appPath(rd.ObjectID) + "/federatedIdentityCredentials"
		var exists bool
		err := list(ctx, c.graph, opFederatedPerApp, strings.TrimPrefix(base, c.graph.base), func(f ficWire) {
			exists = exists || f.Name == rd.Federated.Name
		})
		if err != nil {
			return collectors.ActionResult{}, fmt.Errorf("azure: read federated credentials of %s: %w", rd.ObjectID, err)
		}
		if exists {
			return collectors.ActionResult{Before: "present", After: "present", Detail: "federated credential already present"}, nil
		}
		var created ficWire
		if err := c.graph.do(ctx, opFICCreate, http.MethodPost, base, rd.Federated, &created); err != nil {
			return collectors.ActionResult{}, fmt.Errorf("azure: restore federated credential %s: %w", rd.Federated.Name, err)
		}
		return collectors.ActionResult{Changed: true, Before: "absent", After: "present",
			Detail: "federated credential re-created with id " + created.ID}, nil
	}
	return collectors.ActionResult{}, fmt.Errorf("azure: restore kind %q: %w", rd.Kind, collectors.ErrUnsupported)
}

var _ collectors.Inspector = (*Controls)(nil)

// notReported is the usage of a re-read: Entra's sign-in reports are a
// separate, delayed source, not a property of the object.
var notReported = nhi.Usage{State: nhi.UsageNotReported, Reason: "Entra reports sign-ins separately from the object"}

// Inspect re-reads one target, read-only: a service principal (the
// application's, for an application) with its accountEnabled; an
// application's or service principal's client secret or certificate in
// its passwordCredentials or keyCredentials (active, or expired past its
// end date); a federated credential by id. A target that is gone is
// Exists false.
func (c *Controls) Inspect(ctx context.Context, req collectors.ActionRequest) (collectors.TargetState, error) {
	id := req.Identity
	if id.Provider != "" && id.Provider != nhi.Azure {
		return collectors.TargetState{}, fmt.Errorf("azure: identity %s belongs to %s: %w", id.ID, id.Provider, collectors.ErrUnsupported)
	}
	if req.CredentialID == "" {
		return c.inspectPrincipal(ctx, id)
	}
	credID := strings.ToLower(req.CredentialID)
	objID, origin, typ, err := target(id, credID)
	if err != nil {
		return collectors.TargetState{}, err
	}
	if err := checkObjectID("holder of credential "+credID, objID); err != nil {
		return collectors.TargetState{}, err
	}
	path, getOp, _ := c.objectPath(origin, objID)
	if typ == nhi.CredEntraFederated {
		if err := checkObjectID("federated credential", credID); err != nil {
			return collectors.TargetState{}, err
		}
		var f ficWire
		err := c.graph.do(ctx, opFICGet, http.MethodGet, c.appPath(objID)+"/federatedIdentityCredentials/"+url.PathEscape(credID), nil, &f)
		if errors.Is(err, collectors.ErrNotFound) {
			return collectors.TargetState{Usage: notReported, Detail: "federated credential " + credID + " no longer exists"}, nil
		}
		if err != nil {
			return collectors.TargetState{}, fmt.Errorf("azure: read federated credential %s: %w", credID, err)
		}
		return collectors.TargetState{Exists: true, ID: f.ID, Status: nhi.StatusActive, Native: "present", Usage: notReported}, nil
	}
	var obj struct {
		PasswordCredentials []passwordCredential `json:"passwordCredentials"`
		KeyCredentials      []keyCredential      `json:"keyCredentials"`
	}
	err = c.graph.do(ctx, getOp, http.MethodGet, path+"?$select=id,passwordCredentials,keyCredentials", nil, &obj)
	if errors.Is(err, collectors.ErrNotFound) {
		return collectors.TargetState{Usage: notReported, Detail: "object " + objID + " no longer exists"}, nil
	}
	if err != nil {
		return collectors.TargetState{}, fmt.Errorf("azure: read %s: %w", objID, err)
	}
	for _, p := range obj.PasswordCredentials {
		if strings.EqualFold(p.KeyID, credID) && typ == nhi.CredEntraClientSecret {
			return c.credState(p.KeyID, p.StartDateTime.t, p.EndDateTime.t), nil
		}
	}
	for _, k := range obj.KeyCredentials {
		if strings.EqualFold(k.KeyID, credID) && typ == nhi.CredEntraCertificate {
			return c.credState(k.KeyID, k.StartDateTime.t, k.EndDateTime.t), nil
		}
	}
	return collectors.TargetState{Usage: notReported, Detail: string(typ) + " " + credID + " no longer exists"}, nil
}

func (c *Controls) credState(id string, start, end time.Time) collectors.TargetState {
	st := collectors.TargetState{Exists: true, ID: id, Status: nhi.StatusActive, Native: "present", Created: start.UTC(), Usage: notReported}
	if !end.IsZero() && end.Before(c.now()) {
		st.Status, st.Native = nhi.StatusExpired, "present, expired "+end.UTC().Format(time.RFC3339)
	}
	return st
}

// inspectPrincipal re-reads a service principal, or an application and
// its service principal.
func (c *Controls) inspectPrincipal(ctx context.Context, id nhi.Identity) (collectors.TargetState, error) {
	spID, appID := id.NativeID, ""
	if id.Kind == nhi.KindEntraApplication {
		if err := checkObjectID("application", id.NativeID); err != nil {
			return collectors.TargetState{}, err
		}
		var app struct {
			ID string `json:"id"`
		}

		err := c.graph.do(ctx, opAppGet, http.MethodGet, c.appPath(id.NativeID)+"?$select=id", nil, &app)
		if errors.Is(err, collectors.ErrNotFound) {
			return collectors.TargetState{Usage: notReported, Detail: "application " + id.NativeID + " no longer exists"}, nil
		}
		if err != nil {
			return collectors.TargetState{}, fmt.Errorf("azure: read application %s: %w", id.NativeID, err)
		}
		spID, appID = id.Attributes["service_principal_id"], app.ID
	}
	if err := checkObjectID("service principal", spID); err != nil {
		return collectors.TargetState{}, err
	}
	var sp servicePrincipal
	err := c.graph.do(ctx, opSPGet, http.MethodGet, c.spPath(spID)+"?$select=id,accountEnabled,servicePrincipalType", nil, &sp)
	if errors.Is(err, collectors.ErrNotFound) {
		return collectors.TargetState{Usage: notReported, Detail: "service principal " + spID + " no longer exists"}, nil
	}
	if err != nil {
		return collectors.TargetState{}, fmt.Errorf("azure: read service principal %s: %w", spID, err)
	}
	enabled := sp.AccountEnabled == nil || *sp.AccountEnabled
	st := collectors.TargetState{Exists: true, ID: sp.ID, Status: nhi.StatusActive, Native: "accountEnabled=true", Usage: notReported}
	if id.Kind == nhi.KindEntraApplication {
		st.ID = appID
	}
	if !enabled {
		st.Status, st.Native = nhi.StatusDisabled, "accountEnabled=false"
	}
	return st, nil
}
