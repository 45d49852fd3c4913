package aws

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// grantRestore is the RestoreData of a removed grant: the managed policy
// to attach again, or the inline policy's name and document to put again.
// Policy documents hold no secret.
type grantRestore struct {
	Kind      string `json:"kind"`
	PolicyARN string `json:"policy_arn,omitempty"`
	Name      string `json:"name,omitempty"`
	Document  string `json:"document,omitempty"`
}

// grantOf finds the grant a request names, and its principal.
func grantOf(client *iam.Client, req collectors.ActionRequest) (inlineTarget, nhi.Grant, error) {
	idn := req.Identity
	var g nhi.Grant
	found := false
	for _, x := range idn.Grants {
		if x.ID == req.GrantID {
			g, found = x, true
		}
	}
	if !found {
		return nil, g, fmt.Errorf("aws: %s has no grant %s: %w", idn.Name, req.GrantID, collectors.ErrNotFound)
	}
	if g.Kind != "managed-policy" && g.Kind != "inline-policy" {
		return nil, g, fmt.Errorf("aws: grant %s is a %s (%s): change the group or remove the user from it by hand: %w", g.ID, g.Kind, g.Via, collectors.ErrUnsupported)
	}
	switch idn.Kind {
	case nhi.KindAWSRole:
		if idn.ProviderManaged || awsManagedPath(idn.Path) {
			return nil, g, fmt.Errorf("aws: AWS-managed role %s: %w", idn.Name, collectors.ErrUnsupported)
		}
		return roleTarget{client, idn.Name}, g, nil
	case nhi.KindAWSUser:
		return userTarget{client, idn.Name}, g, nil
	}
	return nil, g, fmt.Errorf("aws: grant of %s: %w", idn.Kind, collectors.ErrUnsupported)
}

// actGrant removes one policy grant (RemoveGrant: DetachRolePolicy or
// DetachUserPolicy; for an inline policy, DeleteRolePolicy or
// DeleteUserPolicy after saving its document) or puts it back
// (RestoreGrant: AttachRolePolicy/AttachUserPolicy, or PutRolePolicy/
// PutUserPolicy of the saved document). Removing a grant already gone, or
// restoring one present, succeeds with Changed false.
func (c *Controls) actGrant(ctx context.Context, client *iam.Client, req collectors.ActionRequest) (collectors.ActionResult, error) {
	t, g, err := grantOf(client, req)
	if err != nil {
		return collectors.ActionResult{}, err
	}
	if err := sameIdentity(ctx, t, req.Identity); err != nil {
		return collectors.ActionResult{}, err
	}
	present, doc, err := grantPresent(ctx, t, g)
	if err != nil {
		return collectors.ActionResult{}, err
	}
	res := collectors.ActionResult{Before: presence(present)}
	switch req.Action {
	case collectors.RemoveGrant:
		res.After = "absent"
		if !present {
			return res, nil
		}
		r := grantRestore{Kind: g.Kind, PolicyARN: g.Entitlement}
		if g.Kind == "inline-policy" {
			r = grantRestore{Kind: g.Kind, Name: inlineName(g), Document: doc}
		}
		if res.RestoreData, err = json.Marshal(r); err != nil {
			return res, err
		}
		res.Changed, res.Detail = true, "removed "+g.Entitlement
		return res, removeGrant(ctx, t, g)
	case collectors.RestoreGrant:
		res.After = "present"
		if present {
			return res, nil
		}
		var r grantRestore
		if err := json.Unmarshal(req.RestoreData, &r); err != nil || r.Kind != g.Kind {
			return res, fmt.Errorf("aws: restore %s: the restore data does not describe it: %w", g.ID, collectors.ErrUnsupported)
		}
		res.Changed, res.Detail = true, "restored "+g.Entitlement
		return res, restoreGrant(ctx, t, r)
	}
	return res, fmt.Errorf("aws: %s on a grant: %w", req.Action, collectors.ErrUnsupported)
}

func presence(b bool) string {
	if b {
		return "present"
	}
	return "absent"
}

