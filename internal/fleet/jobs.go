package fleet

import (
	"time"

	"github.com/riverqueue/river"
)

// The job kinds. Each is unique by its arguments (River's UniqueOpts): a
// second insert of the same job while one is pending, running or done is
// a no-op, so a retried plan never doubles a scope's job and a scan is
// finalised by one job.

// PlanArgs lists a scan's scopes and enqueues one CollectArgs job each.
type PlanArgs struct {
	ScanID int64 `json:"scan_id"`
}

func (PlanArgs) Kind() string { return "plan_scan" }

func (PlanArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// CollectArgs collects one scope of a scan.
type CollectArgs struct {
	ScanID   int64    `json:"scan_id"`
	Provider string   `json:"provider"`
	Scope    string   `json:"scope"`
	Name     string   `json:"name,omitempty"`
	Peers    []string `json:"peers,omitempty"`
	// Digest names the configuration the scan was planned with.
	Digest string `json:"digest"`
}

func (CollectArgs) Kind() string { return "collect_scope" }

func (CollectArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

func (a CollectArgs) scope() Scope {
	return Scope{Provider: providerOf(a.Provider), ID: a.Scope, Name: a.Name, Peers: a.Peers}
}

// FinalizeArgs merges a scan's parts and hands them to the Finalizer.
type FinalizeArgs struct {
	ScanID int64 `json:"scan_id"`
}

func (FinalizeArgs) Kind() string { return "finalize_scan" }

func (FinalizeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// ScheduledArgs is one fire of a schedule: it enqueues the scan of its
// slot. Only the leader inserts it; its slot makes a second insert (a new
// leader in the same second) a no-op, and the scan's trigger is unique too.
type ScheduledArgs struct {
	Schedule string    `json:"schedule"`
	Slot     time.Time `json:"slot"`
}

func (ScheduledArgs) Kind() string { return "scheduled_scan" }

func (ScheduledArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// SweepArgs records as gaps the scopes whose collect jobs River discarded
// without a part (a worker killed during the last attempt).
type SweepArgs struct{}

func (SweepArgs) Kind() string { return "sweep_scans" }
