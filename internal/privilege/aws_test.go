package privilege_test

import (
	"testing"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

func TestAWSManagedPolicy(t *testing.T) {
	for _, c := range []struct {
		arn        string
		ok         bool
		level      nhi.Privilege
		privileged bool
	}{
		{"arn:aws:iam::aws:policy/AdministratorAccess", true, nhi.PrivAdmin, true},
		{"arn:aws-us-gov:iam::aws:policy/IAMFullAccess", true, nhi.PrivAdmin, true},
		{"arn:aws:iam::aws:policy/PowerUserAccess", true, nhi.PrivAdmin, true},
		{"arn:aws:iam::aws:policy/ReadOnlyAccess", true, nhi.PrivRead, false},
		{"arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", true, nhi.PrivRead, false},
		{"arn:aws:iam::aws:policy/SecurityAudit", true, nhi.PrivRead, false},
		{"arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3", true, nhi.PrivRead, false},
		{"arn:aws:iam::aws:policy/AmazonS3FullAccess", true, nhi.PrivWrite, false},
		// A customer managed policy is judged by its document, whatever
		// its name.
		{"arn:aws:iam::123456789012:policy/AdministratorAccess", false, "", false},
	} {
		j, ok := privilege.AWSManagedPolicy(c.arn)
		if ok != c.ok || j.Level != c.level || j.Privileged != c.privileged || j.Privileged != (j.Reason != "") {
			t.Errorf("%s: %+v %v, want %s privileged=%v ok=%v", c.arn, j, ok, c.level, c.privileged, c.ok)
		}
	}
}

func TestAWSPolicy(t *testing.T) {
	all := func(actions ...string) privilege.AWSStatement {
		return privilege.AWSStatement{Actions: actions, AllResources: true}
	}
	one := func(actions ...string) privilege.AWSStatement { return privilege.AWSStatement{Actions: actions} }
	for _, c := range []struct {
		name       string
		allow      []privilege.AWSStatement
		level      nhi.Privilege
		privileged bool
		reason     string
	}{
		{"admin", []privilege.AWSStatement{all("*")}, nhi.PrivAdmin, true, `Action "*" on Resource "*"`},
		{"star on one bucket", []privilege.AWSStatement{one("*")}, nhi.PrivWrite, false, ""},
		{"iam star", []privilege.AWSStatement{all("s3:GetObject", "IAM:*")}, nhi.PrivAdmin, true, `iam:* on Resource "*"`},
		{"passrole", []privilege.AWSStatement{all("iam:PassRole")}, nhi.PrivWrite, true, `iam:PassRole on Resource "*"`},
		{"passrole by wildcard", []privilege.AWSStatement{all("iam:P*Role")}, nhi.PrivWrite, true, `iam:PassRole on Resource "*"`},
		{"passrole scoped", []privilege.AWSStatement{one("iam:PassRole")}, nhi.PrivWrite, false, ""},
		{"not action", []privilege.AWSStatement{{NotAction: true}}, nhi.PrivAdmin, true, "Allow with NotAction"},
		{"two reasons", []privilege.AWSStatement{all("iam:PassRole"), {NotAction: true}}, nhi.PrivAdmin, true, `Allow with NotAction; iam:PassRole on Resource "*"`},
		{"read only", []privilege.AWSStatement{all("s3:Get*", "s3:ListBucket", "dynamodb:Query")}, nhi.PrivRead, false, ""},
		{"nothing allowed", nil, nhi.PrivRead, false, ""},
	} {
		j := privilege.AWSPolicy(c.allow)
		if j != (privilege.AWSJudgement{Level: c.level, Privileged: c.privileged, Reason: c.reason}) {
			t.Errorf("%s: %+v, want %s %v %q", c.name, j, c.level, c.privileged, c.reason)
		}
	}
}

func TestAWSActionMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "sts:assumerole", true},
		{"sts:*", "sts:assumerole", true},
		{"sts:assume*", "sts:assumerolewithsaml", true},
		{"sts:assumerole", "sts:assumerolewithsaml", false},
		{"sts:*role", "sts:assumerole", true},
		{"sts:assumerol?", "sts:assumerole", true},
		{"sts:a*e*w*", "sts:assumerolewithsaml", true},
		{"iam:passrole", "iam:passrole", true},
		{"iam:pass", "iam:passrole", false},
		{"s3:*", "iam:passrole", false},
		{"", "x", false},
		{"iam:[", "iam:[", false}, // not a pattern IAM accepts
	} {
		if got := privilege.AWSActionMatch(c.pattern, c.s); got != c.want {
			t.Errorf("AWSActionMatch(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

// TestClassifyAWSWithoutDocument: the one judgement the normalised form
// cannot repeat is iam:PassRole on every resource, a write-level document
// the collector calls privileged; from the grant alone Classify says not
// privileged. Everything admin-level is privileged either way.
func TestClassifyAWSWithoutDocument(t *testing.T) {
	for _, c := range []struct {
		g    nhi.Grant
		want bool
	}{
		{nhi.Grant{Kind: "inline-policy", Entitlement: "inline:deploy", Privilege: nhi.PrivWrite}, false},
		{nhi.Grant{Kind: "inline-policy", Entitlement: "inline:everything", Privilege: nhi.PrivAdmin}, true},
		{nhi.Grant{Kind: "managed-policy", Entitlement: "arn:aws:iam::123456789012:policy/AdministratorAccess", Privilege: nhi.PrivWrite}, false},
		{nhi.Grant{Kind: "group-policy", Entitlement: "arn:aws:iam::aws:policy/AdministratorAccess"}, true},
		{nhi.Grant{Kind: "action", Entitlement: "iam:*"}, true},
	} {
		if got, why := privilege.Classify(nhi.AWS, &c.g); got != c.want {
			t.Errorf("%+v: privileged=%v (%s), want %v", c.g, got, why, c.want)
		}
	}
}