func inlineName(g nhi.Grant) string { return g.ID[len("inline-policy:"):] }

// grantPresent reports whether the grant is still on the principal, and
// an inline policy's current document.
func grantPresent(ctx context.Context, t inlineTarget, g nhi.Grant) (bool, string, error) {
	if g.Kind == "inline-policy" {
		return inlineDocument(ctx, t, inlineName(g))
	}
	arns, err := attachedPolicies(ctx, t)
	if err != nil {
		return false, "", err
	}
	return contains(arns, g.Entitlement), "", nil
}

func inlineDocument(ctx context.Context, t inlineTarget, name string) (bool, string, error) {
	var doc *string
	var err error
	if r, ok := t.(roleTarget); ok {
		var out *iam.GetRolePolicyOutput
		if out, err = r.c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &r.name, PolicyName: &name}); err == nil {
			doc = out.PolicyDocument
		}
	} else {
		u := t.(userTarget)
		var out *iam.GetUserPolicyOutput
		if out, err = u.c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: &u.name, PolicyName: &name}); err == nil {
			doc = out.PolicyDocument
		}
	}
	ok, err := exists(err)
	if !ok || err != nil {
		return false, "", err
	}
	return true, decodeDoc(aws.ToString(doc)), nil
}

func attachedPolicies(ctx context.Context, t inlineTarget) ([]string, error) {
	var arns []string
	if r, ok := t.(roleTarget); ok {
		p := iam.NewListAttachedRolePoliciesPaginator(r.c, &iam.ListAttachedRolePoliciesInput{RoleName: &r.name})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, a := range page.AttachedPolicies {
				arns = append(arns, aws.ToString(a.PolicyArn))
			}
		}
		return arns, nil
	}
	u := t.(userTarget)
	p := iam.NewListAttachedUserPoliciesPaginator(u.c, &iam.ListAttachedUserPoliciesInput{UserName: &u.name})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range page.AttachedPolicies {
			arns = append(arns, aws.ToString(a.PolicyArn))
		}
	}
	return arns, nil
}

func removeGrant(ctx context.Context, t inlineTarget, g nhi.Grant) error {
	if g.Kind == "inline-policy" {
		return t.del(ctx, inlineName(g))
	}
	arn := g.Entitlement
	if r, ok := t.(roleTarget); ok {
		_, err := r.c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: &r.name, PolicyArn: &arn})
		return err
	}
	u := t.(userTarget)
	_, err := u.c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: &u.name, PolicyArn: &arn})
	return err
}

func restoreGrant(ctx context.Context, t inlineTarget, r grantRestore) error {
	if r.Kind == "inline-policy" {
		return t.put(ctx, r.Name, r.Document)
	}
	if rt, ok := t.(roleTarget); ok {
		_, err := rt.c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &rt.name, PolicyArn: &r.PolicyARN})
		return err
	}
	u := t.(userTarget)
	_, err := u.c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: &u.name, PolicyArn: &r.PolicyARN})
	return err
}

// inspectGrant re-reads one grant: present (active) or absent, on a
// principal that still carries the collected id. IAM reports no last use
// per grant here.
func (c *Controls) inspectGrant(ctx context.Context, client *iam.Client, req collectors.ActionRequest) (collectors.TargetState, error) {
	t, g, err := grantOf(client, req)
	if err != nil {
		return collectors.TargetState{}, err
	}
	if err := sameIdentity(ctx, t, req.Identity); err != nil {
		if apiCode(err) == "NoSuchEntity" {
			return gone(req.Identity.Name + " no longer exists"), nil
		}
		return collectors.TargetState{}, err
	}
	present, _, err := grantPresent(ctx, t, g)
	if err != nil {
		return collectors.TargetState{}, err
	}
	if !present {
		return gone(g.Entitlement + " is not on " + req.Identity.Name), nil
	}
	return collectors.TargetState{Exists: true, ID: g.ID, Status: nhi.StatusActive, Native: "present",
		Usage: nhi.Usage{State: nhi.UsageNotReported, Reason: "IAM reports no last use of one grant here"}}, nil
}
