package aws

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"net/url"
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

const githubOIDC = "token.actions.githubusercontent.com"

// trustSignals flags trust-policy statements that let an external account
// assume the role without sts:ExternalId (or an org/principal condition),
// anyone at all, or GitHub's OIDC provider without a narrowing sub
// condition (OWASP NHI6).
func trustSignals(doc, own string, known map[string]bool) ([]nhi.Signal, []string) {
	p, ok := parsePolicy(doc)
	if !ok {
		return nil, nil
	}
	var sigs []nhi.Signal
	external := map[string]bool{}
	for _, st := range p.Statement {
		if !strings.EqualFold(st.Effect, "Allow") || !assumes(st.Action) {
			continue
		}
		conds := map[string][]string{}
		for op, kv := range st.Condition {
			if ol := strings.ToLower(op); strings.Contains(ol, "not") || strings.HasPrefix(ol, "null") {
				// StringNotEquals, ArnNotLike, Null…: these exclude or test
				// presence, they do not narrow who may assume the role.
				continue
			}
			for k, v := range kv {
				conds[strings.ToLower(k)] = append(conds[strings.ToLower(k)], v...)
			}
		}
		awsP, fedP, star := principals(st.Principal)
		guarded := len(conds["sts:externalid"]) > 0 || len(conds["aws:principalorgid"]) > 0 || len(conds["aws:principalarn"]) > 0 || len(conds["aws:principalaccount"]) > 0
		if star || contains(awsP, "*") {
			if !guarded {
				sigs = append(sigs, nhi.Signal{Code: nhi.SignalWeakTrust, Detail: "any AWS principal may assume the role without a condition"})
			}
		}
		for _, pr := range awsP {
			acct := principalAccount(pr)
			if acct == "" || acct == own || known[acct] {
				continue
			}
			external[acct] = true
			if !guarded {
				sigs = append(sigs, nhi.Signal{Code: nhi.SignalWeakTrust, Detail: "external account " + acct + " may assume the role without an sts:ExternalId condition"})
			}
		}
		for _, f := range fedP {
			if !strings.Contains(f, githubOIDC) {
				continue
			}
			sub := conds[githubOIDC+":sub"]
			switch {
			case len(sub) == 0:
				sigs = append(sigs, nhi.Signal{Code: nhi.SignalWeakTrust, Detail: "GitHub OIDC provider may assume the role without a sub condition: any repository on GitHub"})
			case allWildcard(sub):
				sigs = append(sigs, nhi.Signal{Code: nhi.SignalWeakTrust, Detail: "GitHub OIDC sub condition " + strings.Join(sub, ",") + " matches any repository"})
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

func allWildcard(subs []string) bool {
	for _, s := range subs {
		if s != "*" && s != "repo:*" && s != "repo:*/*" && !strings.HasPrefix(s, "*") {
			return false
		}
	}
	return true
}

// assumes reports whether a trust statement's actions allow assuming the
// role: sts:AssumeRole, …WithWebIdentity or …WithSAML, also through IAM
// wildcards such as "sts:Assume*".
func assumes(actions []string) bool {
	for _, a := range actions {
		al := strings.ToLower(a)
		for _, op := range []string{"sts:assumerole", "sts:assumerolewithwebidentity", "sts:assumerolewithsaml"} {
			if privilege.AWSActionMatch(al, op) {
				return true
			}
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
