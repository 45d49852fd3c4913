package campaign

import (
	"context"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// NoticeKind says which message a notice is.
type NoticeKind string

// Notice kinds: the first digest of a reviewer's items (also sent when
// items are reassigned to someone), a reminder before a deadline, and an
// escalation to whoever receives overdue or "don't know" items.
const (
	NoticeInvite     = NoticeKind("invite")
	NoticeReminder   = NoticeKind("reminder")
	NoticeEscalation = NoticeKind("escalation")
)

// Recipient is who a notice goes to.
type Recipient struct {
	// Address is the person id (an email address).
	Address string
	// Name is the person's name from the catalog ("" when unknown).
	Name string
}

// Notice is one digest to one reviewer: all the items they hold and have
// not resolved in one campaign, with the deadline and a signed link.
type Notice struct {
	Kind     NoticeKind
	Campaign Campaign
	To       Recipient
	// Items are the reviewer's open items: each identity item followed by
	// its open credential and grant items, in item order.
	Items []Item
	// New marks the items this notice tells the reviewer about for the
	// first time (by id); Escalated maps escalated identity items to the
	// reviewer they came from.
	New       map[int]bool
	Escalated map[int]string
	// Deadline is the earliest deadline of the items.
	Deadline time.Time
	// Link is the signed review link ("" when no review URL is configured)
	// and LinkExpires its expiry.
	Link        string
	LinkExpires time.Time
	// Keys are the delivery-log keys the notice settles once sent.
	Keys []string
	// MessageID is the stable Message-ID of the notice (from its keys), so
	// a mail server can drop a duplicate too.
	MessageID string
	At        time.Time
}

// Receipt says how a notice was delivered.
type Receipt struct {
	// Transport names the channel: smtp, outbox (a folder of .eml files).
	Transport string
	MessageID string
}

// Notifier delivers notices. internal/notify implements it by email.
type Notifier interface {
	Notify(ctx context.Context, n *Notice) (Receipt, error)
}

// Delivery is one attempt to deliver one notice key, as the delivery log
// records it.
type Delivery struct {
	ID         int64
	CampaignID int64
	// Key names what was notified: "told|<reviewer>|<item>|<assignment>"
	// or "remind|<reviewer>|<item>|<assignment>|<offset>".
	Key       string
	Recipient string
	Kind      NoticeKind
	Transport string
	// Status is DeliverySent or DeliveryFailed.
	Status    string
	MessageID string
	// Error is the failure, bounded and without secrets.
	Error string
	At    time.Time
}

// Delivery statuses.
const (
	DeliverySent   = "sent"
	DeliveryFailed = "failed"
)

// Undelivered returns, by recipient, the last failed delivery of each
// recipient who has had no successful one since (deliveries in log order):
// whom the next send or remind must reach.
func Undelivered(ds []Delivery) map[string]Delivery {
	failed := map[string]Delivery{}
	for _, d := range ds {
		switch d.Status {
		case DeliveryFailed:
			failed[d.Recipient] = d
		case DeliverySent:
			delete(failed, d.Recipient)
		}
	}
	return failed
}

// Closing is what closing a campaign records, in one transaction.
type Closing struct {
	At    time.Time
	Actor string
	// Defaults are the Unanswered decisions for items nobody resolved.
	Defaults []Decision
	// Certification is the certified state the campaign leaves; it becomes
	// the latest certification (the baseline of "drift since
	// certification").
	Certification nhi.Certification
	Summary       KPIs
}
