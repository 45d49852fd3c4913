package aws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/nhiscan/nhiscan/collectors"
	awscol "github.com/nhiscan/nhiscan/collectors/aws"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// modelOutputs is the output shape of every operation awsfake serves, as
// AWS's service models define it: the SDK's output types are generated
// from those models, member for member, so they are the offline
// description of each answer.
var modelOutputs = map[string]reflect.Type{
	"iam:GenerateCredentialReport":           reflect.TypeOf(iam.GenerateCredentialReportOutput{}),
	"iam:GetCredentialReport":                reflect.TypeOf(iam.GetCredentialReportOutput{}),
	"iam:GetAccountAuthorizationDetails":     reflect.TypeOf(iam.GetAccountAuthorizationDetailsOutput{}),
	"iam:ListRoles":                          reflect.TypeOf(iam.ListRolesOutput{}),
	"iam:ListServiceSpecificCredentials":     reflect.TypeOf(iam.ListServiceSpecificCredentialsOutput{}),
	"iam:ListAccessKeys":                     reflect.TypeOf(iam.ListAccessKeysOutput{}),
	"iam:GetAccessKeyLastUsed":               reflect.TypeOf(iam.GetAccessKeyLastUsedOutput{}),
	"iam:GetRole":                            reflect.TypeOf(iam.GetRoleOutput{}),
	"iam:GetUser":                            reflect.TypeOf(iam.GetUserOutput{}),
	"iam:GetRolePolicy":                      reflect.TypeOf(iam.GetRolePolicyOutput{}),
	"iam:GetUserPolicy":                      reflect.TypeOf(iam.GetUserPolicyOutput{}),
	"iam:PutRolePolicy":                      reflect.TypeOf(iam.PutRolePolicyOutput{}),
	"iam:PutUserPolicy":                      reflect.TypeOf(iam.PutUserPolicyOutput{}),
	"iam:DeleteRolePolicy":                   reflect.TypeOf(iam.DeleteRolePolicyOutput{}),
	"iam:DeleteUserPolicy":                   reflect.TypeOf(iam.DeleteUserPolicyOutput{}),
	"iam:UpdateAccessKey":                    reflect.TypeOf(iam.UpdateAccessKeyOutput{}),
	"iam:DeleteAccessKey":                    reflect.TypeOf(iam.DeleteAccessKeyOutput{}),
	"iam:UpdateServiceSpecificCredential":    reflect.TypeOf(iam.UpdateServiceSpecificCredentialOutput{}),
	"iam:DeleteServiceSpecificCredential":    reflect.TypeOf(iam.DeleteServiceSpecificCredentialOutput{}),
	"iam:GenerateServiceLastAccessedDetails": reflect.TypeOf(iam.GenerateServiceLastAccessedDetailsOutput{}),
	"iam:GetServiceLastAccessedDetails":      reflect.TypeOf(iam.GetServiceLastAccessedDetailsOutput{}),
	"iam:GetPolicy":                          reflect.TypeOf(iam.GetPolicyOutput{}),
	"iam:GetPolicyVersion":                   reflect.TypeOf(iam.GetPolicyVersionOutput{}),
	"iam:AttachRolePolicy":                   reflect.TypeOf(iam.AttachRolePolicyOutput{}),
	"iam:DetachRolePolicy":                   reflect.TypeOf(iam.DetachRolePolicyOutput{}),
	"iam:AttachUserPolicy":                   reflect.TypeOf(iam.AttachUserPolicyOutput{}),
	"iam:DetachUserPolicy":                   reflect.TypeOf(iam.DetachUserPolicyOutput{}),
	"iam:ListAttachedRolePolicies":           reflect.TypeOf(iam.ListAttachedRolePoliciesOutput{}),
	"iam:ListAttachedUserPolicies":           reflect.TypeOf(iam.ListAttachedUserPoliciesOutput{}),
	"sts:AssumeRole":                         reflect.TypeOf(sts.AssumeRoleOutput{}),
	"sts:GetCallerIdentity":                  reflect.TypeOf(sts.GetCallerIdentityOutput{}),
	"organizations:ListAccounts":             reflect.TypeOf(organizations.ListAccountsOutput{}),
	"access-analyzer:ListAnalyzers":          reflect.TypeOf(accessanalyzer.ListAnalyzersOutput{}),
	"access-analyzer:ListFindingsV2":         reflect.TypeOf(accessanalyzer.ListFindingsV2Output{}),
	"access-analyzer:GetFindingV2":           reflect.TypeOf(accessanalyzer.GetFindingV2Output{}),
}

