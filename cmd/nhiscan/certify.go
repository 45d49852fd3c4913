package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

// certifyCmd records a certification: the entitlements and credentials of a
// scan, as signed off by the owners in a review. Later scans report every
// grant that was not in the last certified state
// (drift-grant-since-certification). It records the outcome of a review held
// elsewhere as a one-reviewer campaign, created, certified and closed at once
// (certifyShortcut), with who signed it off in the audit log.
func (a *app) certifyCmd() *cobra.Command {
	var (
		scanID int64
		by     string
		note   string
	)
	cmd := &cobra.Command{
		Use:   "certify",
		Short: "Record a scan's entitlements as the certified (approved) state",
		Long: `certify records the grants and credentials of a scan as certified: the state
the owners signed off in a review. Later scans report every grant added since
(drift-grant-since-certification). The certification, who recorded it and why
are appended to the audit log.

It is a shortcut for a one-reviewer campaign over the whole scan, created,
certified by --by and closed at once (see 'nhiscan campaign' for campaigns
where each owner decides).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if strings.TrimSpace(by) == "" {
				return usagef("--by is required: who signed the review off (attribution is logged)")
			}
			return a.writeStore(ctx, func(cfg config.Config, st *store.Store) error {
				if scanID == 0 {
					latest, err := st.LatestScan(ctx)
					if err != nil {
						return usagef("no completed scan yet")
					}
					scanID = latest.ID
				}
				sc, err := st.Scan(ctx, scanID)
				if err != nil {
					if errors.Is(err, store.ErrNotFound) {
						return usagef("scan %d not found", scanID)
					}
					return err
				}
				if sc.Status != store.ScanComplete && sc.Status != store.ScanPartial {
					return usagef("scan %d is %s: only a completed scan can be certified", scanID, sc.Status)
				}
				_, sum, err := st.Snapshot(ctx, scanID)
				if err != nil {
					return err
				}
				c, k, err := a.certifyShortcut(ctx, cfg, st, scanID, by, note)
				if err != nil {
					return err
				}
				if err := st.Audit(ctx, store.AuditEntry{At: a.now().UTC(), Actor: actor(a.getenv), Action: "certification.record",
					Subject: fmt.Sprintf("scan:%d", scanID), Detail: map[string]string{
						"certified_by": by, "note": note, "snapshot_sha256": sum, "campaign": fmt.Sprint(c.ID),
						"identities": fmt.Sprint(k.Identities), "status": string(sc.Status),
					}}); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "certified scan %d (%d identities) as signed off by %s (campaign %d)\n", scanID, k.Identities, by, c.ID)
				if sc.Status == store.ScanPartial {
					fmt.Fprintf(a.stderr, "warning: scan %d is partial: identities in scopes it could not read are not part of this certification\n", scanID)
				}
				return nil
			})
		},
	}
	cmd.Flags().Int64Var(&scanID, "scan", 0, "scan id (default: the latest completed scan)")
	cmd.Flags().StringVar(&by, "by", "", "who signed the review off (required; recorded in the audit log)")
	cmd.Flags().StringVar(&note, "note", "", "a reference to the review (ticket, minutes)")
	return cmd
}

// certificationOf lists every identity's grant and credential ids.
func certificationOf(inv nhi.Inventory) nhi.Certification {
	c := nhi.Certification{Grants: make(map[string][]string, len(inv.Identities)), Credentials: map[string][]string{}}
	for _, id := range inv.Identities {
		gs := make([]string, 0, len(id.Grants))
		for _, g := range id.Grants {
			gs = append(gs, g.ID)
		}
		c.Grants[id.ID] = gs
		if len(id.Credentials) > 0 {
			cs := make([]string, 0, len(id.Credentials))
			for _, cr := range id.Credentials {
				cs = append(cs, cr.ID)
			}
			c.Credentials[id.ID] = cs
		}
	}
	return c
}
