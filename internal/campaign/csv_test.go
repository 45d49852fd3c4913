package campaign_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/campaign"
)

const importHeader = "campaign_id,item_id,identity_name,reviewer,decision,until,grants,reassign_to,justification\n"

func TestImportRecordsDecisions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := e.create(t, campaign.Filter{})
	e.send(t, c.ID)
	file := "\ufeff" + importHeader +
		"1,1,platform-deployer,carol@acme.example,certify,2027-05-01,,,'=runs prod\n" +
		"1,2,,carol@acme.example,,,,,\n" + // no decision: skipped
		"1,4,,carol@acme.example,reduce,,,,\"removes admin, keeps the rest\"\n" +
		"1,7,payments-runtime,bob@acme.example,Reassign,,,carol@acme.example,\n" +
		"1,9,,liam@acme.example,don't know,,,,\n"
	n, err := e.svc.Import(ctx, c.ID, "review.csv", strings.NewReader(file))
	if err != nil || n != 4 {
		t.Fatalf("Import = %d, %v", n, err)
	}
	ds, _ := e.st.CampaignDecisions(ctx, c.ID)
	var got []string
	for _, d := range ds {
		got = append(got, d.Reviewer+" "+string(d.Kind)+" "+d.Justification+" "+d.Source)
	}
	want := []string{
		"carol@acme.example certify =runs prod import",
		"carol@acme.example reduce removes admin, keeps the rest import",
		"bob@acme.example reassign  import",
		"liam@acme.example dont-know  import",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
	if ds[0].Until.Format("2006-01-02") != "2027-05-01" {
		t.Errorf("until = %v", ds[0].Until)
	}
}

// Every problem is reported with its line, at once, and nothing is
// recorded.
func TestImportErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := e.create(t, campaign.Filter{})
	e.send(t, c.ID)
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"empty", "", []string{"review.csv:1: no header row: EOF"}},
		{"missing columns", "campaign_id,item_id,decision\n1,1,certify\n", []string{
			`review.csv:1: missing column "reviewer" (export the file with 'nhiscan campaign decisions export')`,
			`review.csv:1: missing column "until" (export the file with 'nhiscan campaign decisions export')`,
			`review.csv:1: missing column "grants" (export the file with 'nhiscan campaign decisions export')`,
			`review.csv:1: missing column "reassign_to" (export the file with 'nhiscan campaign decisions export')`,
			`review.csv:1: missing column "justification" (export the file with 'nhiscan campaign decisions export')`,
		}},
		{"rows", importHeader +
			"1,1,,carol@acme.example,approve,,,,\n" + // 2: unknown decision
			"2,7,,bob@acme.example,certify,,,,\n" + // 3: another campaign
			"1,x,,bob@acme.example,certify,,,,\n" + // 4: bad item
			"1,8,,,certify,,,,\n" + // 5: no reviewer
			"1,8,,bob@acme.example,certify,soon,,,\n" + // 6: bad date
			"1,1,,carol@acme.example,certify,,,,\n" + // 7: needs a justification
			"1,7,,carol@acme.example,certify,,,,\n" + // 8: not carol's item
			"1,11,,bob@acme.example,certify,,,,ok\n" + // 9: bob has a conflict
			"1,8,,bob@acme.example,reduce,,,,\n" + // 10: fine
			"1,8,,bob@acme.example,reduce,,,,\n" + // 11: twice
			"1,42,,bob@acme.example,certify,,,,\n", // 12: no such item (found later)
			[]string{
				`review.csv:2: unknown decision "approve" (want certify, revoke, reduce, reassign or dont-know)`,
				`review.csv:3: campaign_id "2": this file is for campaign 1`,
				`review.csv:4: item_id "x" is not an item number`,
				`review.csv:5: reviewer is empty: who decided`,
				`review.csv:6: until "soon": want a date (2027-03-31) or RFC 3339`,
				`review.csv:11: item 8 is decided twice (first on line 10)`,
			}},
		{"validation", importHeader +
			"1,1,,carol@acme.example,certify,,,,\n" +
			"1,7,,carol@acme.example,certify,,,,\n" +
			"1,11,,bob@acme.example,certify,,,,ok\n" +
			"1,8,,bob@acme.example,reduce,,,,\n" +
			"1,42,,bob@acme.example,certify,,,,\n" +
			"1,9,,liam@acme.example,\"reassign\",,,eve@evil.example,\n",
			[]string{
				`review.csv:2: item 1: justification required: the item is privileged or has findings`,
				`review.csv:3: item 7: carol@acme.example may not decide: not the item's reviewer (it is with bob@acme.example)`,
				`review.csv:4: item 11: bob@acme.example may not decide: not the item's reviewer (it is with liam@acme.example)`,
				`review.csv:6: item 42: invalid decision: campaign 1 has items 1 to 12`,
				`review.csv:7: item 9: invalid decision: reassign to "eve@evil.example": not an active person in the catalog`,
			}},
		{"malformed csv", importHeader + "1,1,\"unterminated\n", []string{`review.csv:2: extraneous or missing " in quoted-field`}},
		{"field count", importHeader + "1,1\n1,7,,bob@acme.example,certify,,,,\n", []string{`review.csv:2: wrong number of fields`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := e.svc.Import(ctx, c.ID, "review.csv", strings.NewReader(tc.file))
			var ie *campaign.ImportError
			if !errors.As(err, &ie) || n != 0 {
				t.Fatalf("Import = %d, %v; want an *ImportError", n, err)
			}
			if diff := cmp.Diff(tc.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if ds, _ := e.st.CampaignDecisions(ctx, c.ID); len(ds) != 0 {
				t.Errorf("a bad file recorded %d decisions", len(ds))
			}
		})
	}
}
