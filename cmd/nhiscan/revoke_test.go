package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/internal/notify/smtptest"
	"github.com/nhiscan/nhiscan/internal/revoke"
)

// Twin keys of one user, created in the same second: one used yesterday,
// one unused for 400 days (field anchor B3).
const (
	twinUser  = "twin-keys"
	usedKey   = "AKIA222TWINUSED00001"
	staleKey  = "AKIA222TWINSTALE0001"
	twinScope = awsfake.DemoPayments
)

// revokeOrg is an AWS-only organisation served by the fake and reached the
// way a deployment reaches AWS: the configuration's endpoint and a shared
// credentials file.
type revokeOrg struct {
	c   *cli
	srv *awsfake.Server
	cfg string
}

func newRevokeOrg(t *testing.T, revokeSection string) *revokeOrg {
	t.Helper()
	c := newCLI(t)
	seed := awsfake.Demo(c.now)
	created := c.now.AddDate(0, 0, -500)
	for i := range seed.Accounts {
		if seed.Accounts[i].ID == twinScope {
			seed.Accounts[i].Users = append(seed.Accounts[i].Users, awsfake.User{Name: twinUser, ID: "AIDA222TWINKEYS00001", Created: created,
				Tags: map[string]string{"owner": "henry.adams@acme.example"},
				AccessKeys: []awsfake.AccessKey{
					{ID: usedKey, Active: true, Created: created, LastUsed: c.now.AddDate(0, 0, -1), LastUsedService: "s3", LastUsedRegion: "eu-west-1"},
					{ID: staleKey, Active: true, Created: created, LastUsed: c.now.AddDate(0, 0, -400), LastUsedService: "sts", LastUsedRegion: "us-east-1"},
				}})
		}
	}
	srv := awsfake.New(seed)
	t.Cleanup(srv.Close)
	catDir := filepath.Join(c.dir, "catalog")
	if err := copyFS(demoFS, "demo", catDir, strings.NewReplacer("DEMO_IN_60_DAYS", c.now.AddDate(0, 0, 60).Format(time.DateOnly),
		"DEMO_1_DAY_AGO", c.now.AddDate(0, 0, -1).Format(time.DateOnly))); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(c.dir, "aws-credentials"), fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		awsfake.BaseAccessKeyID, awsfake.BaseSecretAccessKey))
	cfg := filepath.Join(c.dir, "nhiscan.yaml")
	writeFile(t, cfg, fmt.Sprintf(`database: nhiscan.db
catalog: [catalog]
providers:
  aws:
    organization: true
    role_name: %s
    region: us-east-1
    endpoint: %s
    shared_credentials_file: aws-credentials
revoke:
  max_per_run: 100
  max_per_scope: 100
%s`, awsfake.DemoRoleName, srv.URL, revokeSection))
	return &revokeOrg{c: c, srv: srv, cfg: cfg}
}

func (o *revokeOrg) run(t *testing.T, want int, args ...string) string {
	t.Helper()
	code, out, errs := o.c.run(append(args, "--config", o.cfg)...)
	if code != want {
		t.Fatalf("nhiscan %s = %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errs)
	}
	return out + errs
}

// plan builds a plan and returns it as stored.
func (o *revokeOrg) plan(t *testing.T, stage string) revoke.Plan {
	t.Helper()
	code, out, errs := o.c.run("revoke", "plan", "--stage", stage, "--format", "json", "--config", o.cfg)
	if code != exitOK {
		t.Fatalf("revoke plan = %d\n%s%s", code, out, errs)
	}
	var p revoke.Plan
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &p); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, out)
	}
	return p
}

// twins returns the plan's actions on the twin-keys user.
func twins(p revoke.Plan) []revoke.Action {
	var out []revoke.Action
	for _, a := range p.Actions {
		if a.IdentityName == twinUser {
			out = append(out, a)
		}
	}
	return out
}

func (o *revokeOrg) keyActive(t *testing.T, id string) bool {
	t.Helper()
	acct, _ := o.srv.Account(twinScope)
	for _, u := range acct.Users {
		for _, k := range u.AccessKeys {
			if k.ID == id {
				return k.Active
			}
		}
	}
	t.Fatalf("key %s is gone", id)
	return false
}

