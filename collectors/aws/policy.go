package aws

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

// decodeDoc undoes IAM's RFC 3986 URL-encoding of policy documents, which
// the SDK does not undo. A document that does not decode is returned as is.
func decodeDoc(s string) string {
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

// defaultDocument returns the decoded default version of a managed policy.
func defaultDocument(p types.ManagedPolicyDetail) string {
	for _, v := range p.PolicyVersionList {
		if v.IsDefaultVersion || aws.ToString(v.VersionId) == aws.ToString(p.DefaultVersionId) {
			return decodeDoc(aws.ToString(v.Document))
		}
	}
	return ""
}

type policyDoc struct {
	Statement statements `json:"Statement"`
}

type statement struct {
	Effect      string                           `json:"Effect"`
	Action      stringList                       `json:"Action"`
	NotAction   stringList                       `json:"NotAction"`
	Resource    stringList                       `json:"Resource"`
	NotResource stringList                       `json:"NotResource"`
	Principal   json.RawMessage                  `json:"Principal"`
	Condition   map[string]map[string]stringList `json:"Condition"`
}

// statements reads a single statement object or a list of them.
type statements []statement

func (s *statements) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var one statement
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = statements{one}
		return nil
	}
	var many []statement
	err := json.Unmarshal(b, &many)
	*s = many
	return err
}

// stringList reads a string or a list of strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*l = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		// Condition values may be booleans or numbers.
		var anyList []any
		if err2 := json.Unmarshal(b, &anyList); err2 == nil {
			for _, v := range anyList {
				many = append(many, strings.TrimSpace(strings.Trim(string(mustJSON(v)), `"`)))
			}
			*l = many
			return nil
		}
		var scalar any
		if err2 := json.Unmarshal(b, &scalar); err2 == nil {
			*l = stringList{strings.Trim(string(mustJSON(scalar)), `"`)}
			return nil
		}
		return err
	}
	*l = many
	return nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func parsePolicy(doc string) (policyDoc, bool) {
	var p policyDoc
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return policyDoc{}, false
	}
	return p, true
}

// managedPrivilege judges a managed policy: an AWS managed one by name, a
// customer managed one by its default document (write, not privileged,
// when the document was not read).
func managedPrivilege(arn, doc string) privilege.AWSJudgement {
	if j, ok := privilege.AWSManagedPolicy(arn); ok {
		return j
	}
	if doc == "" {
		return privilege.AWSJudgement{Level: nhi.PrivWrite}
	}
	return documentPrivilege(doc)
}

// documentPrivilege judges a policy document by its Allow statements. A
// document that does not parse is write, not privileged.
func documentPrivilege(doc string) privilege.AWSJudgement {
	p, ok := parsePolicy(doc)
	if !ok {
		return privilege.AWSJudgement{Level: nhi.PrivWrite}
	}
	var allow []privilege.AWSStatement
	for _, st := range p.Statement {
		if !strings.EqualFold(st.Effect, "Allow") {
			continue
		}
		allow = append(allow, privilege.AWSStatement{
			Actions:      st.Action,
			NotAction:    len(st.NotAction) > 0,
			AllResources: len(st.NotResource) > 0 || contains(st.Resource, "*"),
		})
	}
	return privilege.AWSPolicy(allow)
}

// trustSignals flags the Allow statements of a trust policy that let
// someone outside the organisation assume the role unrestricted (OWASP
// NHI6): an external account without an sts:ExternalId or organisation
// condition, anyone at all, or a federated OIDC provider without a
// condition on its subject claim (or with one that matches any owner). It
// also returns the external accounts named.
func trustSignals(doc, own string, known map[string]bool) ([]nhi.Signal, []string) {
	p, ok := parsePolicy(doc)
	if !ok {
		return nil, nil
	}
	var sigs []nhi.Signal
	external := map[string]bool{}
	for _, st := range p.Statement {
		if !strings.EqualFold(st.Effect, "Allow") {
			continue
		}
		conds := narrowing(st.Condition)
		awsP, fedP, star := principals(st.Principal)
		if assumesAs(st.Action, "sts:assumerole") {
			sigs = append(sigs, accountTrust(awsP, star, conds, own, known, external)...)
		}
		if assumesAs(st.Action, "sts:assumerolewithwebidentity") {
			for _, f := range fedP {
				sigs = append(sigs, oidcTrust(f, conds)...)
			}
		}
	}
	ext := make([]string, 0, len(external))
	for a := range external {
		ext = append(ext, a)
	}
	sort.Strings(ext)
	return sigs, ext
}

