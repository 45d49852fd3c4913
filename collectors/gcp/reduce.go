package gcp

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	crm "google.golang.org/api/cloudresourcemanager/v3"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// bindingRestore is the RestoreData of a removed role binding: the member
// to add back to the role on the project.
type bindingRestore struct {
	Project string `json:"project"`
	Role    string `json:"role"`
	Member  string `json:"member"`
}

// bindingOf checks a grant request: a role binding, without a condition,
// on the project of a service account the scan collected.
func bindingOf(req collectors.ActionRequest) (bindingRestore, error) {
	idn := req.Identity
	if _, err := accountName(collectors.ActionRequest{Identity: idn}); err != nil {
		return bindingRestore{}, err
	}
	var g *nhi.Grant
	for i := range idn.Grants {
		if idn.Grants[i].ID == req.GrantID {
			g = &idn.Grants[i]
		}
	}
	switch {
	case g == nil:
		return bindingRestore{}, fmt.Errorf("gcp: %s has no grant %s: %w", idn.Name, req.GrantID, collectors.ErrNotFound)
	case g.Kind != grantKind || strings.Contains(g.ID, "?condition="):
		return bindingRestore{}, fmt.Errorf("gcp: grant %s is not an unconditional role binding: %w", g.ID, collectors.ErrUnsupported)
	case !strings.HasPrefix(g.Scope, "projects/") || !projectIDPattern.MatchString(strings.TrimPrefix(g.Scope, "projects/")):
		return bindingRestore{}, fmt.Errorf("gcp: grant %s is on %s: nhiscan removes project bindings only: %w", g.ID, g.Scope, collectors.ErrUnsupported)
	}
	return bindingRestore{Project: strings.TrimPrefix(g.Scope, "projects/"), Role: g.Entitlement, Member: "serviceAccount:" + idn.Name}, nil
}

// policy reads a project's IAM policy (version 3, with its etag).
func (c *Controls) policy(ctx context.Context, project string) (*crm.Policy, error) {
	var pol *crm.Policy
	err := c.call(ctx, func(ctx context.Context) error {
		var err error
		pol, err = c.crm.Projects.GetIamPolicy("projects/"+project, &crm.GetIamPolicyRequest{
			Options: &crm.GetPolicyOptions{RequestedPolicyVersion: 3}}).Context(ctx).Do()
		return err
	})
	return pol, err
}

// holds reports whether the policy binds member to role without a
// condition.
func holds(pol *crm.Policy, role, member string) bool {
	for _, b := range pol.Bindings {
		if b.Role == role && b.Condition == nil && slices.Contains(b.Members, member) {
			return true
		}
	}
	return false
}

// actBinding removes one member from a role binding of a project
// (RemoveGrant) or adds it back (RestoreGrant): getIamPolicy, then
// setIamPolicy with the etag read, so that a concurrent change makes the
// write fail (ABORTED) rather than be lost. Already in the wanted state:
// Changed false.
func (c *Controls) actBinding(ctx context.Context, req collectors.ActionRequest) (collectors.ActionResult, error) {
	b, err := bindingOf(req)
	if err != nil {
		return collectors.ActionResult{}, err
	}
	if req.Action == collectors.RestoreGrant {
		var r bindingRestore
		if err := json.Unmarshal(req.RestoreData, &r); err != nil || r != b {
			return collectors.ActionResult{}, fmt.Errorf("gcp: restore %s: the restore data does not describe it: %w", req.GrantID, collectors.ErrUnsupported)
		}
	} else if req.Action != collectors.RemoveGrant {
		return collectors.ActionResult{}, fmt.Errorf("gcp: %s on a grant: %w", req.Action, collectors.ErrUnsupported)
	}
	pol, err := c.policy(ctx, b.Project)
	if err != nil {
		return collectors.ActionResult{}, actErr("get the IAM policy of "+b.Project, err)
	}
	present := holds(pol, b.Role, b.Member)
	res := collectors.ActionResult{Before: presence(present), After: presence(req.Action == collectors.RestoreGrant)}
	if present == (req.Action == collectors.RestoreGrant) {
		return res, nil
	}
	if req.Action == collectors.RemoveGrant {
		removeMember(pol, b.Role, b.Member)
		res.RestoreData, _ = json.Marshal(b)
	} else {
		addMember(pol, b.Role, b.Member)
	}
	err = c.call(ctx, func(ctx context.Context) error {
		_, err := c.crm.Projects.SetIamPolicy("projects/"+b.Project, &crm.SetIamPolicyRequest{Policy: pol}).Context(ctx).Do()
		return err
	})
	if err != nil {
		return collectors.ActionResult{}, actErr("set the IAM policy of "+b.Project, err)
	}
	res.Changed, res.Detail = true, string(req.Action)+" "+b.Member+" in "+b.Role+" on projects/"+b.Project
	return res, nil
}

func presence(b bool) string {
	if b {
		return "present"
	}
	return "absent"
}

func removeMember(pol *crm.Policy, role, member string) {
	out := pol.Bindings[:0]
	for _, b := range pol.Bindings {
		if b.Role == role && b.Condition == nil {
			b.Members = slices.DeleteFunc(b.Members, func(m string) bool { return m == member })
			if len(b.Members) == 0 {
				continue
			}
		}
		out = append(out, b)
	}
	pol.Bindings = out
}

func addMember(pol *crm.Policy, role, member string) {
	for _, b := range pol.Bindings {
		if b.Role == role && b.Condition == nil {
			b.Members = append(b.Members, member)
			return
		}
	}
	pol.Bindings = append(pol.Bindings, &crm.Binding{Role: role, Members: []string{member}})
}

// inspectBinding re-reads one role binding: present (active) or absent.
func (c *Controls) inspectBinding(ctx context.Context, req collectors.ActionRequest) (collectors.TargetState, error) {
	b, err := bindingOf(req)
	if err != nil {
		return collectors.TargetState{}, err
	}
	pol, err := c.policy(ctx, b.Project)
	if err != nil {
		return collectors.TargetState{}, actErr("get the IAM policy of "+b.Project, err)
	}
	notReported := nhi.Usage{State: nhi.UsageNotReported, Reason: "IAM reports no last use of one binding here"}
	if !holds(pol, b.Role, b.Member) {
		return collectors.TargetState{Usage: notReported, Detail: b.Member + " no longer holds " + b.Role + " on projects/" + b.Project}, nil
	}
	return collectors.TargetState{Exists: true, ID: req.GrantID, Status: nhi.StatusActive, Native: "present", Usage: notReported}, nil
}
