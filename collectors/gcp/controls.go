package gcp

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	crm "google.golang.org/api/cloudresourcemanager/v3"
	iam "google.golang.org/api/iam/v1"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Controls disables, enables or deletes service account keys and disables
// or enables service accounts. It is built apart from the read-only
// Collector (NewControls), so that code that only scans cannot write.
type Controls struct {
	caller
	iam *iam.Service
	// crm reads and writes project IAM policies (a reduce removes one
	// role binding).
	crm *crm.Service
}

var _ collectors.Controller = (*Controls)(nil)

// NewControls validates the connection settings of cfg (credentials,
// endpoints, retries, call timeout; the scopes to scan are not needed) and
// builds the IAM client. It makes no call.
func NewControls(cfg Config) (*Controls, error) {
	cfg = cfg.withDefaults()
	auth, err := authOptions(cfg)
	if err != nil {
		return nil, fmt.Errorf("gcp config: %w", err)
	}
	svc, err := iam.NewService(context.Background(), clientOptions(cfg, auth, "iam")...)
	if err != nil {
		return nil, fmt.Errorf("gcp clients: %w", err)
	}
	rm, err := crm.NewService(context.Background(), clientOptions(cfg, auth, "cloudresourcemanager")...)
	if err != nil {
		return nil, fmt.Errorf("gcp clients: %w", err)
	}
	return &Controls{caller: newCaller(cfg), iam: svc, crm: rm}, nil
}

// Act disables, enables or deletes a service account key, or disables or
// enables a service account. Every action reads the current state first and
// changes nothing when the target is already in the requested state, so it
// is idempotent. Keys are addressed through the account's project and
// immutable unique id (projects/PROJECT/serviceAccounts/UNIQUE_ID/keys/KEY_ID).
func (c *Controls) Act(ctx context.Context, req collectors.ActionRequest) (collectors.ActionResult, error) {
	if req.GrantID != "" {
		return c.actBinding(ctx, req)
	}
	account, err := accountName(req)
	if err != nil {
		return collectors.ActionResult{}, err
	}
	if req.CredentialID == "" {
		return c.actAccount(ctx, req.Action, account)
	}
	return c.actKey(ctx, req.Action, account+"/keys/"+req.CredentialID)
}

// accountName checks the request's target and returns its service
// account's resource name, addressed through the account's project and
// immutable unique id. Name the account's own project: with the "-"
// wildcard IAM answers a missing key or account with 403 instead of 404,
// which would make a repeated delete look denied rather than done.
func accountName(req collectors.ActionRequest) (string, error) {
	idn := req.Identity
	if idn.Provider != nhi.GCP || idn.Kind != nhi.KindGCPServiceAccount {
		return "", fmt.Errorf("gcp act on %s: %w", idn.ID, collectors.ErrUnsupported)
	}
	if idn.ProviderManaged || idn.NativeID == "" {
		return "", fmt.Errorf("gcp act on %s: Google-managed service agent: %w", idn.ID, collectors.ErrUnsupported)
	}
	if !numeric.MatchString(idn.NativeID) {
		return "", fmt.Errorf("gcp act on %s: native id %q is not a service account unique id: %w", idn.ID, idn.NativeID, collectors.ErrUnsupported)
	}
	if req.CredentialID != "" && !keyIDPattern.MatchString(req.CredentialID) {
		return "", fmt.Errorf("gcp act on %s: credential id %q is not a key id: %w", idn.ID, req.CredentialID, collectors.ErrUnsupported)
	}
	if cred, ok := idn.Credential(req.CredentialID); req.CredentialID != "" && ok && cred.Type != nhi.CredGCPUserManagedKey {
		return "", fmt.Errorf("gcp act on %s credential %s (%s): %w", idn.ID, req.CredentialID, cred.Type, collectors.ErrUnsupported)
	}
	proj := "-"
	if projectIDPattern.MatchString(idn.Scope) {
		proj = idn.Scope
	}
	return "projects/" + proj + "/serviceAccounts/" + idn.NativeID, nil
}

var (
	keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// projectIDPattern admits project ids, including domain-scoped ones
	// ("example.com:my-project").
	projectIDPattern = regexp.MustCompile(`^[a-z][a-z0-9.:-]*[a-z0-9]$`)
)

func state(disabled bool) string {
	if disabled {
		return "disabled"
	}
	return "enabled"
}

func actErr(what string, err error) error {
	return fmt.Errorf("gcp %s: %w", what, err)
}

func (c *Controls) actAccount(ctx context.Context, action collectors.Action, name string) (collectors.ActionResult, error) {
	if action != collectors.Disable && action != collectors.Enable {
		return collectors.ActionResult{}, fmt.Errorf("gcp %s service account %s: %w", action, name, collectors.ErrUnsupported)
	}
	var sa *iam.ServiceAccount
	if err := c.call(ctx, func(ctx context.Context) error {
		var err error
		sa, err = c.iam.Projects.ServiceAccounts.Get(name).Context(ctx).Do()
		return err
	}); err != nil {
		return collectors.ActionResult{}, actErr("get "+name, err)
	}
	want := action == collectors.Disable
	res := collectors.ActionResult{Before: state(sa.Disabled), After: state(want)}
	if sa.Disabled == want {
		res.Detail = "service account already " + state(want)
		return res, nil
	}
	err := c.call(ctx, func(ctx context.Context) error {
		var err error
		if want {
			_, err = c.iam.Projects.ServiceAccounts.Disable(name, &iam.DisableServiceAccountRequest{}).Context(ctx).Do()
		} else {
			_, err = c.iam.Projects.ServiceAccounts.Enable(name, &iam.EnableServiceAccountRequest{}).Context(ctx).Do()
		}
		return err
	})
	if err != nil {
		return collectors.ActionResult{}, actErr(string(action)+" "+name, err)
	}
	res.Changed = true
	return res, nil
}

