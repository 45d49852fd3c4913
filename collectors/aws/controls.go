package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

const quarantineDoc = `{"Version":"2012-10-17","Statement":[{"Sid":"NhiscanQuarantine","Effect":"Deny","Action":"*","Resource":"*"}]}`

func revokeSessionsDoc(before string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"` + before + `"}}}]}`
}

// Controls performs the AWS credential controls. It is built apart from the
// read-only Collector, from the same Config, so that code that only scans
// holds nothing that can write.
type Controls struct {
	cfg      Config
	sessions *sessions
}

var _ collectors.Controller = (*Controls)(nil)

// NewControls checks cfg and returns a Controls. It makes no network call.
// The role it assumes in each account (RoleName) needs the revocation
// permissions listed in the package README.
func NewControls(cfg Config) (*Controls, error) {
	cfg, err := cfg.complete()
	if err != nil {
		return nil, err
	}
	return &Controls{cfg: cfg, sessions: newSessions(cfg)}, nil
}

// Act performs a credential control:
//   - access key or service-specific credential: disable (Inactive), enable
//     (Active), delete (irreversible; a later, separate step);
//   - role: disable puts the deny-all inline policy nhiscan-quarantine and
//     AWSRevokeOlderSessions (denies sessions issued before now); enable
//     removes nhiscan-quarantine and leaves the session revocation;
//   - user: disable and enable put and remove nhiscan-quarantine.
//
// A role or user is acted on only while its immutable id is still the
// collected NativeID. Acting on a target already in the requested state
// succeeds with Changed false. Errors wrap collectors.ErrDenied, ErrNotFound, ErrThrottled or
// ErrUnsupported.
func (c *Controls) Act(ctx context.Context, req collectors.ActionRequest) (collectors.ActionResult, error) {
	idn := req.Identity
	if idn.Provider != nhi.AWS || !validAccountID(idn.Scope) || idn.Name == "" {
		return collectors.ActionResult{}, fmt.Errorf("aws: act on %q: identity needs provider aws, an account scope and a name: %w", idn.ID, collectors.ErrUnsupported)
	}
	client, _, err := c.sessions.iam(ctx, idn.Scope)
	if err != nil {
		return collectors.ActionResult{}, err
	}
	var res collectors.ActionResult
	switch {
	case req.GrantID != "":
		res, err = c.actGrant(ctx, client, req)
	case req.CredentialID != "" && idn.Kind == nhi.KindAWSUser && credType(idn, req.CredentialID) == nhi.CredAWSAccessKey:
		res, err = c.actAccessKey(ctx, client, idn.Name, req.CredentialID, req.Action)
	case req.CredentialID != "" && idn.Kind == nhi.KindAWSUser:
		res, err = c.actServiceCred(ctx, client, idn.Name, req.CredentialID, req.Action)
	case req.CredentialID == "" && idn.Kind == nhi.KindAWSRole:
		if idn.ProviderManaged || awsManagedPath(idn.Path) {
			return res, fmt.Errorf("aws: quarantine AWS-managed role %s: %w", idn.Name, collectors.ErrUnsupported)
		}
		if err = sameIdentity(ctx, roleTarget{client, idn.Name}, idn); err == nil {
			res, err = c.quarantine(ctx, roleTarget{client, idn.Name}, req.Action)
		}
	case req.CredentialID == "" && idn.Kind == nhi.KindAWSUser:
		if err = sameIdentity(ctx, userTarget{client, idn.Name}, idn); err == nil {
			res, err = c.quarantine(ctx, userTarget{client, idn.Name}, req.Action)
		}
	default:
		return res, fmt.Errorf("aws: %s on %s: %w", req.Action, idn.Kind, collectors.ErrUnsupported)
	}
	if err != nil {
		return res, fmt.Errorf("aws: %s %s %s in %s: %w", req.Action, idn.Name, req.CredentialID, idn.Scope, translate(err))
	}
	c.cfg.Logger.Info("aws action", "action", string(req.Action), "account", idn.Scope, "identity", idn.Name,
		"credential", req.CredentialID, "grant", req.GrantID, "changed", res.Changed, "before", res.Before, "after", res.After)
	return res, nil
}

func credType(idn nhi.Identity, credID string) nhi.CredentialType {
	if cr, ok := idn.Credential(credID); ok {
		return cr.Type
	}
	if strings.HasPrefix(credID, "AKIA") || strings.HasPrefix(credID, "ASIA") {
		return nhi.CredAWSAccessKey
	}
	return nhi.CredAWSServiceSpecific
}

func (c *Controls) actAccessKey(ctx context.Context, client *iam.Client, user, keyID string, action collectors.Action) (collectors.ActionResult, error) {
	current := ""
	p := iam.NewListAccessKeysPaginator(client, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	for p.HasMorePages() && current == "" {
		page, err := p.NextPage(ctx)
		if apiCode(err) == "NoSuchEntity" {
			break // the user is gone, and its keys with it
		}
		if err != nil {
			return collectors.ActionResult{}, err
		}
		for _, k := range page.AccessKeyMetadata {
			if aws.ToString(k.AccessKeyId) == keyID {
				current = string(k.Status)
			}
		}
	}
	return applyStatus(ctx, current, action, "access key "+keyID,
		func(st types.StatusType) error {
			_, err := client.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(keyID), Status: st})
			return err
		},
		func() error {
			_, err := client.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(keyID)})
			return err
		})
}

func (c *Controls) actServiceCred(ctx context.Context, client *iam.Client, user, credID string, action collectors.Action) (collectors.ActionResult, error) {
	out, err := client.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{UserName: aws.String(user)})
	if apiCode(err) == "NoSuchEntity" {
		out, err = &iam.ListServiceSpecificCredentialsOutput{}, nil // the user is gone, and its credentials with it
	}
	if err != nil {
		return collectors.ActionResult{}, err
	}
	current := ""
	for _, s := range out.ServiceSpecificCredentials {
		if aws.ToString(s.ServiceSpecificCredentialId) == credID {
			current = string(s.Status)
		}
	}
	return applyStatus(ctx, current, action, "service-specific credential "+credID,
		func(st types.StatusType) error {
			_, err := client.UpdateServiceSpecificCredential(ctx, &iam.UpdateServiceSpecificCredentialInput{UserName: aws.String(user), ServiceSpecificCredentialId: aws.String(credID), Status: st})
			return err
		},
		func() error {
			_, err := client.DeleteServiceSpecificCredential(ctx, &iam.DeleteServiceSpecificCredentialInput{UserName: aws.String(user), ServiceSpecificCredentialId: aws.String(credID)})
			return err
		})
}

// applyStatus moves a credential whose current status is current ("" when
// it does not exist) to the state action asks for.
func applyStatus(_ context.Context, current string, action collectors.Action, what string, update func(types.StatusType) error, del func() error) (collectors.ActionResult, error) {
	const gone = "Deleted"
	res := collectors.ActionResult{Before: current, After: current}
	if current == "" {
		res.Before, res.After = gone, gone
		if action == collectors.Delete {
			res.Detail = what + " already deleted"
			return res, nil
		}
		return res, fmt.Errorf("%s: %w", what, collectors.ErrNotFound)
	}
	switch action {
	case collectors.Disable, collectors.Enable:
		want := types.StatusTypeInactive
		if action == collectors.Enable {
			want = types.StatusTypeActive
		}
		res.After = string(want)
		if current == string(want) {
			res.Detail = what + " already " + string(want)
			return res, nil
		}
		if err := update(want); err != nil {
			return res, err
		}
		res.Changed = true
	case collectors.Delete:
		if err := del(); apiCode(err) == "NoSuchEntity" {
			res.After, res.Detail = gone, what+" already deleted"
			return res, nil // deleted by someone else since it was listed
		} else if err != nil {
			return res, err
		}
		res.Changed, res.After = true, gone
		res.Detail = what + " deleted: this cannot be undone"
	default:
		return res, fmt.Errorf("%s on %s: %w", action, what, collectors.ErrUnsupported)
	}
	return res, nil
}

// sameIdentity checks that the role or user now carrying idn's name is the
// one that was collected: IAM names are reused, ids are not. A role deleted
// and created again under the same name, or a same-named role in another
// account reached with the wrong credentials, is not acted on.
func sameIdentity(ctx context.Context, t inlineTarget, idn nhi.Identity) error {
	if idn.NativeID == "" {
		return nil
	}
	id, err := t.id(ctx)
	if err != nil {
		return err
	}
	if id != idn.NativeID {
		return fmt.Errorf("%s now has id %s, not the collected %s (deleted and created again?): %w", idn.Name, id, idn.NativeID, collectors.ErrNotFound)
	}
	return nil
}

// inlineTarget is a role or user that can carry inline policies.
type inlineTarget interface {
	id(ctx context.Context) (string, error)
	get(ctx context.Context, name string) (bool, error)
	put(ctx context.Context, name, doc string) error
	del(ctx context.Context, name string) error
	role() bool
}

type roleTarget struct {
	c    *iam.Client
	name string
}

func (t roleTarget) role() bool { return true }
func (t roleTarget) id(ctx context.Context) (string, error) {
	out, err := t.c.GetRole(ctx, &iam.GetRoleInput{RoleName: &t.name})
	if err != nil || out.Role == nil {
		return "", err
	}
	return aws.ToString(out.Role.RoleId), nil
}
func (t roleTarget) get(ctx context.Context, p string) (bool, error) {
	_, err := t.c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &t.name, PolicyName: &p})
	return exists(err)
}
func (t roleTarget) put(ctx context.Context, p, doc string) error {
	_, err := t.c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &t.name, PolicyName: &p, PolicyDocument: &doc})
	return err
}
func (t roleTarget) del(ctx context.Context, p string) error {
	_, err := t.c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: &t.name, PolicyName: &p})
	return err
}

type userTarget struct {
	c    *iam.Client
	name string
}

func (t userTarget) role() bool { return false }
func (t userTarget) id(ctx context.Context) (string, error) {
	out, err := t.c.GetUser(ctx, &iam.GetUserInput{UserName: &t.name})
	if err != nil || out.User == nil {
		return "", err
	}
	return aws.ToString(out.User.UserId), nil
}
func (t userTarget) get(ctx context.Context, p string) (bool, error) {
	_, err := t.c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: &t.name, PolicyName: &p})
	return exists(err)
}
func (t userTarget) put(ctx context.Context, p, doc string) error {
	_, err := t.c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &t.name, PolicyName: &p, PolicyDocument: &doc})
	return err
}
func (t userTarget) del(ctx context.Context, p string) error {
	_, err := t.c.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: &t.name, PolicyName: &p})
	return err
}

func exists(err error) (bool, error) {
	if err == nil {
		return true, nil
	}
	if apiCode(err) == "NoSuchEntity" {
		return false, nil
	}
	return false, err
}

func (c *Controls) quarantine(ctx context.Context, t inlineTarget, action collectors.Action) (collectors.ActionResult, error) {
	on, err := t.get(ctx, QuarantinePolicy)
	if err != nil {
		return collectors.ActionResult{}, err
	}
	res := collectors.ActionResult{Before: "Active", After: "Active"}
	if on {
		res.Before, res.After = "Quarantined", "Quarantined"
	}
	switch action {
	case collectors.Disable:
		res.After = "Quarantined"
		if on {
			res.Detail = "already quarantined"
			return res, nil
		}
		if err := t.put(ctx, QuarantinePolicy, quarantineDoc); err != nil {
			return res, err
		}
		res.Changed = true
		res.Detail = "inline deny-all policy " + QuarantinePolicy + " added"
		if t.role() {
			now := c.cfg.Now().UTC().Format("2006-01-02T15:04:05Z")
			if err := t.put(ctx, RevokeSessionsPolicy, revokeSessionsDoc(now)); err != nil {
				return res, fmt.Errorf("quarantined, but revoking older sessions: %w", err)
			}
			res.Detail += "; sessions issued before " + now + " revoked with " + RevokeSessionsPolicy
		}
	case collectors.Enable:
		res.After = "Active"
		if !on {
			res.Detail = "not quarantined"
			return res, nil
		}
		if err := t.del(ctx, QuarantinePolicy); err != nil {
			return res, err
		}
		res.Changed = true
		res.Detail = "inline policy " + QuarantinePolicy + " removed"
		if t.role() {
			res.Detail += "; " + RevokeSessionsPolicy + " kept: sessions from before the quarantine stay revoked"
		}
	default:
		return res, fmt.Errorf("%s: %w", action, collectors.ErrUnsupported)
	}
	return res, nil
}

var _ collectors.Inspector = (*Controls)(nil)

// Inspect re-reads one target, read-only:
//   - access key: its status and creation from ListAccessKeys and its last
//     use from GetAccessKeyLastUsed (exact for this one key, even when two
//     keys of the user were created in the same second);
//   - service-specific credential: status and creation (IAM reports no
//     use of them);
//   - role: GetRole (id, creation, RoleLastUsed) and whether the
//     nhiscan-quarantine policy is on it (then it is disabled);
//   - user: GetUser and the quarantine policy.
//
// The user or role must still carry the collected immutable id: a name
// reused by a new principal is the old target gone (Exists false).
func (c *Controls) Inspect(ctx context.Context, req collectors.ActionRequest) (collectors.TargetState, error) {
	idn := req.Identity
	if idn.Provider != nhi.AWS || !validAccountID(idn.Scope) || idn.Name == "" {
		return collectors.TargetState{}, fmt.Errorf("aws: inspect %q: identity needs provider aws, an account scope and a name: %w", idn.ID, collectors.ErrUnsupported)
	}
	client, _, err := c.sessions.iam(ctx, idn.Scope)
	if err != nil {
		return collectors.TargetState{}, err
	}
	var st collectors.TargetState
	switch {
	case req.GrantID != "":
		st, err = c.inspectGrant(ctx, client, req)
	case idn.Kind == nhi.KindAWSRole && req.CredentialID == "":
		st, err = c.inspectPrincipal(ctx, roleTarget{client, idn.Name}, idn)
	case idn.Kind == nhi.KindAWSUser && req.CredentialID == "":
		st, err = c.inspectPrincipal(ctx, userTarget{client, idn.Name}, idn)
	case idn.Kind == nhi.KindAWSUser:
		st, err = c.inspectCredential(ctx, client, idn, req.CredentialID)
	default:
		return st, fmt.Errorf("aws: inspect %s: %w", idn.Kind, collectors.ErrUnsupported)
	}
	if err != nil {
		return collectors.TargetState{}, fmt.Errorf("aws: inspect %s %s in %s: %w", idn.Name, req.CredentialID, idn.Scope, translate(err))
	}
	return st, nil
}

// gone is the state of a target that no longer exists.
func gone(detail string) collectors.TargetState {
	return collectors.TargetState{Detail: detail, Usage: nhi.Usage{State: nhi.UsageNotReported}}
}

// inspectPrincipal re-reads a role or user: its id, creation and, for a
// role, last use, and whether it is quarantined.
func (c *Controls) inspectPrincipal(ctx context.Context, t inlineTarget, idn nhi.Identity) (collectors.TargetState, error) {
	st := collectors.TargetState{Exists: true, Status: nhi.StatusActive, Native: "Active",
		Usage: nhi.Usage{State: nhi.UsageNotReported, Reason: "IAM reports no last use of a user apart from its credentials"}}
	if r, ok := t.(roleTarget); ok {
		out, err := r.c.GetRole(ctx, &iam.GetRoleInput{RoleName: &r.name})
		if apiCode(err) == "NoSuchEntity" {
			return gone("role " + r.name + " no longer exists"), nil
		}
		if err != nil {
			return st, err
		}
		st.ID, st.Created = aws.ToString(out.Role.RoleId), aws.ToTime(out.Role.CreateDate).UTC()
		st.Usage = nhi.Usage{State: nhi.UsageNeverUsed, Source: sourceRoleLastUsed, AsOf: c.cfg.Now().UTC()}
		if lu := out.Role.RoleLastUsed; lu != nil && lu.LastUsedDate != nil {
			st.Usage.State, st.Usage.LastUsed = nhi.UsageUsed, lu.LastUsedDate.UTC()
		}
	} else {
		u := t.(userTarget)
		out, err := u.c.GetUser(ctx, &iam.GetUserInput{UserName: &u.name})
		if apiCode(err) == "NoSuchEntity" {
			return gone("user " + u.name + " no longer exists"), nil
		}
		if err != nil {
			return st, err
		}
		st.ID, st.Created = aws.ToString(out.User.UserId), aws.ToTime(out.User.CreateDate).UTC()
	}
	if idn.NativeID != "" && st.ID != idn.NativeID {
		return gone(idn.Name + " now has id " + st.ID + ", not the collected " + idn.NativeID), nil
	}
	on, err := t.get(ctx, QuarantinePolicy)
	if err != nil {
		return st, err
	}
	if on {
		st.Status, st.Native = nhi.StatusDisabled, "Quarantined"
	}
	return st, nil
}

// inspectCredential re-reads an access key or service-specific credential
// of a user that still carries the collected id.
func (c *Controls) inspectCredential(ctx context.Context, client *iam.Client, idn nhi.Identity, credID string) (collectors.TargetState, error) {
	if err := sameIdentity(ctx, userTarget{client, idn.Name}, idn); err != nil {
		if apiCode(err) == "NoSuchEntity" || errors.Is(err, collectors.ErrNotFound) {
			return gone(err.Error()), nil
		}
		return collectors.TargetState{}, err
	}
	if credType(idn, credID) != nhi.CredAWSAccessKey {
		return c.inspectServiceCred(ctx, client, idn.Name, credID)
	}
	var st collectors.TargetState
	p := iam.NewListAccessKeysPaginator(client, &iam.ListAccessKeysInput{UserName: aws.String(idn.Name)})
	for p.HasMorePages() && !st.Exists {
		page, err := p.NextPage(ctx)
		if apiCode(err) == "NoSuchEntity" {
			return gone("user " + idn.Name + " no longer exists"), nil
		}
		if err != nil {
			return st, err
		}
		for _, k := range page.AccessKeyMetadata {
			if aws.ToString(k.AccessKeyId) == credID {
				st = collectors.TargetState{Exists: true, ID: credID, Status: keyStatus(k.Status), Native: string(k.Status), Created: aws.ToTime(k.CreateDate).UTC()}
			}
		}
	}
	if !st.Exists {
		return gone("access key " + credID + " no longer exists"), nil
	}
	out, err := client.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(credID)})
	if err != nil {
		return st, err
	}
	st.Usage = nhi.Usage{State: nhi.UsageNeverUsed, Source: sourceKeyLastUsed, AsOf: c.cfg.Now().UTC()}
	if lu := out.AccessKeyLastUsed; lu != nil && lu.LastUsedDate != nil {
		st.Usage.State, st.Usage.LastUsed = nhi.UsageUsed, lu.LastUsedDate.UTC()
		st.Detail = "last used with " + aws.ToString(lu.ServiceName) + " in " + aws.ToString(lu.Region)
	}
	return st, nil
}

func keyStatus(s types.StatusType) nhi.Status {
	if s == types.StatusTypeActive {
		return nhi.StatusActive
	}
	return nhi.StatusDisabled
}

func (c *Controls) inspectServiceCred(ctx context.Context, client *iam.Client, user, credID string) (collectors.TargetState, error) {
	out, err := client.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{UserName: aws.String(user)})
	if apiCode(err) == "NoSuchEntity" {
		return gone("user " + user + " no longer exists"), nil
	}
	if err != nil {
		return collectors.TargetState{}, err
	}
	for _, s := range out.ServiceSpecificCredentials {
		if aws.ToString(s.ServiceSpecificCredentialId) == credID {
			return collectors.TargetState{Exists: true, ID: credID, Status: keyStatus(s.Status), Native: string(s.Status),
				Created: aws.ToTime(s.CreateDate).UTC(), Usage: nhi.Usage{State: nhi.UsageNotReported, Reason: "IAM does not report use of service-specific credentials"}}, nil
		}
	}
	return gone("service-specific credential " + credID + " no longer exists"), nil
}