// analyzerOps names Access Analyzer's restJson1 operations by method and
// first path segment.
var analyzerOps = map[string]string{
	"GET analyzer": "access-analyzer:ListAnalyzers", "POST findingv2": "access-analyzer:ListFindingsV2", "GET findingv2": "access-analyzer:GetFindingV2",
}

// exchange is one answer of the fake, recorded for the model check.
type exchange struct {
	op     string
	status int
	json   bool
	body   []byte
}

// recorder records the fake's answers.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	all  []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var in []byte
	if req.Body != nil {
		in, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(in))
	}
	op := ""
	if a, ok := analyzerOps[req.Method+" "+strings.SplitN(strings.TrimPrefix(req.URL.Path, "/"), "/", 2)[0]]; ok {
		op = a
	} else if target := req.Header.Get("X-Amz-Target"); target != "" {
		op = "organizations:" + target[strings.LastIndex(target, ".")+1:]
	} else if form, err := url.ParseQuery(string(in)); err == nil {
		service := "iam"
		if strings.Contains(req.Header.Get("Authorization"), "/sts/aws4_request") {
			service = "sts"
		}
		op = service + ":" + form.Get("Action")
	}
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(out))
	r.mu.Lock()
	r.all = append(r.all, exchange{op, resp.StatusCode, strings.HasPrefix(op, "organizations:") || strings.HasPrefix(op, "access-analyzer:"), out})
	r.mu.Unlock()
	return resp, nil
}

// TestFakeMatchesServiceModels drives every operation awsfake serves
// through the real SDK (a collection of the demo with twin keys and role
// details, in organisation and single-account mode, and every credential
// control) and checks each answer field by field against its operation's
// output shape in AWS's service models: an element or key the model lacks
// fails, so the fake cannot answer with something AWS never sends. Error
// answers are checked against the query and JSON protocols' error shapes.
func TestFakeMatchesServiceModels(t *testing.T) {
	seed := twinKeys()
	// The data account has an unused access analyzer: its findings are
	// read instead of Access Advisor's jobs.
	seed.Accounts[2].UnusedAnalyzer = &awsfake.Analyzer{Name: "unused-access", UnusedAccessAge: 90}
	seed.Accounts[1].Roles = append(seed.Accounts[1].Roles, awsfake.TrustRoles(awsfake.DemoPayments, awsfake.DemoExternalAccount, now)...)
	srv := startFake(t, seed)
	rec := &recorder{base: srv.Client().Transport}
	hc := &http.Client{Transport: rec}
	withRecorder := func(c *awscol.Config) { c.HTTPClient = hc }
	inv := collectortest.Collect(t, newCollector(t, srv, func(c *awscol.Config) { withRecorder(c); c.LastAccessed = awscol.LastAccessedAll }))
	collectortest.Collect(t, newCollector(t, srv, func(c *awscol.Config) { withRecorder(c); c.Organization, c.RoleName = false, "" }))
	driveControls(t, newControls(t, srv, withRecorder), inv)
	srv.Deny(awsfake.DemoData, "iam:ListAccessKeys")
	srv.Throttle(awsfake.DemoManagement, "organizations:ListAccounts", 1)
	if _, err := newCollector(t, srv, withRecorder).Collect(context.Background()); err != nil {
		t.Fatal(err)
	}

	seen := map[string]bool{}
	for _, x := range rec.all {
		seen[x.op] = true
		var problems []string
		switch {
		case x.status >= 300:
			problems = checkError(x)
		case x.json:
			problems = checkJSON(x)
		default:
			problems = checkXML(x)
		}
		for _, p := range problems {
			t.Errorf("%s (HTTP %d): %s", x.op, x.status, p)
		}
	}
	for op := range modelOutputs {
		if !seen[op] {
			t.Errorf("%s was not exercised", op)
		}
	}
}

