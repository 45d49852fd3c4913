package awsfake_test

import (
	"encoding/base64"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
)

var now = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

// call posts a query-protocol request signed (in shape only) with key.
func call(t *testing.T, srv *awsfake.Server, service, key string, form url.Values) (int, string) {
	t.Helper()
	return post(t, srv, service, key, form.Encode(), "application/x-www-form-urlencoded", "")
}

// listAccounts calls organizations:ListAccounts (JSON 1.1) with body.
func listAccounts(t *testing.T, srv *awsfake.Server, body string) (int, string) {
	t.Helper()
	return post(t, srv, "organizations", awsfake.BaseAccessKeyID, body, "application/x-amz-json-1.1", "AWSOrganizationsV20161128.ListAccounts")
}

func post(t *testing.T, srv *awsfake.Server, service, key, body, contentType, target string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+key+"/20261120/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWireFormat(t *testing.T) {
	seed := awsfake.Demo(now)
	seed.Now = func() time.Time { return now }
	srv := awsfake.New(seed)
	defer srv.Close()

	code, body := call(t, srv, "sts", awsfake.BaseAccessKeyID, url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"},
		"RoleArn": {"arn:aws:iam::" + awsfake.DemoData + ":role/" + awsfake.DemoRoleName}, "RoleSessionName": {"t"}})
	if code != 200 || !strings.Contains(body, "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>") {
		t.Fatalf("AssumeRole %d %s", code, body)
	}
	key := regexp.MustCompile(`<AccessKeyId>([^<]+)</AccessKeyId>`).FindStringSubmatch(body)[1]

	_, body = call(t, srv, "iam", key, url.Values{"Action": {"GetAccountAuthorizationDetails"}, "Version": {"2010-05-08"}, "Filter.member.1": {"Role"}})
	if !strings.Contains(body, "<AssumeRolePolicyDocument>%7B%22Version%22%3A%222012-10-17%22") || strings.Contains(body, "<UserDetailList><member>") {
		t.Errorf("policy documents must be URL-encoded and the filter honoured: %.400s", body)
	}
	if !strings.Contains(body, "<IsTruncated>false</IsTruncated>") {
		t.Errorf("missing IsTruncated: %.200s", body)
	}

	_, body = call(t, srv, "iam", key, url.Values{"Action": {"GenerateCredentialReport"}})
	if !strings.Contains(body, "<State>STARTED</State>") {
		t.Errorf("first generate: %s", body)
	}
	code, body = call(t, srv, "iam", key, url.Values{"Action": {"GetCredentialReport"}})
	if code != 404 || !strings.Contains(body, "<Code>ReportInProgress</Code>") {
		t.Errorf("get while generating: %d %s", code, body)
	}
	_, body = call(t, srv, "iam", key, url.Values{"Action": {"GenerateCredentialReport"}})
	if !strings.Contains(body, "<State>COMPLETE</State>") {
		t.Errorf("second generate: %s", body)
	}
	// IAM reports the account as it was when generation started, and
	// reuses that report for four hours.
	srv.Mutate(awsfake.DemoData, func(a *awsfake.Account) {
		a.Users = append(a.Users, awsfake.User{Name: "created-after-report", ID: "AIDA333LATEUSER00001", Created: now})
	})
	_, body = call(t, srv, "iam", key, url.Values{"Action": {"GenerateCredentialReport"}})
	if !strings.Contains(body, "<State>COMPLETE</State>") {
		t.Errorf("generate within 4h of the last report: %s", body)
	}
	_, body = call(t, srv, "iam", key, url.Values{"Action": {"GetCredentialReport"}})
	content := regexp.MustCompile(`<Content>([^<]+)</Content>`).FindStringSubmatch(body)
	if content == nil {
		t.Fatalf("no content: %s", body)
	}
	raw, err := base64.StdEncoding.DecodeString(content[1])
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows[0]) != 22 || rows[1][0] != "<root_account>" || len(rows) != 5 {
		t.Errorf("report: %d columns, %d rows, first %v", len(rows[0]), len(rows), rows[1])
	}
	for _, sec := range seed.Secrets() {
		if strings.Contains(string(raw), sec) || strings.Contains(body, sec) {
			t.Error("a seeded secret reached a response")
		}
	}

	code, body = call(t, srv, "iam", "AKIAUNKNOWN000000000", url.Values{"Action": {"ListAccessKeys"}, "UserName": {"x"}})
	if code != 403 || !strings.Contains(body, "InvalidClientTokenId") {
		t.Errorf("unknown key: %d %s", code, body)
	}
	if srv.CallCount("iam:GetCredentialReport") != 2 || srv.CallCount("iam:GenerateCredentialReport") != 3 || srv.AccountCalls(awsfake.DemoData)["sts:AssumeRole"] != 1 {
		t.Errorf("calls %v", srv.Calls())
	}
}

func TestOrganizationsJSON(t *testing.T) {
	srv := awsfake.New(awsfake.Demo(now))
	defer srv.Close()
	if _, b := listAccounts(t, srv, `{"MaxResults":2}`); !strings.Contains(b, `"NextToken":"fake-token-2"`) || !strings.Contains(b, `"State":"ACTIVE"`) {
		t.Errorf("ListAccounts: %s", b)
	}
}

