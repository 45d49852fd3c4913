package nhi_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// benchInventory builds n AWS users with 3 access keys and 10 grants
// each: the shape of internal/synth's organisation, kept here because nhi
// imports nothing of ours.
func benchInventory(n int) nhi.Inventory {
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: at, Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: "111111111111", Name: "prod"}}}
	for i := range n {
		id := nhi.Identity{
			ID: fmt.Sprintf("aws:AIDA%016d", i), Provider: nhi.AWS, Kind: nhi.KindAWSUser, NativeID: fmt.Sprintf("AIDA%016d", i),
			Name: fmt.Sprintf("svc-%d", i), ARN: fmt.Sprintf("arn:aws:iam::111111111111:user/svc-%d", i), Scope: "111111111111",
			Created: at.AddDate(-1, 0, 0), Status: nhi.StatusActive, Tags: map[string]string{"owner": fmt.Sprintf("p%d@acme.example", i%500)},
			OwnerHints: []nhi.OwnerHint{{Source: "tag", Value: fmt.Sprintf("p%d@acme.example", i%500)}},
			Usage:      nhi.Usage{State: nhi.UsageUsed, LastUsed: at.AddDate(0, 0, -3), Source: "credential-report", AsOf: at},
		}
		for k := range 3 {
			id.Credentials = append(id.Credentials, nhi.Credential{ID: fmt.Sprintf("AKIA%012d%04d", i, k), Type: nhi.CredAWSAccessKey,
				Created: at.AddDate(0, -k, 0), Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageNeverUsed, Source: "credential-report", AsOf: at}})
		}
		for g := range 10 {
			id.Grants = append(id.Grants, nhi.Grant{ID: fmt.Sprintf("managed-policy:arn:aws:iam::aws:policy/P%d", g), Kind: "managed-policy",
				Entitlement: fmt.Sprintf("arn:aws:iam::aws:policy/P%d", g), Scope: "111111111111", Privilege: nhi.PrivRead, Privileged: nhi.JudgedNotPrivileged})
		}
		inv.Identities = append(inv.Identities, id)
	}
	return inv
}

// BenchmarkDecode measures the strict decoder (a pass over the raw JSON
// for duplicate and case-folded fields, kinds, times and UTF-8, then
// encoding/json, the value checks and Validate).
func BenchmarkDecode(b *testing.B) {
	var buf bytes.Buffer
	if err := nhi.Encode(&buf, benchInventory(20_000)); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		if _, err := nhi.Decode(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
