package aws_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"golang.org/x/sync/errgroup"

	awscol "github.com/nhiscan/nhiscan/collectors/aws"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
)

// TestMotoScale measures, side by side, the requests and wall time of one
// account's collection at several sizes: nhiscan against moto, nhiscan
// against awsfake seeded alike, and a per-identity collection against
// moto (list the users and roles, then describe each: the pattern of
// tools that list first and ask about every identity after). It is a
// measurement, not a check: set NHISCAN_MOTO_SCALE to the user counts,
// for example
//
//	NHISCAN_MOTO_SCALE=50,100,200,400,800 go test -run MotoScale -v ./collectors/aws/
//
// Each size has n users (one in four with an access key, one in twenty
// with a second), ⌈n/4⌉ roles, one group and one customer managed policy.
func TestMotoScale(t *testing.T) {
	sizes := os.Getenv("NHISCAN_MOTO_SCALE")
	if sizes == "" {
		t.Skip("set NHISCAN_MOTO_SCALE=50,100,200,400,800 to measure against moto")
	}
	m := startMoto(t)
	t.Log("| users | roles | keys | nhiscan→moto requests | time | nhiscan→awsfake requests | time | per-identity→moto requests | time |")
	t.Log("|---|---|---|---|---|---|---|---|---|")
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			t.Fatal(err)
		}
		m.reset(t)
		keys := seedScale(t, m, n)
		now := time.Now().UTC()

		cfg := m.collectorConfig(now)
		cfg.Organization, cfg.RoleName = false, ""
		m.calls.Store(0)
		start := time.Now()
		inv := collectortest.Collect(t, mustCollector(t, cfg))
		motoTime, motoCalls := time.Since(start), m.calls.Load()
		if roles := (n + 3) / 4; len(inv.Identities) != n+roles {
			t.Fatalf("moto: %d identities, want %d", len(inv.Identities), n+roles)
		}

		fakeCalls, fakeTime := scaleOnFake(t, n)
		naiveCalls, naiveTime := perIdentity(t, m)
		t.Logf("| %d | %d | %d | %d | %s | %d | %s | %d | %s |", n, (n+3)/4, keys, motoCalls, motoTime.Round(time.Millisecond),
			fakeCalls, fakeTime.Round(time.Millisecond), naiveCalls, naiveTime.Round(time.Millisecond))
	}
}

func mustCollector(t testing.TB, cfg awscol.Config) *awscol.Collector {
	t.Helper()
	c, err := awscol.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// scaleUser is the i-th user of a scale seed: its name and key count.
func scaleUser(i int) (string, int) {
	keys := 0
	if i%4 == 0 {
		keys++
	}
	if i%20 == 0 {
		keys++
	}
	return fmt.Sprintf("svc-user-%04d", i), keys
}

// seedScale seeds moto's default account and returns the number of keys.
func seedScale(t *testing.T, m *motoServer, n int) int {
	t.Helper()
	ctx := context.Background()
	c := iam.NewFromConfig(m.sdkConfig(motoBase))
	pol, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("app-write"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","sqs:SendMessage"],"Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("deployers")}); err != nil {
		t.Fatal(err)
	}
	var keys atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error {
			name, k := scaleUser(i)
			if _, err := c.CreateUser(gctx, &iam.CreateUserInput{UserName: aws.String(name), Tags: iamTags("owner", fmt.Sprintf("owner%d@acme.example", i%40))}); err != nil {
				return err
			}
			if _, err := c.AttachUserPolicy(gctx, &iam.AttachUserPolicyInput{UserName: aws.String(name), PolicyArn: pol.Policy.Arn}); err != nil {
				return err
			}
			if _, err := c.AddUserToGroup(gctx, &iam.AddUserToGroupInput{UserName: aws.String(name), GroupName: aws.String("deployers")}); err != nil {
				return err
			}
			for range k {
				if _, err := c.CreateAccessKey(gctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)}); err != nil {
					return err
				}
				keys.Add(1)
			}
			if i%4 != 0 {
				return nil
			}
			_, err := c.CreateRole(gctx, &iam.CreateRoleInput{RoleName: aws.String(fmt.Sprintf("app-role-%04d", i/4)), AssumeRolePolicyDocument: aws.String(serviceTrust)})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return int(keys.Load())
}