// condValues are the values a statement's conditions require of one key.
type condValues struct {
	values []string
	// like is set when a value came from a *Like operator, where * and ?
	// are wildcards (elsewhere they are literal).
	like bool
}

// narrowing collects, by lower-cased key, the values of the conditions
// that narrow who may assume the role. Negated operators (StringNotLike,
// ArnNotEquals…) exclude rather than narrow; Null tests presence only;
// …IfExists and ForAllValues: hold when the key is absent. None of these
// counts.
func narrowing(c map[string]map[string]stringList) map[string]condValues {
	out := map[string]condValues{}
	for op, kv := range c {
		ol := strings.ToLower(op)
		if strings.Contains(ol, "not") || strings.HasPrefix(ol, "null") || strings.HasSuffix(ol, "ifexists") || strings.HasPrefix(ol, "forallvalues:") {
			continue
		}
		for k, v := range kv {
			cv := out[strings.ToLower(k)]
			cv.values = append(cv.values, v...)
			cv.like = cv.like || strings.Contains(ol, "like")
			out[strings.ToLower(k)] = cv
		}
	}
	return out
}

// accountTrust judges the AWS principals of one statement: "*" and
// accounts outside the organisation (and the trusted accounts) need an
// sts:ExternalId or an organisation condition (aws:PrincipalOrgID,
// aws:PrincipalOrgPaths). "*" narrowed to accounts by aws:PrincipalAccount
// or aws:PrincipalArn is judged as those accounts.
func accountTrust(awsP []string, star bool, conds map[string]condValues, own string, known, external map[string]bool) []nhi.Signal {
	guarded := len(conds["sts:externalid"].values) > 0 || len(conds["aws:principalorgid"].values) > 0 || len(conds["aws:principalorgpaths"].values) > 0
	if star || contains(awsP, "*") {
		accounts, ok := conditionAccounts(conds)
		if !ok {
			if guarded {
				return nil
			}
			return []nhi.Signal{{Code: nhi.SignalWeakTrust, Detail: "any AWS principal may assume the role without a condition"}}
		}
		awsP = append(slices.DeleteFunc(slices.Clone(awsP), func(p string) bool { return p == "*" }), accounts...)
	}
	var sigs []nhi.Signal
	for _, pr := range awsP {
		acct := principalAccount(pr)
		if acct == "" || acct == own || known[acct] {
			continue
		}
		external[acct] = true
		if !guarded {
			sigs = append(sigs, nhi.Signal{Code: nhi.SignalWeakTrust, Detail: "external account " + acct + " may assume the role without an sts:ExternalId or organisation condition"})
		}
	}
	return sigs
}

// conditionAccounts returns the accounts aws:PrincipalAccount and
// aws:PrincipalArn pin a "*" principal to; ok is false when neither pins
// it, or a value names no account (a wildcard in the account field).
func conditionAccounts(conds map[string]condValues) ([]string, bool) {
	var out []string
	for _, k := range []string{"aws:principalaccount", "aws:principalarn"} {
		cv := conds[k]
		for _, v := range cv.values {
			acct := principalAccount(v)
			if acct == "" {
				return nil, false
			}
			out = append(out, acct)
		}
	}
	return out, len(out) > 0
}

// oidcIssuer is what nhiscan knows of an OIDC identity provider: which
// claims narrow who may assume a role that trusts it, and who may when
// none does.
type oidcIssuer struct {
	label  string
	claims []string
	anyone string
}

