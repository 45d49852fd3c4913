package gcp

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"
	iam "google.golang.org/api/iam/v1"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// defaultKeyStateCalls is how many IAM keys.list calls a scan makes, at
// most, to read the state of keys whose asset data left it out.
const defaultKeyStateCalls = 1000

// keyStateTarget is an account whose keys' state the asset data left out.
type keyStateTarget struct {
	ref, project, uid string
	unknown           int
}

// verifyKeys reads through IAM keys.list the state of the user-managed
// keys whose asset data did not say it (keyStateKnown), one call per
// account, at most Config.KeyStateCalls calls in a scan, accounts in
// project and unique id order, projects in parallel and the accounts of a
// project one after the other. The listing replaces what the assets said
// of that account's keys. A key whose state stays unknown (its call
// failed, or the budget was spent) is reported with status unknown, and a
// gap hides the keys of its project: it is never taken for active.
func (c *Collector) verifyKeys(ctx context.Context, s *scan) {
	targets := s.keyStateTargets()
	if len(targets) == 0 {
		return
	}
	budget := min(max(c.cfg.KeyStateCalls, 0), len(targets))
	byProject := map[string][]keyStateTarget{}
	for _, t := range targets[:budget] {
		byProject[t.project] = append(byProject[t.project], t)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.Concurrency)
	for _, p := range sortedKeys(byProject) {
		g.Go(func() error {
			for _, t := range byProject[p] {
				c.verifyAccountKeys(gctx, s, t)
			}
			return nil
		})
	}
	_ = g.Wait()
	over := map[string]int{}
	for _, t := range targets[budget:] {
		over[t.project] += t.unknown
	}
	for _, p := range sortedKeys(over) {
		why := fmt.Sprintf("the asset data left out the state of %d keys and the keys.list budget (%d calls a scan) is spent", over[p], c.cfg.KeyStateCalls)
		s.gaps.Record(p, opListKeys, nhi.GapError, why)
		s.mu.Lock()
		for _, t := range targets[budget:] {
			if t.project == p {
				s.markUnknown(t.ref, "not read: the keys.list budget is spent")
			}
		}
		s.mu.Unlock()
	}
}

// keyStateTargets lists the accounts with keys of unknown state, by
// project and unique id.
func (s *scan) keyStateTargets() []keyStateTarget {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []keyStateTarget
	for ref, ks := range s.keys {
		n := 0
		for _, k := range ks {
			if _, ok := s.keyUnknown[keyID(k.Name)]; ok {
				n++
			}
		}
		uid := ref
		if id, ok := s.byEmail[ref]; ok {
			uid = id
		}
		a := s.accounts[uid]
		if n == 0 || a == nil || a.project == "" {
			continue // an account no listing returned: its keys are not reported
		}
		out = append(out, keyStateTarget{ref: ref, project: a.project, uid: a.sa.UniqueId, unknown: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].project != out[j].project {
			return out[i].project < out[j].project
		}
		return out[i].uid < out[j].uid
	})
	return out
}

// verifyAccountKeys lists one account's keys through IAM.
func (c *Collector) verifyAccountKeys(ctx context.Context, s *scan, t keyStateTarget) {
	var resp *iam.ListServiceAccountKeysResponse
	err := c.call(ctx, func(ctx context.Context) error {
		var err error
		resp, err = c.iam.Projects.ServiceAccounts.Keys.List("projects/" + t.project + "/serviceAccounts/" + t.uid).Context(ctx).Do()
		return err
	})
	if err != nil {
		c.fail(s, t.project, opListKeys, err, "the state of keys the asset data left out is unknown")
		s.mu.Lock()
		s.markUnknown(t.ref, "not read: "+opListKeys+" failed")
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys[t.ref] {
		delete(s.keyUnknown, keyID(k.Name))
	}
	s.keys[t.ref] = resp.Keys
}

// markUnknown says why the keys of unknown state of an account stay so.
// The caller holds s.mu.
func (s *scan) markUnknown(ref, why string) {
	for _, k := range s.keys[ref] {
		if _, ok := s.keyUnknown[keyID(k.Name)]; ok {
			s.keyUnknown[keyID(k.Name)] = why
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// unknownKeyState is the status and attribute of a key whose state no
// call returned.
func unknownKeyState(cred *nhi.Credential, why string) {
	cred.Status = nhi.StatusUnknown
	cred.Attributes["state"] = "unknown: Cloud Asset left out whether the key is disabled or exposed; IAM keys.list " + strings.TrimPrefix(why, "not read: ")
}
