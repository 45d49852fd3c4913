package campaign_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/campaign"
)

// TestUndelivered: a recipient is undelivered from a failure until a
// later success; the last failure is the one reported.
func TestUndelivered(t *testing.T) {
	d := func(to, status, err string) campaign.Delivery {
		return campaign.Delivery{Recipient: to, Status: status, Error: err}
	}
	got := campaign.Undelivered([]campaign.Delivery{
		d("a@x", campaign.DeliveryFailed, "busy"), d("a@x", campaign.DeliverySent, ""),
		d("b@x", campaign.DeliverySent, ""), d("b@x", campaign.DeliveryFailed, "451"), d("b@x", campaign.DeliveryFailed, "452"),
		d("c@x", campaign.DeliverySent, ""),
	})
	want := map[string]campaign.Delivery{"b@x": d("b@x", campaign.DeliveryFailed, "452")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