// issuer describes the OIDC provider a Federated principal names: an IAM
// OIDC provider ARN (arn:aws:iam::…:oidc-provider/<url>) or a built-in
// web identity provider. ok is false for SAML and OAuth-only providers,
// which people sign in through.
func issuer(principal string) (string, oidcIssuer, bool) {
	shown := principal
	if i := strings.Index(principal, ":oidc-provider/"); i >= 0 {
		shown = principal[i+len(":oidc-provider/"):]
	} else if strings.HasPrefix(principal, "arn:") {
		return "", oidcIssuer{}, false // saml-provider/…
	}
	path := strings.ToLower(shown) // condition keys are compared lower-cased
	sub := []string{"sub"}
	switch {
	case path == "token.actions.githubusercontent.com" || strings.HasSuffix(path, "/_services/token"):
		return path, oidcIssuer{"GitHub OIDC provider", sub, "any repository on GitHub"}, true
	case strings.HasPrefix(path, "oidc.eks.") && strings.Contains(path, "/id/"):
		return path, oidcIssuer{"EKS OIDC provider " + shown, sub, "any service account of the cluster"}, true
	case path == "gitlab.com":
		return path, oidcIssuer{"GitLab OIDC provider", sub, "any project on gitlab.com"}, true
	case path == "app.terraform.io":
		return path, oidcIssuer{"Terraform Cloud OIDC provider", sub, "any workspace of any Terraform Cloud organisation"}, true
	case strings.HasPrefix(path, "api.bitbucket.org/"):
		return path, oidcIssuer{"Bitbucket Pipelines OIDC provider " + shown, sub, "any repository and step of the workspace"}, true
	case path == "cognito-identity.amazonaws.com":
		return path, oidcIssuer{"Cognito identity", []string{"aud", "sub"}, "any identity pool of any AWS account"}, true
	case path == "accounts.google.com":
		return path, oidcIssuer{"Google", sub, "any Google account"}, true
	case path == "graph.facebook.com" || path == "www.amazon.com":
		return "", oidcIssuer{}, false
	case strings.HasPrefix(principal, "arn:"):
		return path, oidcIssuer{"OIDC provider " + shown, sub, "any subject the provider issues tokens for"}, true
	}
	return "", oidcIssuer{}, false
}

// oidcTrust judges one federated principal of a statement: its issuer's
// claims must be narrowed by a condition that does not match any owner.
func oidcTrust(principal string, conds map[string]condValues) []nhi.Signal {
	path, iss, ok := issuer(principal)
	if !ok {
		return nil
	}
	var broad []string
	for _, claim := range iss.claims {
		cv := conds[path+":"+claim]
		if len(cv.values) == 0 {
			continue
		}
		if !cv.like || !anyBroad(cv.values) {
			return nil
		}
		broad = append(broad, cv.values...)
	}
	if len(broad) > 0 {
		return []nhi.Signal{{Code: nhi.SignalWeakTrust, Detail: iss.label + " " + iss.claims[0] + " condition " + strings.Join(broad, ",") + " matches " + iss.anyone}}
	}
	article := "a "
	if strings.ContainsAny(iss.claims[0][:1], "aeiou") {
		article = "an "
	}
	return []nhi.Signal{{Code: nhi.SignalWeakTrust, Detail: iss.label + " may assume the role without " + article + iss.claims[0] + " condition: " + iss.anyone}}
}

// ownerPrefixes are the subject formats whose first field names the owner
// (GitHub repo:OWNER/REPO, GitLab project_path:GROUP/PROJECT, Terraform
// Cloud organization:ORG:…, EKS system:serviceaccount:NAMESPACE:NAME), with
// the character that ends it.
var ownerPrefixes = []struct{ prefix, end string }{
	{"repo:", "/"}, {"project_path:", "/"}, {"organization:", ":"}, {"system:serviceaccount:", ":"},
}

// anyBroad reports whether one of the *Like values matches any owner: it
// starts with a wildcard, or a wildcard stands in its owner field.
func anyBroad(values []string) bool {
	for _, v := range values {
		if strings.HasPrefix(v, "*") || strings.HasPrefix(v, "?") {
			return true
		}
		for _, p := range ownerPrefixes {
			if rest, ok := strings.CutPrefix(v, p.prefix); ok {
				owner, _, _ := strings.Cut(rest, p.end)
				if owner == "" || strings.ContainsAny(owner, "*?") {
					return true
				}
			}
		}
	}
	return false
}

// assumesAs reports whether a statement's actions include op
// (lower-cased), also through IAM wildcards such as "sts:Assume*".
func assumesAs(actions []string, op string) bool {
	for _, a := range actions {
		if privilege.AWSActionMatch(strings.ToLower(a), op) {
			return true
		}
	}
	return false
}

// principals reads a Principal element: "*", or {"AWS": …, "Federated": …}.
func principals(raw json.RawMessage) (awsP, fedP []string, star bool) {
	if len(raw) == 0 {
		return nil, nil, false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return nil, nil, s == "*"
	}
	var m map[string]stringList
	if json.Unmarshal(raw, &m) != nil {
		return nil, nil, false
	}
	return m["AWS"], m["Federated"], false
}

// principalAccount extracts the account from "123456789012",
// "arn:aws:iam::123456789012:root" or a role/user ARN.
func principalAccount(p string) string {
	if validAccountID(p) {
		return p
	}
	parts := strings.Split(p, ":")
	if len(parts) >= 5 && validAccountID(parts[4]) {
		return parts[4]
	}
	return ""
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
