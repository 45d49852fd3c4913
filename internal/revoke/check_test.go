package revoke_test

import (
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/revoke"
)

// TestCheck: the re-read just before acting must show the target as the
// plan saw it (immutable id, state, creation, no later use).
func TestCheck(t *testing.T) {
	planned := revoke.Action{Op: revoke.OpDisable, Expect: revoke.Expect{ID: "AKIA1", Status: nhi.StatusActive, Created: ago(500 * day),
		Usage: used(ago(400*day), ago(day))}}
	live := func(edit func(*revoke.State)) revoke.State {
		st := revoke.State{Exists: true, ID: "AKIA1", Status: nhi.StatusActive, Native: "Active", Created: ago(500 * day),
			Usage: nhi.Usage{State: nhi.UsageUsed, LastUsed: ago(400 * day), Source: "iam:GetAccessKeyLastUsed", AsOf: now}}
		if edit != nil {
			edit(&st)
		}
		return st
	}
	for _, tc := range []struct {
		name   string
		op     revoke.Op
		expect func(*revoke.Expect)
		st     revoke.State
		act    bool
		done   bool
		refuse string
	}{
		{"as planned", "", nil, live(nil), true, false, ""},
		{"already disabled by someone", "", nil, live(func(s *revoke.State) { s.Status = nhi.StatusDisabled }), false, true, ""},
		{"gone", "", nil, revoke.State{}, false, false, "gone since the plan"},
		{"gone is what a delete wants", revoke.OpDelete, nil, revoke.State{}, false, true, ""},
		{"another id", "", nil, live(func(s *revoke.State) { s.ID = "AKIA2" }), false, false, "replaced since the plan"},
		{"recreated", "", nil, live(func(s *revoke.State) { s.Created = ago(day) }), false, false, "replaced since the plan"},
		{"used since the plan", "", nil, live(func(s *revoke.State) { s.Usage.LastUsed = ago(day) }), false, false, "used at"},
		{"the plan saw it never used", "", func(e *revoke.Expect) { e.Usage = nhi.Usage{State: nhi.UsageNeverUsed} }, live(nil), false, false, "never used"},
		{"no last use per target: id and state only", "", nil, live(func(s *revoke.State) { s.Usage = nhi.Usage{State: nhi.UsageNotReported} }), true, false, ""},
		{"enabled again is a change for a delete", revoke.OpDelete, func(e *revoke.Expect) { e.Status = nhi.StatusDisabled }, live(nil), false, false, "the plan saw it disabled"},
		{"restore of a removed target", revoke.OpRestore, nil, revoke.State{}, true, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := planned
			if tc.op != "" {
				a.Op = tc.op
			}
			if tc.expect != nil {
				tc.expect(&a.Expect)
			}
			v := revoke.Check(&a, tc.st)
			if v.Act != tc.act || v.Done != tc.done || (tc.refuse == "") != (v.Refuse == "") || !strings.Contains(v.Refuse, tc.refuse) {
				t.Errorf("Check = %+v; want act %v, done %v, refuse %q", v, tc.act, tc.done, tc.refuse)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	for _, tc := range []struct {
		op    revoke.Op
		after revoke.State
		res   revoke.Result
		ok    bool
	}{
		{revoke.OpDisable, revoke.State{Exists: true, Status: nhi.StatusDisabled}, revoke.Result{Changed: true}, true},
		{revoke.OpDisable, revoke.State{Exists: true, Status: nhi.StatusActive}, revoke.Result{Changed: true}, false},
		{revoke.OpEnable, revoke.State{Exists: true, Status: nhi.StatusActive}, revoke.Result{Changed: true}, true},
		{revoke.OpDelete, revoke.State{}, revoke.Result{Changed: true}, true},
		{revoke.OpDelete, revoke.State{Exists: true, Status: nhi.StatusDisabled}, revoke.Result{Changed: true}, false},
		{revoke.OpRestore, revoke.State{}, revoke.Result{Changed: true, After: "present", Detail: "new id 9"}, true},
		{revoke.OpRestore, revoke.State{}, revoke.Result{}, false},
	} {
		if ok, why := revoke.Verify(tc.op, tc.after, tc.res); ok != tc.ok {
			t.Errorf("Verify(%s, %+v) = %v (%s), want %v", tc.op, tc.after, ok, why, tc.ok)
		}
	}
}