// TestRevokeB3EndToEnd: the dormant policy over a scan through the
// configured endpoint plans only the stale one of two keys created in the
// same second; a dry run changes nothing; apply disables that key alone,
// journaled and audited; the rescan resolves its finding and links it to
// the action; rollback reactivates it.
func TestRevokeB3EndToEnd(t *testing.T) {
	o := newRevokeOrg(t, "  notice_period: 0d\n  policies:\n    dormant: { after: 180d }\n")
	o.run(t, exitOK, "scan")
	p := o.plan(t, "disable")
	tw := twins(p)
	if len(tw) != 1 || tw[0].CredentialID != staleKey || !tw[0].Ready() || tw[0].Op != revoke.OpDisable {
		t.Fatalf("twin actions = %+v", tw)
	}
	if tw[0].Expect.Usage.Source != "access-key-last-used" {
		t.Errorf("the stale key's use comes from %q, want the per-key re-read", tw[0].Expect.Usage.Source)
	}
	id := fmt.Sprint(p.ID)
	o.srv.ResetCalls()
	out := o.run(t, exitOK, "revoke", "apply", "--plan", id, "--approver", "dana.ops@acme.example")
	if !strings.Contains(out, "dry run") || o.srv.CallCount("iam:UpdateAccessKey") != 0 {
		t.Fatalf("dry run acted (%d UpdateAccessKey):\n%s", o.srv.CallCount("iam:UpdateAccessKey"), out)
	}
	out = o.run(t, exitOK, "revoke", "apply", "--plan", id, "--approver", "dana.ops@acme.example", "--reason", "CHG-1042", "--execute")
	if !strings.Contains(out, "done") || o.keyActive(t, staleKey) || !o.keyActive(t, usedKey) {
		t.Fatalf("after apply: stale active %v, used active %v\n%s", o.keyActive(t, staleKey), o.keyActive(t, usedKey), out)
	}
	ready := p.Count().Ready
	if n := o.srv.CallCount("iam:UpdateAccessKey"); n != ready {
		t.Errorf("UpdateAccessKey calls = %d, want one per ready action (%d)", n, ready)
	}
	if out := o.run(t, exitOK, "revoke", "apply", "--plan", id, "--approver", "dana.ops@acme.example", "--execute"); !strings.Contains(out, "already-done") ||
		o.srv.CallCount("iam:UpdateAccessKey") != ready {
		t.Errorf("a second apply acted again:\n%s", out)
	}
	out = o.run(t, exitOK, "scan")
	if !strings.Contains(out, "remediated:") {
		t.Errorf("the rescan does not report remediated findings:\n%s", out)
	}
	status := o.run(t, exitOK, "revoke", "status", "--plan", id)
	for _, want := range []string{staleKey, "apply: done", "dana.ops@acme.example", "Active -> Inactive", "remediated: dormant-credential"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	out = o.run(t, exitOK, "revoke", "rollback", "--plan", id, "--approver", "dana.ops@acme.example", "--reason", "owner objected", "--execute")
	if !o.keyActive(t, staleKey) || !strings.Contains(out, "done") {
		t.Errorf("rollback did not reactivate the key:\n%s", out)
	}
	// The rescan's evidence pack records the action, its approver, the
	// state before and after, when it was verified, what it remediated,
	// and the rollback.
	ev := filepath.Join(o.c.dir, "evidence")
	o.run(t, exitOK, "export", "evidence", "--out", ev)
	rem, err := os.ReadFile(filepath.Join(ev, "remediation.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"apply,done,dana.ops@acme.example,CHG-1042", "Active,Inactive,true", "rollback,done", "Inactive,Active",
		staleKey, "policy dormant"} {
		if !strings.Contains(string(rem), want) {
			t.Errorf("remediation.csv lacks %q:\n%s", want, rem)
		}
	}
	remediated := false
	for _, l := range strings.Split(string(rem), "\n") {
		remediated = remediated || (strings.Contains(l, staleKey) && strings.Contains(l, "apply,done") && strings.HasSuffix(l, ",2"))
	}
	if !remediated {
		t.Errorf("remediation.csv does not say scan 2 remediated the stale key's findings:\n%s", rem)
	}
	o.run(t, exitOK, "audit", "verify", "--evidence", ev)
	audit := o.run(t, exitOK, "audit", "verify")
	if !strings.Contains(audit, "intact") {
		t.Errorf("audit verify:\n%s", audit)
	}
}

// TestRevokeRefusedAfterChange: a key used after the plan was built is
// refused at apply (exit 1), journaled, and left active.
func TestRevokeRefusedAfterChange(t *testing.T) {
	o := newRevokeOrg(t, "  notice_period: 0d\n  policies:\n    dormant: { after: 180d }\n")
	o.run(t, exitOK, "scan")
	p := o.plan(t, "disable")
	o.srv.Mutate(twinScope, func(a *awsfake.Account) {
		for i := range a.Users {
			for j := range a.Users[i].AccessKeys {
				if k := &a.Users[i].AccessKeys[j]; k.ID == staleKey {
					k.LastUsed = o.c.now.Add(-time.Hour)
				}
			}
		}
	})
	out := o.run(t, exitFindings, "revoke", "apply", "--plan", fmt.Sprint(p.ID), "--approver", "dana.ops@acme.example", "--execute")
	if !strings.Contains(out, "refused") || !strings.Contains(out, "used at") || !o.keyActive(t, staleKey) {
		t.Errorf("apply after the key was used:\n%s", out)
	}
	if status := o.run(t, exitOK, "revoke", "status", "--plan", fmt.Sprint(p.ID)); !strings.Contains(status, "apply: refused") {
		t.Errorf("status:\n%s", status)
	}
}

// TestRevokeGapBlocks: with the credential report denied in one account,
// nothing there is acted on, even where a per-key re-read could tell the
// use; the other accounts' actions stay ready.
func TestRevokeGapBlocks(t *testing.T) {
	o := newRevokeOrg(t, "  notice_period: 0d\n  policies:\n    dormant: { after: 100d }\n")
	o.srv.Deny(twinScope, "iam:GetCredentialReport")
	o.run(t, exitOK, "scan")
	p := o.plan(t, "disable")
	ready, blocked := 0, 0
	for _, a := range p.Actions {
		switch {
		case a.Scope == twinScope && a.Ready():
			t.Errorf("action in the account with a gap is ready: %+v", a)
		case a.Scope == twinScope:
			blocked++
			if a.Blocked[0].Guard != revoke.GuardCoverage || !strings.Contains(a.Blocked[0].Why, "usage:credential-report") {
				t.Errorf("blocked by %+v", a.Blocked)
			}
		case a.Ready():
			ready++
		}
	}
	if blocked == 0 || ready == 0 {
		t.Fatalf("blocked %d in the gapped account, ready %d elsewhere:\n%+v", blocked, ready, p.Actions)
	}
	o.srv.ResetCalls()
	o.run(t, exitOK, "revoke", "apply", "--plan", fmt.Sprint(p.ID), "--approver", "dana.ops@acme.example", "--execute")
	if !o.keyActive(t, staleKey) {
		t.Error("a key in the account with a gap was disabled")
	}
}

// TestRevokeStagesCLI: notify, then disable once the notice is old
// enough, then delete after the grace period, each its own plan; the
// notice is written to the outbox.
func TestRevokeStagesCLI(t *testing.T) {
	o := newRevokeOrg(t, "  policies:\n    dormant: { after: 180d }\n")
	o.run(t, exitOK, "scan")
	if tw := twins(o.plan(t, "disable")); len(tw) != 1 || tw[0].Ready() || tw[0].Blocked[0].Guard != revoke.GuardStage {
		t.Fatalf("disable before any notice: %+v", tw)
	}
	n := o.plan(t, "notify")
	outbox := filepath.Join(o.c.dir, "notices")
	o.run(t, exitOK, "revoke", "apply", "--plan", fmt.Sprint(n.ID), "--approver", "dana.ops@acme.example", "--execute", "--outbox", outbox)
	notice, err := os.ReadFile(filepath.Join(outbox, "001-revoke-notice-henry.adams@acme.example.eml"))
	if err != nil || !strings.Contains(string(notice), staleKey) || strings.Contains(string(notice), usedKey) ||
		!strings.Contains(string(notice), fmt.Sprintf("X-Nhiscan-Plan: %d", n.ID)) {
		t.Fatalf("notice: %v\n%s", err, notice)
	}
	// A rerun of the applied plan sends nothing again (the journal says done).
	before, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	rerun := o.run(t, exitOK, "revoke", "apply", "--plan", fmt.Sprint(n.ID), "--approver", "dana.ops@acme.example", "--execute", "--outbox", outbox)
	if files, _ := filepath.Glob(filepath.Join(outbox, "*.eml")); len(files) != len(before) || !strings.Contains(rerun, "already-done") {
		t.Fatalf("rerun of a notify plan: %d notices in the outbox, %d before\n%s", len(files), len(before), rerun)
	}
	o.c.now = o.c.now.Add(8 * 24 * time.Hour)
	o.run(t, exitOK, "scan")
	d := o.plan(t, "disable")
	if tw := twins(d); len(tw) != 1 || !tw[0].Ready() {
		t.Fatalf("disable after the notice period: %+v", tw)
	}
	o.run(t, exitOK, "revoke", "apply", "--plan", fmt.Sprint(d.ID), "--approver", "dana.ops@acme.example", "--execute")
	o.run(t, exitOK, "scan")
	if tw := twins(o.plan(t, "delete")); len(tw) != 1 || tw[0].Ready() || !strings.Contains(tw[0].Blocked[0].Why, "grace") {
		t.Fatalf("delete inside the grace period: %+v", tw)
	}
	o.c.now = o.c.now.Add(31 * 24 * time.Hour)
	o.run(t, exitOK, "scan")
	del := o.plan(t, "delete")
	if tw := twins(del); len(tw) != 1 || !tw[0].Ready() || tw[0].Op != revoke.OpDelete {
		t.Fatalf("delete after the grace period: %+v", tw)
	}
	o.run(t, exitOK, "revoke", "apply", "--plan", fmt.Sprint(del.ID), "--approver", "dana.ops@acme.example", "--execute")
	acct, _ := o.srv.Account(twinScope)
	for _, u := range acct.Users {
		if u.Name == twinUser && (len(u.AccessKeys) != 1 || u.AccessKeys[0].ID != usedKey) {
			t.Errorf("after delete: %+v", u.AccessKeys)
		}
	}
	if out := o.run(t, exitOK, "revoke", "rollback", "--plan", fmt.Sprint(del.ID), "--approver", "dana.ops@acme.example"); !strings.Contains(out, "irreversible") {
		t.Errorf("rollback of a delete:\n%s", out)
	}
}

func TestRevokeUsageErrors(t *testing.T) {
	o := newRevokeOrg(t, "")
	o.run(t, exitOK, "scan")
	for _, args := range [][]string{
		{"revoke", "plan"},
		{"revoke", "plan", "--stage", "purge"},
		{"revoke", "apply", "--plan", "1"},
		{"revoke", "apply", "--plan", "1", "--approver", "not an address"},
		{"revoke", "apply", "--plan", "9", "--approver", "dana@acme.example"},
		{"revoke", "status", "--plan", "9"},
	} {
		o.run(t, exitUsage, args...)
	}
	if out := o.run(t, exitOK, "revoke", "plan", "--stage", "disable"); !strings.Contains(out, "nothing to plan") {
		t.Errorf("policies off, no campaign:\n%s", out)
	}
}

// TestRevokeNoticeEmail: with an smtp section, the notify stage emails each
// owner through the server and keeps a copy in the outbox; a rerun sends
// nothing again.
func TestRevokeNoticeEmail(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	o := newRevokeOrg(t, fmt.Sprintf("  policies:\n    dormant: { after: 180d }\nsmtp:\n  host: %s\n  port: %d\n  tls: none\n  from: nhiscan <nhiscan@acme.example>\n",
		srv.Host, srv.Port))
	o.run(t, exitOK, "scan")
	n := o.plan(t, "notify")
	outbox := filepath.Join(o.c.dir, "notices")
	for range 2 {
		o.run(t, exitOK, "revoke", "apply", "--plan", fmt.Sprint(n.ID), "--approver", "dana.ops@acme.example", "--execute", "--outbox", outbox)
	}
	copies, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	msgs := srv.Messages()
	if len(msgs) == 0 || len(msgs) != len(copies) {
		t.Fatalf("%d messages by SMTP, %d copies in the outbox", len(msgs), len(copies))
	}
	var henry bool
	for _, m := range msgs {
		if len(m.To) == 1 && m.To[0] == "henry.adams@acme.example" {
			henry = true
			if !strings.Contains(string(m.Data), staleKey) || strings.Contains(string(m.Data), usedKey) {
				t.Errorf("henry's notice names the wrong key:\n%s", m.Data)
			}
		}
	}
	if !henry {
		t.Errorf("no notice to henry.adams@acme.example: %+v", msgs)
	}
}