func (c *Controls) actKey(ctx context.Context, action collectors.Action, name string) (collectors.ActionResult, error) {
	var k *iam.ServiceAccountKey
	err := c.call(ctx, func(ctx context.Context) error {
		var err error
		k, err = c.iam.Projects.ServiceAccounts.Keys.Get(name).Context(ctx).Do()
		return err
	})
	if err != nil {
		if action == collectors.Delete && errors.Is(err, collectors.ErrNotFound) {
			return collectors.ActionResult{Before: "deleted", After: "deleted", Detail: "key already deleted"}, nil
		}
		return collectors.ActionResult{}, actErr("get key "+name, err)
	}
	if k.KeyType == "SYSTEM_MANAGED" {
		return collectors.ActionResult{}, fmt.Errorf("gcp %s key %s: Google-managed key: %w", action, name, collectors.ErrUnsupported)
	}
	before := state(k.Disabled)
	switch action {
	case collectors.Disable, collectors.Enable:
		want := action == collectors.Disable
		res := collectors.ActionResult{Before: before, After: state(want)}
		if k.Disabled == want {
			res.Detail = "key already " + state(want)
			return res, nil
		}
		if reason := exposure(k); !want && reason != "" {
			return collectors.ActionResult{}, fmt.Errorf("gcp enable key %s: Google reports it exposed (%s); rotate instead: %w",
				name, reason, collectors.ErrUnsupported)
		}
		err := c.call(ctx, func(ctx context.Context) error {
			var err error
			if want {
				_, err = c.iam.Projects.ServiceAccounts.Keys.Disable(name, &iam.DisableServiceAccountKeyRequest{}).Context(ctx).Do()
			} else {
				_, err = c.iam.Projects.ServiceAccounts.Keys.Enable(name, &iam.EnableServiceAccountKeyRequest{}).Context(ctx).Do()
			}
			return err
		})
		if err != nil {
			return collectors.ActionResult{}, actErr(string(action)+" key "+name, err)
		}
		res.Changed = true
		return res, nil
	case collectors.Delete:
		err := c.call(ctx, func(ctx context.Context) error {
			_, err := c.iam.Projects.ServiceAccounts.Keys.Delete(name).Context(ctx).Do()
			return err
		})
		if err != nil {
			return collectors.ActionResult{}, actErr("delete key "+name, err)
		}
		return collectors.ActionResult{Changed: true, Before: before, After: "deleted",
			Detail: "a deleted service account key cannot be restored"}, nil
	}
	return collectors.ActionResult{}, fmt.Errorf("gcp %s key %s: %w", action, name, collectors.ErrUnsupported)
}

// exposure names why Google considers a key exposed or compromised, from
// its disable reason or its extended status; empty when it does not.
func exposure(k *iam.ServiceAccountKey) string {
	if exposedStatus[k.DisableReason] {
		return k.DisableReason
	}
	for _, e := range k.ExtendedStatus {
		if e != nil && exposedStatus[e.Key] {
			return e.Key
		}
	}
	return ""
}

var _ collectors.Inspector = (*Controls)(nil)

// Inspect re-reads one target, read-only: a service account key with
// keys.get (its status and creation; IAM reports no last use of a single
// key, so Usage is not reported and the workflow compares id and state),
// or the service account with serviceAccounts.get (its unique id and
// status). A target that is gone is Exists false.
func (c *Controls) Inspect(ctx context.Context, req collectors.ActionRequest) (collectors.TargetState, error) {
	if req.GrantID != "" {
		return c.inspectBinding(ctx, req)
	}
	account, err := accountName(req)
	if err != nil {
		return collectors.TargetState{}, err
	}
	notReported := nhi.Usage{State: nhi.UsageNotReported, Reason: "IAM reports no last use of a single key or account in one call"}
	if req.CredentialID == "" {
		var sa *iam.ServiceAccount
		err := c.call(ctx, func(ctx context.Context) error {
			var err error
			sa, err = c.iam.Projects.ServiceAccounts.Get(account).Context(ctx).Do()
			return err
		})
		switch {
		case errors.Is(err, collectors.ErrNotFound):
			return collectors.TargetState{Usage: notReported, Detail: "service account " + account + " no longer exists"}, nil
		case err != nil:
			return collectors.TargetState{}, actErr("get "+account, err)
		}
		return collectors.TargetState{Exists: true, ID: sa.UniqueId, Status: status(sa.Disabled), Native: state(sa.Disabled), Usage: notReported}, nil
	}
	name := account + "/keys/" + req.CredentialID
	var k *iam.ServiceAccountKey
	err = c.call(ctx, func(ctx context.Context) error {
		var err error
		k, err = c.iam.Projects.ServiceAccounts.Keys.Get(name).Context(ctx).Do()
		return err
	})
	switch {
	case errors.Is(err, collectors.ErrNotFound):
		return collectors.TargetState{Usage: notReported, Detail: "key " + name + " no longer exists"}, nil
	case err != nil:
		return collectors.TargetState{}, actErr("get key "+name, err)
	}
	st := collectors.TargetState{Exists: true, ID: req.CredentialID, Status: status(k.Disabled), Native: state(k.Disabled), Usage: notReported}
	if t, err := time.Parse(time.RFC3339, k.ValidAfterTime); err == nil {
		st.Created = t.UTC()
	}
	if reason := exposure(k); reason != "" {
		st.Detail = "Google reports the key exposed: " + reason
	}
	return st, nil
}

func status(disabled bool) nhi.Status {
	if disabled {
		return nhi.StatusDisabled
	}
	return nhi.StatusActive
}