// walkUnion checks a restJson1 union (an object with one member, named
// as the SDK's <Union>Member<Name> type): the member must exist.
func walkUnion(v any, typ reflect.Type, path string, out *[]string) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		*out = append(*out, path+": a union needs an object of one member")
		return
	}
	for k := range m {
		if _, known := unionMembers[typ.Name()+"Member"+strings.ToUpper(k[:1])+k[1:]]; !known {
			*out = append(*out, path+"."+k+": not a member of union "+typ.Name())
		}
	}
}

// unionMembers are the union members the fake may send.
var unionMembers = map[string]bool{
	"AnalyzerConfigurationMemberUnusedAccess":     true,
	"FindingDetailsMemberUnusedPermissionDetails": true,
}

// driveControls calls every credential control once.
func driveControls(t *testing.T, ctl *awscol.Controls, inv nhi.Inventory) {
	t.Helper()
	ci := byName(t, inv, awsfake.DemoPayments, "payments-ci-deployer")
	key := ci.Credentials[0].ID
	for _, a := range []collectors.Action{collectors.Disable, collectors.Enable, collectors.Delete} {
		act(t, ctl, a, ci, key)
	}
	airflow := byName(t, inv, awsfake.DemoData, "data-airflow-svc")
	for _, a := range []collectors.Action{collectors.Disable, collectors.Delete} {
		act(t, ctl, a, airflow, "ACCA333AIRFLOWBEDRK01")
	}
	for _, name := range []string{"payments-api-runtime", "payments-ci-deployer"} {
		id := byName(t, inv, awsfake.DemoPayments, name)
		act(t, ctl, collectors.Disable, id, "")
		act(t, ctl, collectors.Enable, id, "")
	}
	for _, g := range []struct{ name, grant string }{
		{"payments-github-deploy", "managed-policy:arn:aws:iam::aws:policy/PowerUserAccess"},
		{"payments-ci-deployer", "managed-policy:arn:aws:iam::222222222222:policy/payments-deploy"},
	} {
		id := byName(t, inv, awsfake.DemoPayments, g.name)
		res := actGrant(t, ctl, collectors.RemoveGrant, id, g.grant, nil)
		actGrant(t, ctl, collectors.RestoreGrant, id, g.grant, res.RestoreData)
	}
}

// node is an XML element.
type node struct {
	name     string
	children []*node
}

