package aws_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	awscol "github.com/nhiscan/nhiscan/collectors/aws"
)

// The end-to-end tests against moto (an independent AWS emulator, run as
// `moto_server`) check the collector against an implementation its
// authors did not write: the real collector, through the real SDK, over
// HTTP. They skip, saying why, when moto_server is not installed.

// motoBase are the credentials of moto's default account, 123456789012
// (moto accepts any key; its account comes from the key).
var motoBase = credentials.NewStaticCredentialsProvider("testing", "testing", "")

// motoServer is a moto_server this test started.
type motoServer struct {
	url string
	// calls counts the requests the collector sent (through countingClient).
	calls atomic.Int64
}

// startMoto starts moto_server on a free port with AWS managed policies
// loaded (AdministratorAccess, AWSCompromisedKeyQuarantineV2…) and stops
// it when the test ends.
func startMoto(t testing.TB) *motoServer {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test against moto: skipped in -short mode")
	}
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server is not installed (pip install 'moto[server]'): the end-to-end test against moto is skipped")
	}
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true")
		if err := cmd.Start(); err != nil {
			t.Fatalf("start moto_server: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}
		url := "http://127.0.0.1:" + strconv.Itoa(port)
		if waitReady(url, exited, 60*time.Second) {
			t.Cleanup(stop)
			return &motoServer{url: url}
		}
		stop() // the port was taken meanwhile, or moto did not come up
	}
	t.Fatal("moto_server did not start")
	return nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitReady polls moto's management API until it answers.
func waitReady(url string, exited <-chan struct{}, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		resp, err := http.Get(url + "/moto-api/data.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// reset empties moto (every account and service).
func (m *motoServer) reset(t testing.TB) {
	t.Helper()
	resp, err := http.Post(m.url+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// sdkConfig is an SDK configuration for moto with the given credentials.
func (m *motoServer) sdkConfig(creds aws.CredentialsProvider) aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(m.url), RetryMaxAttempts: 1}
}

// countingTransport counts the requests sent through it.
type countingTransport struct {
	base http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// collectorConfig points a collector at moto, scanning the organisation
// with the scanner role, at the clock now, counting its requests.
func (m *motoServer) collectorConfig(now time.Time) awscol.Config {
	return awscol.Config{
		Organization: true, RoleName: awsfakeRole,
		EndpointURL: m.url, Credentials: motoBase,
		HTTPClient: &http.Client{Transport: countingTransport{http.DefaultTransport, &m.calls}},
		MaxRetries: 1, MaxRetryDelay: 10 * time.Millisecond, ReportPollInterval: 10 * time.Millisecond,
		Now: func() time.Time { return now },
		// moto does not implement service last accessed data.
		LastAccessed: awscol.LastAccessedOff,
	}
}

// awsfakeRole is the scanner role in every account, as in the demo.
const awsfakeRole = "nhiscan-audit"

// motoAccount is an IAM client acting in one account of moto.
type motoAccount struct {
	id  string
	iam *iam.Client
	cfg aws.Config
}

// createAccounts makes moto's default account the management account of
// an organisation with the named member accounts, creates the scanner
// role in each, and returns them, management first.
func (m *motoServer) createAccounts(t testing.TB, names ...string) []motoAccount {
	t.Helper()
	ctx := context.Background()
	base := m.sdkConfig(motoBase)
	org := organizations.NewFromConfig(base)
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: "ALL"}); err != nil {
		t.Fatalf("create organization: %v", err)
	}
	ids := []string{"123456789012"}
	for _, n := range names {
		out, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(n), Email: aws.String(n + "@acme.example")})
		if err != nil {
			t.Fatalf("create account %s: %v", n, err)
		}
		ids = append(ids, aws.ToString(out.CreateAccountStatus.AccountId))
	}
	var out []motoAccount
	for _, id := range ids {
		a := m.assume(t, id)
		must(t, "create scanner role", func() error {
			_, err := a.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(awsfakeRole),
				AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)})
			return err
		})
		out = append(out, a)
	}
	return out
}

// assume returns a client acting in account (moto maps the session
// credentials of a role to the role's account).
func (m *motoServer) assume(t testing.TB, account string) motoAccount {
	t.Helper()
	out, err := sts.NewFromConfig(m.sdkConfig(motoBase)).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + account + ":role/" + awsfakeRole), RoleSessionName: aws.String("seed")})
	if err != nil {
		t.Fatalf("assume into %s: %v", account, err)
	}
	c := out.Credentials
	cfg := m.sdkConfig(credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)))
	return motoAccount{id: account, iam: iam.NewFromConfig(cfg), cfg: cfg}
}

func must(t testing.TB, what string, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// iamTags builds IAM tags from key, value pairs.
func iamTags(kv ...string) []iamtypes.Tag {
	var out []iamtypes.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, iamtypes.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}