// scaleOnFake collects the same organisation from awsfake (one account,
// no latency) and returns its requests and wall time.
func scaleOnFake(t *testing.T, n int) (int, time.Duration) {
	t.Helper()
	a := awsfake.Account{ID: "123456789012", Policies: []awsfake.Policy{{Name: "app-write", ID: "ANPASCALE", Created: now.AddDate(0, 0, -10),
		Document: `{"Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}}`}},
		Groups: []awsfake.Group{{Name: "deployers", ID: "AGPASCALE", Created: now.AddDate(0, 0, -10)}}}
	for i := range n {
		name, k := scaleUser(i)
		u := awsfake.User{Name: name, ID: fmt.Sprintf("AIDASCALE%011d", i), Created: now.AddDate(0, 0, -10), Groups: []string{"deployers"},
			Attached: []string{"arn:aws:iam::123456789012:policy/app-write"}}
		for j := range k {
			u.AccessKeys = append(u.AccessKeys, awsfake.AccessKey{ID: fmt.Sprintf("AKIASCALE%010d%d", i, j), Active: true, Created: now.AddDate(0, 0, -5+j)})
		}
		a.Users = append(a.Users, u)
		if i%4 == 0 {
			a.Roles = append(a.Roles, awsfake.Role{Name: fmt.Sprintf("app-role-%04d", i/4), ID: fmt.Sprintf("AROASCALE%011d", i), Created: now.AddDate(0, 0, -10), Trust: serviceTrust})
		}
	}
	srv := startFake(t, awsfake.Seed{Management: a.ID, Accounts: []awsfake.Account{a}})
	start := time.Now()
	inv := collectortest.Collect(t, newCollector(t, srv, func(c *awscol.Config) { c.Organization, c.RoleName = false, "" }))
	if roles := (n + 3) / 4; len(inv.Identities) != n+roles || len(inv.Gaps) > 0 {
		t.Fatalf("awsfake: %d identities, want %d; gaps %+v", len(inv.Identities), n+roles, inv.Gaps)
	}
	return srv.CallCount(""), time.Since(start)
}

// perIdentity collects the same facts one identity at a time: the users
// and roles pages, then for each user its keys, each key's last use, its
// attached and inline policies, its groups and its login profile, and
// for each role GetRole (last use, tags) and its attached and inline
// policies. It returns the requests and wall time.
func perIdentity(t *testing.T, m *motoServer) (int64, time.Duration) {
	t.Helper()
	var calls atomic.Int64
	cfg := m.sdkConfig(motoBase)
	cfg.HTTPClient = &http.Client{Transport: countingTransport{http.DefaultTransport, &calls}}
	c := iam.NewFromConfig(cfg)
	ctx := context.Background()
	start := time.Now()
	var err error
	for p := iam.NewListUsersPaginator(c, &iam.ListUsersInput{}); err == nil && p.HasMorePages(); {
		var users *iam.ListUsersOutput
		if users, err = p.NextPage(ctx); err == nil {
			for _, u := range users.Users {
				perUser(ctx, c, u.UserName)
			}
		}
	}
	for p := iam.NewListRolesPaginator(c, &iam.ListRolesInput{}); err == nil && p.HasMorePages(); {
		var roles *iam.ListRolesOutput
		if roles, err = p.NextPage(ctx); err == nil {
			for _, r := range roles.Roles {
				_, _ = c.GetRole(ctx, &iam.GetRoleInput{RoleName: r.RoleName})
				_, _ = c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: r.RoleName})
				_, _ = c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: r.RoleName})
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return calls.Load(), time.Since(start)
}

func perUser(ctx context.Context, c *iam.Client, name *string) {
	if keys, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: name}); err == nil {
		for _, k := range keys.AccessKeyMetadata {
			_, _ = c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
		}
	}
	_, _ = c.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: name})
	_, _ = c.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: name})
	_, _ = c.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: name})
	_, _ = c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: name})
}