func parseXML(b []byte) (*node, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		switch e := tok.(type) {
		case xml.StartElement:
			n := &node{name: e.Name.Local}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

// checkXML checks a query-protocol answer: <ActionResponse> holding
// <ActionResult> (the output shape) and <ResponseMetadata><RequestId>.
func checkXML(x exchange) []string {
	typ, ok := modelOutputs[x.op]
	if !ok {
		return []string{"operation not in the model table"}
	}
	root, err := parseXML(x.body)
	if err != nil {
		return []string{"XML: " + err.Error()}
	}
	action := x.op[strings.Index(x.op, ":")+1:]
	if root.name != action+"Response" {
		return []string{"root element " + root.name}
	}
	var out []string
	for _, c := range root.children {
		switch c.name {
		case action + "Result":
			walkXML(c, typ, action+"Result", &out)
		case "ResponseMetadata":
			for _, m := range c.children {
				if m.name != "RequestId" || len(m.children) > 0 {
					out = append(out, "ResponseMetadata/"+m.name+": not in the protocol")
				}
			}
		default:
			out = append(out, c.name+": not in the protocol")
		}
	}
	return out
}

var timeType = reflect.TypeOf(time.Time{})

// walkXML checks that every child element of n is a member of typ: a
// structure's members by name, a list's items as <member>; scalars and
// blobs have no children.
func walkXML(n *node, typ reflect.Type, path string, out *[]string) {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch {
	case typ == timeType || typ.Kind() != reflect.Struct && typ.Kind() != reflect.Slice && typ.Kind() != reflect.Map:
		if len(n.children) > 0 {
			*out = append(*out, path+": a scalar in the model, with child elements")
		}
	case typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Uint8: // blob
		if len(n.children) > 0 {
			*out = append(*out, path+": a blob in the model, with child elements")
		}
	case typ.Kind() == reflect.Slice:
		for _, c := range n.children {
			if c.name != "member" {
				*out = append(*out, path+"/"+c.name+": a list item must be <member>")
				continue
			}
			walkXML(c, typ.Elem(), path+"/member", out)
		}
	case typ.Kind() == reflect.Map:
		*out = append(*out, path+": a map, which none of these operations returns")
	default:
		for _, c := range n.children {
			f, ok := typ.FieldByName(c.name)
			if !ok || !f.IsExported() || c.name == "ResultMetadata" {
				*out = append(*out, path+"/"+c.name+": not a member of "+typ.String())
				continue
			}
			walkXML(c, f.Type, path+"/"+c.name, out)
		}
	}
}

// checkJSON checks a JSON 1.1 answer against the output shape.
func checkJSON(x exchange) []string {
	typ, ok := modelOutputs[x.op]
	if !ok {
		return []string{"operation not in the model table"}
	}
	var v any
	if err := json.Unmarshal(x.body, &v); err != nil {
		return []string{"JSON: " + err.Error()}
	}
	var out []string
	walkJSON(v, typ, "$", &out)
	return out
}

func walkJSON(v any, typ reflect.Type, path string, out *[]string) {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ.Kind() == reflect.Interface {
		walkUnion(v, typ, path, out)
		return
	}
	switch v := v.(type) {
	case map[string]any:
		if typ.Kind() != reflect.Struct || typ == timeType {
			*out = append(*out, path+": an object where the model has "+typ.String())
			return
		}
		for k, val := range v {
			f, ok := typ.FieldByName(k)
			if !ok && k != "" {
				// restJson1 (Access Analyzer) names members in camel case.
				f, ok = typ.FieldByName(strings.ToUpper(k[:1]) + k[1:])
			}
			if !ok || !f.IsExported() || k == "ResultMetadata" {
				*out = append(*out, path+"."+k+": not a member of "+typ.String())
				continue
			}
			walkJSON(val, f.Type, path+"."+k, out)
		}
	case []any:
		if typ.Kind() != reflect.Slice {
			*out = append(*out, path+": a list where the model has "+typ.String())
			return
		}
		for _, e := range v {
			walkJSON(e, typ.Elem(), path+"[]", out)
		}
	}
}

// checkError checks an error answer: the query protocol's
// <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>, or
// JSON 1.1's {"__type", "Message"}.
func checkError(x exchange) []string {
	var out []string
	if x.json {
		var m map[string]any
		if err := json.Unmarshal(x.body, &m); err != nil {
			return []string{"JSON error: " + err.Error()}
		}
		for k := range m {
			if k != "__type" && k != "Message" && k != "message" {
				out = append(out, "error key "+k+": not in the protocol")
			}
		}
		return out
	}
	root, err := parseXML(x.body)
	if err != nil || root.name != "ErrorResponse" {
		return []string{"not an ErrorResponse"}
	}
	for _, c := range root.children {
		switch c.name {
		case "RequestId":
		case "Error":
			for _, e := range c.children {
				if !slices.Contains([]string{"Type", "Code", "Message"}, e.name) {
					out = append(out, "Error/"+e.name+": not in the protocol")
				}
			}
		default:
			out = append(out, c.name+": not in the protocol")
		}
	}
	return out
}