func TestUpdateStatusValidated(t *testing.T) {
	seed := awsfake.Demo(now)
	srv := awsfake.New(seed)
	defer srv.Close()
	_, body := call(t, srv, "sts", awsfake.BaseAccessKeyID, url.Values{"Action": {"AssumeRole"},
		"RoleArn": {"arn:aws:iam::" + awsfake.DemoData + ":role/" + awsfake.DemoRoleName}, "RoleSessionName": {"t"}})
	key := regexp.MustCompile(`<AccessKeyId>([^<]+)</AccessKeyId>`).FindStringSubmatch(body)[1]
	for _, form := range []url.Values{
		{"Action": {"UpdateAccessKey"}, "UserName": {"data-etl-runner"}, "AccessKeyId": {"AKIA333DATAETLRUN001"}, "Status": {"inactive"}},
		{"Action": {"UpdateServiceSpecificCredential"}, "UserName": {"data-airflow-svc"}, "ServiceSpecificCredentialId": {"ACCA333AIRFLOWBEDRK01"}},
	} {
		if code, body := call(t, srv, "iam", key, form); code != 400 || !strings.Contains(body, "ValidationError") {
			t.Errorf("%s without a valid Status: %d %s", form.Get("Action"), code, body)
		}
	}
	a, _ := srv.Account(awsfake.DemoData)
	for _, u := range a.Users {
		for _, c := range u.ServiceCreds {
			if !c.Active {
				t.Errorf("%s changed by an invalid call", c.ID)
			}
		}
	}
}

// TestFaults: each injected fault is answered as AWS answers it, per
// account (an AssumeRole belongs to the account of the role) and operation.
func TestFaults(t *testing.T) {
	srv := awsfake.New(awsfake.Demo(now))
	defer srv.Close()
	assume := url.Values{"Action": {"AssumeRole"}, "RoleArn": {"arn:aws:iam::" + awsfake.DemoData + ":role/" + awsfake.DemoRoleName}, "RoleSessionName": {"t"}}
	_, body := call(t, srv, "sts", awsfake.BaseAccessKeyID, assume)
	key := regexp.MustCompile(`<AccessKeyId>([^<]+)</AccessKeyId>`).FindStringSubmatch(body)[1]
	keys := url.Values{"Action": {"ListAccessKeys"}, "UserName": {"data-etl-runner"}}

	srv.Deny(awsfake.DemoData, "iam:ListAccessKeys")
	if code, body := call(t, srv, "iam", key, keys); code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") || !strings.Contains(body, "<Type>Sender</Type>") {
		t.Errorf("denied: %d %s", code, body)
	}
	if code, _ := call(t, srv, "sts", awsfake.BaseAccessKeyID, assume); code != 200 {
		t.Errorf("a fault on one operation failed another: %d", code)
	}
	srv.ClearFaults()
	srv.Throttle(awsfake.DemoData, "", 1)
	if code, body := call(t, srv, "iam", key, keys); code != 400 || !strings.Contains(body, "<Code>Throttling</Code>") {
		t.Errorf("throttled: %d %s", code, body)
	}
	if code, _ := call(t, srv, "iam", key, keys); code != 200 {
		t.Errorf("throttling past n calls: %d", code)
	}
	srv.Fail(awsfake.DemoData, "iam:ListAccessKeys", 500)
	if code, body := call(t, srv, "iam", key, keys); code != 500 || !strings.Contains(body, "<Code>ServiceFailure</Code>") || !strings.Contains(body, "<Type>Receiver</Type>") {
		t.Errorf("failed: %d %s", code, body)
	}
	srv.ClearFaults()
	srv.Fail(awsfake.DemoData, "sts:AssumeRole", 503)
	if code, body := call(t, srv, "sts", awsfake.BaseAccessKeyID, assume); code != 503 || !strings.Contains(body, "<Code>ServiceUnavailable</Code>") {
		t.Errorf("unavailable: %d %s", code, body)
	}
	srv.ClearFaults()
	srv.Deny(awsfake.DemoManagement, "organizations:ListAccounts")
	if code, body := listAccounts(t, srv, `{}`); code != 403 || !strings.Contains(body, `"__type":"AccessDeniedException"`) {
		t.Errorf("organizations denied: %d %s", code, body)
	}
	srv.ClearFaults()
	srv.Throttle(awsfake.DemoManagement, "organizations:ListAccounts", 1)
	if code, body := listAccounts(t, srv, `{}`); code != 400 || !strings.Contains(body, `"__type":"TooManyRequestsException"`) {
		t.Errorf("organizations throttled: %d %s", code, body)
	}
	if got := srv.Injected(); len(got) != 1 || got[0].Scope != awsfake.DemoManagement || got[0].Op != "organizations:ListAccounts" {
		t.Errorf("injected since the last ClearFaults: %+v", got)
	}
}

// TestTimeoutFault: a call with an injected timeout gets no answer until
// the client gives up, and Close does not wait for the hang limit.
func TestTimeoutFault(t *testing.T) {
	srv := awsfake.New(awsfake.Demo(now))
	srv.SetHang(time.Minute)
	srv.Timeout(awsfake.DemoManagement, "sts:GetCallerIdentity")
	client := srv.Client()
	client.Timeout = 100 * time.Millisecond
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader("Action=GetCallerIdentity"))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+awsfake.BaseAccessKeyID+"/20261120/us-east-1/sts/aws4_request, Signature=0")
	start := time.Now()
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d, want no answer", resp.StatusCode)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the client waited %v", d)
	}

	// A call still hanging (its client waits a minute) must not hold up
	// Close.
	started := make(chan struct{})
	go func() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader("Action=GetCallerIdentity"))
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+awsfake.BaseAccessKeyID+"/20261120/us-east-1/sts/aws4_request, Signature=0")
		close(started)
		if resp, err := srv.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	for srv.CallCount("sts:GetCallerIdentity") < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	start = time.Now()
	srv.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v with a call hanging", d)
	}
}
