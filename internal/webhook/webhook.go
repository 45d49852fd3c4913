// Package webhook posts notices (new critical findings, campaign
// escalations) as Slack-compatible JSON to one incoming-webhook URL.
//
// What a notice carries is metadata only: rule, severity, provider, scope,
// identity and owner names, campaign ids and reviewers. Never a credential
// value (nhiscan holds none) and never the webhook URL, which is itself a
// secret and appears in no payload, log or error. Collected strings are
// escaped for Slack's mrkdwn (&, <, > become entities, so a name cannot
// mention @channel or forge a link) and their control characters made
// visible (textsafe).
//
// Each notice has an idempotency key: it is journaled before the first
// attempt and marked sent after the webhook accepted it, so a rerun (the
// next scan, a restart) never sends it twice. A failed POST is retried with
// exponential backoff (429 and 5xx, and network errors; a 429's
// Retry-After is honoured); a 4xx is final. Dry run journals the notice as
// dry-run and sends nothing.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/textsafe"
)

// Notice is one message.
type Notice struct {
	// Event is critical-finding or campaign-escalation.
	Event string
	// Key identifies the notice across runs (idempotency).
	Key string
	// Title is the first line; Lines follow it, one a line. Both are
	// plain text: Send escapes them.
	Title string
	Lines []string
}

// Delivery statuses the journal records.
const (
	StatusPending = "pending"
	StatusSent    = "sent"
	StatusFailed  = "failed"
	StatusDryRun  = "dry-run"
)

// Journal records deliveries by key (the store).
type Journal interface {
	// DeliveryStatus is the recorded status of key; "" when none.
	DeliveryStatus(ctx context.Context, key string) (string, error)
	RecordDelivery(ctx context.Context, key, event, status string, attempts int, detail string, at time.Time) error
}

// Sender posts notices.
type Sender struct {
	// URL is the incoming-webhook URL (a secret).
	URL     string
	Client  *http.Client
	Journal Journal
	// Retries after the first attempt; Backoff the first delay (doubled
	// each time, at most MaxBackoff).
	Retries             int
	Backoff, MaxBackoff time.Duration
	DryRun              bool
	Now                 func() time.Time
}

// errTransport replaces an HTTP client error, which quotes the URL.
var errTransport = errors.New("the webhook could not be reached")

// Send delivers n once: a notice already sent (or dry-run) is skipped and
// reported with sent false.
func (s *Sender) Send(ctx context.Context, n Notice) (sent bool, err error) {
	if n.Key == "" {
		return false, errors.New("webhook: notice without a key")
	}
	if st, err := s.Journal.DeliveryStatus(ctx, n.Key); err != nil {
		return false, err
	} else if st == StatusSent || st == StatusDryRun {
		return false, nil
	}
	if s.DryRun {
		return false, s.Journal.RecordDelivery(ctx, n.Key, n.Event, StatusDryRun, 0, "", s.now())
	}
	if err := s.Journal.RecordDelivery(ctx, n.Key, n.Event, StatusPending, 0, "", s.now()); err != nil {
		return false, err
	}
	body, err := json.Marshal(Payload(n))
	if err != nil {
		return false, err
	}
	attempts, err := s.post(ctx, n.Key, body)
	status, detail := StatusSent, ""
	if err != nil {
		status, detail = StatusFailed, err.Error()
	}
	if jerr := s.Journal.RecordDelivery(context.WithoutCancel(ctx), n.Key, n.Event, status, attempts, detail, s.now()); jerr != nil {
		err = errors.Join(err, jerr)
	}
	return err == nil, err
}

// post tries the POST up to 1+Retries times and returns how many it made.
func (s *Sender) post(ctx context.Context, key string, body []byte) (int, error) {
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	delay := s.Backoff
	if delay <= 0 {
		delay = time.Second
	}
	maxDelay := s.MaxBackoff
	if maxDelay <= 0 {
		maxDelay = time.Minute
	}
	var last error
	for attempt := 1; ; attempt++ {
		wait, final, err := s.attempt(ctx, client, key, body)
		if err == nil {
			return attempt, nil
		}
		last = err
		if final || attempt > s.Retries {
			return attempt, fmt.Errorf("webhook: %w (after %d attempt(s))", last, attempt)
		}
		if wait <= 0 {
			wait = delay
			delay = min(2*delay, maxDelay)
		}
		t := time.NewTimer(min(wait, maxDelay))
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, fmt.Errorf("webhook: %w (after %d attempt(s))", ctx.Err(), attempt)
		case <-t.C:
		}
	}
}

// attempt makes one POST. final says a retry cannot help; wait is the
// server's Retry-After.
func (s *Sender) attempt(ctx context.Context, client *http.Client, key string, body []byte) (wait time.Duration, final bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return 0, true, errors.New("the webhook URL is not valid")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, true, ctx.Err()
		}
		return 0, false, errTransport
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return 0, false, nil
	case c == http.StatusTooManyRequests:
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			wait = time.Duration(secs) * time.Second
		}
		return wait, false, fmt.Errorf("HTTP %d", c)
	case c >= 500:
		return 0, false, fmt.Errorf("HTTP %d", c)
	default:
		return 0, true, fmt.Errorf("HTTP %d (not retried)", c)
	}
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// message is the Slack incoming-webhook body: text (the notification and
// fallback) and one section block in mrkdwn.
type message struct {
	Text   string  `json:"text"`
	Blocks []block `json:"blocks"`
}

type block struct {
	Type string `json:"type"`
	Text *text  `json:"text,omitempty"`
}

type text struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// maxLines bounds a notice; the rest is counted.
const maxLines = 20

// Payload is the JSON body of n, every string escaped.
func Payload(n Notice) any {
	lines := n.Lines
	more := 0
	if len(lines) > maxLines {
		lines, more = lines[:maxLines], len(lines)-maxLines
	}
	var b strings.Builder
	b.WriteString("*" + Escape(n.Title) + "*")
	for _, l := range lines {
		b.WriteString("\n• " + Escape(l))
	}
	if more > 0 {
		fmt.Fprintf(&b, "\n… and %d more", more)
	}
	return message{Text: Escape(n.Title), Blocks: []block{{Type: "section", Text: &text{Type: "mrkdwn", Text: b.String()}}}}
}

// Escape makes s safe in Slack mrkdwn: control characters visible, and &,
// < and > as the entities Slack requires, so no link, mention or
// formatting control can be injected.
func Escape(s string) string {
	s = textsafe.Term(s)
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
