package privilege

import (
	"path"
	"sort"
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// AWSJudgement is the privilege of one AWS policy: its level, whether it is
// privileged, and why (empty when it is not).
type AWSJudgement struct {
	Level      nhi.Privilege
	Privileged bool
	Reason     string
}

// awsManagedPolicies are the AWS managed policies privileged by name.
var awsManagedPolicies = map[string]AWSJudgement{
	"AdministratorAccess": {nhi.PrivAdmin, true, "AdministratorAccess: all actions on all resources"},
	"IAMFullAccess":       {nhi.PrivAdmin, true, "IAMFullAccess: iam:* on all resources"},
	"PowerUserAccess":     {nhi.PrivAdmin, true, "PowerUserAccess: all actions except IAM management"},
}

// awsReadOnlyPolicy reports whether an AWS managed policy, by name, only
// reads: the *ReadOnly* and *ViewOnly* families, SecurityAudit, and AWS's
// own deny-all AWSCompromisedKeyQuarantine* policies.
func awsReadOnlyPolicy(name string) bool {
	return strings.Contains(name, "ReadOnly") || strings.Contains(name, "ViewOnly") || name == "SecurityAudit" ||
		strings.HasPrefix(name, "AWSCompromisedKeyQuarantine")
}

// AWSManagedPolicy judges an AWS managed policy (arn:<partition>:iam::aws:policy/…)
// by its name: AdministratorAccess, IAMFullAccess and PowerUserAccess are
// privileged admin; read-only families are read; every other is write and
// not privileged. ok is false for a customer managed policy, which only its
// document can judge (AWSPolicy).
func AWSManagedPolicy(arn string) (j AWSJudgement, ok bool) {
	if !strings.Contains(arn, ":iam::aws:policy/") {
		return AWSJudgement{}, false
	}
	name := arn[strings.LastIndex(arn, "/")+1:]
	if m, ok := awsManagedPolicies[name]; ok {
		return m, true
	}
	if awsReadOnlyPolicy(name) {
		return AWSJudgement{Level: nhi.PrivRead}, true
	}
	return AWSJudgement{Level: nhi.PrivWrite}, true
}

// AWSStatement is one Allow statement of an IAM policy document, as the
// collector parsed it.
type AWSStatement struct {
	// Actions is the statement's Action element (IAM patterns such as
	// "s3:Get*").
	Actions []string
	// NotAction is set when the statement allows through NotAction: every
	// action but the ones named.
	NotAction bool
	// AllResources is set for Resource "*" or any NotResource.
	AllResources bool
}

// awsDangerousActions make a policy privileged when allowed on every
// resource, most severe first. An action element is dangerous when it
// equals one of is (compared in lower case) or, for grants, when the
// pattern grants that action.
var awsDangerousActions = []struct {
	is     []string
	grants string
	level  nhi.Privilege
	reason string
}{
	{is: []string{"*", "*:*"}, level: nhi.PrivAdmin, reason: `Action "*" on Resource "*"`},
	{is: []string{"iam:*"}, level: nhi.PrivAdmin, reason: `iam:* on Resource "*"`},
	{grants: "iam:passrole", level: nhi.PrivWrite, reason: `iam:PassRole on Resource "*"`},
}

// awsNotActionReason is why an Allow with NotAction is privileged admin: it
// allows every action but a few, including the ones not yet invented.
const awsNotActionReason = "Allow with NotAction"

// awsReadVerbs are the action-name prefixes of read-only IAM actions.
var awsReadVerbs = []string{"get", "list", "describe", "batchget", "head", "view", "query", "scan", "search", "lookup", "select", "filter"}

// AWSPolicy judges a policy document from its Allow statements: admin for
// Action "*" or iam:* on every resource, or any Allow with NotAction;
// privileged also for iam:PassRole on every resource; read when every
// allowed action reads; write otherwise.
func AWSPolicy(allow []AWSStatement) AWSJudgement {
	level := nhi.PrivRead
	reasons := map[string]bool{}
	raise := func(l nhi.Privilege) {
		if l.Rank() > level.Rank() {
			level = l
		}
	}
	for _, st := range allow {
		if st.NotAction {
			raise(nhi.PrivAdmin)
			reasons[awsNotActionReason] = true
			continue
		}
		for _, a := range st.Actions {
			l, reason := awsAction(strings.ToLower(a), st.AllResources)
			raise(l)
			if reason != "" {
				reasons[reason] = true
			}
		}
	}
	if len(reasons) == 0 {
		return AWSJudgement{Level: level}
	}
	rs := make([]string, 0, len(reasons))
	for r := range reasons {
		rs = append(rs, r)
	}
	sort.Strings(rs)
	return AWSJudgement{Level: level, Privileged: true, Reason: strings.Join(rs, "; ")}
}

// awsAction judges one allowed action pattern (lower case): its level, and
// why it is privileged.
func awsAction(a string, allResources bool) (nhi.Privilege, string) {
	if allResources {
		for _, d := range awsDangerousActions {
			for _, is := range d.is {
				if a == is {
					return d.level, d.reason
				}
			}
			if d.grants != "" && AWSActionMatch(a, d.grants) {
				return d.level, d.reason
			}
		}
	}
	if awsReadAction(a) {
		return nhi.PrivRead, ""
	}
	return nhi.PrivWrite, ""
}

func awsReadAction(action string) bool {
	_, verb, ok := strings.Cut(action, ":")
	if !ok {
		return false
	}
	for _, v := range awsReadVerbs {
		if strings.HasPrefix(verb, v) {
			return true
		}
	}
	return false
}

// AWSActionMatch reports whether an IAM action pattern, where "*" stands
// for any run of characters and "?" for one, matches action. Both are
// compared as given: lower-case them first. (IAM actions hold no "/", so
// path.Match's wildcards are IAM's.)
func AWSActionMatch(pattern, action string) bool {
	ok, err := path.Match(pattern, action)
	return ok && err == nil
}

// classifyAWS judges a grant from its normalised form. An AWS managed
// policy is judged by name as the collector judges it; a customer managed
// or inline policy, whose document the grant does not carry, is privileged
// when its level is admin (the collector gives admin only to privileged
// documents). The one judgement it cannot repeat is iam:PassRole on every
// resource: a write-level document the collector calls privileged.
func classifyAWS(g *nhi.Grant) (bool, string) {
	e := g.Entitlement
	if j, ok := AWSManagedPolicy(e); ok && j.Privileged {
		return true, j.Reason
	}
	switch {
	case e == "*" || e == "*:*" || e == "iam:*":
		return true, "wildcard action " + e
	case g.Privilege == nhi.PrivAdmin:
		return true, "admin-level policy"
	}
	return false, ""
}
