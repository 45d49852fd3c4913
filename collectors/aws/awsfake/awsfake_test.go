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
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
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
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(`{"MaxResults":2}`))
	req.Header.Set("X-Amz-Target", "AWSOrganizationsV20161128.ListAccounts")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+awsfake.BaseAccessKeyID+"/20261120/us-east-1/organizations/aws4_request, Signature=0")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"NextToken":"fake-token-2"`) || !strings.Contains(string(b), `"State":"ACTIVE"`) {
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
