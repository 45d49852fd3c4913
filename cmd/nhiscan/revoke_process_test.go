//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/revoke"
	"github.com/nhiscan/nhiscan/internal/store"
)

const (
	revokeHelperArgs = "NHISCAN_REVOKE_HELPER_ARGS"
	revokeHelperNow  = "NHISCAN_REVOKE_HELPER_NOW"
)

// TestRevokeHelperProcess is not a test: TestRevokeCrashResumes runs the
// test binary again as a child that runs nhiscan with the arguments in
// NHISCAN_REVOKE_HELPER_ARGS (separated by newlines). After the provider
// acted on the first action, before the journal records it, the child says
// "acted <id>" and waits to be killed.
func TestRevokeHelperProcess(t *testing.T) {
	args := os.Getenv(revokeHelperArgs)
	if args == "" {
		t.Skip("helper process for TestRevokeCrashResumes")
	}
	now, err := time.Parse(time.RFC3339, os.Getenv(revokeHelperNow))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	revokeAfterAct = func(a *revoke.Action) {
		fmt.Printf("acted %d\n", a.ID)
		time.Sleep(time.Minute)
		os.Exit(3) // never reached: the parent kills us first
	}
	a := &app{stdout: os.Stderr, stderr: os.Stderr, now: func() time.Time { return now }, getenv: func(string) string { return "" }}
	code := a.run(context.Background(), strings.Split(args, "\n"))
	fmt.Printf("exited %d\n", code)
	os.Exit(code)
}

// TestRevokeCrashResumes: an apply killed (SIGKILL) after the provider
// disabled the first key and before the journal recorded it leaves a begin
// row; the next apply re-reads that key, finds it disabled, records it done
// without a second call, and goes on with the rest. Every key is disabled
// exactly once.
func TestRevokeCrashResumes(t *testing.T) {
	o := newRevokeOrg(t, "  notice_period: 0d\n  policies:\n    dormant: { after: 180d }\n")
	o.run(t, exitOK, "scan")
	p := o.plan(t, "disable")
	if p.Count().Ready < 2 {
		t.Fatalf("want at least two ready actions, plan has %+v", p.Count())
	}
	o.srv.ResetCalls()
	args := []string{"revoke", "apply", "--plan", fmt.Sprint(p.ID), "--approver", "dana.ops@acme.example", "--execute", "--config", o.cfg}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRevokeHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), revokeHelperArgs+"="+strings.Join(args, "\n"), revokeHelperNow+"="+o.c.now.Format(time.RFC3339))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case l := <-line:
		if l != "acted 1" {
			t.Fatalf("child said %q; stderr:\n%s", l, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("child never acted; stderr:\n%s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if n := o.srv.CallCount("iam:UpdateAccessKey"); n != 1 {
		t.Fatalf("UpdateAccessKey calls before the kill = %d, want 1", n)
	}

	st, err := store.Open(context.Background(), o.c.dir+"/nhiscan.db")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := st.RevokeJournal(context.Background(), p.ID)
	st.Close()
	if err != nil || len(rows) != 1 || rows[0].Step != revoke.StepBegin || rows[0].ActionID != 1 {
		t.Fatalf("journal after the kill: %+v %v", rows, err)
	}

	resumed := o.run(t, exitOK, "revoke", "apply", "--plan", fmt.Sprint(p.ID), "--approver", "dana.ops@acme.example", "--execute")
	if !strings.Contains(resumed, "interrupted") {
		t.Errorf("the resumed run does not say it found an interrupted action:\n%s", resumed)
	}
	ready := p.Count().Ready
	if n := o.srv.CallCount("iam:UpdateAccessKey"); n != ready {
		t.Errorf("UpdateAccessKey calls = %d, want exactly one per ready action (%d)", n, ready)
	}
	for _, a := range p.Actions {
		if a.Ready() && a.IdentityName == twinUser && o.keyActive(t, a.CredentialID) {
			t.Errorf("%s still active", a.CredentialID)
		}
	}
	status := o.run(t, exitOK, "revoke", "status")
	if !strings.Contains(status, fmt.Sprintf("%d done", ready)) {
		t.Errorf("status after the resume:\n%s", status)
	}
}
