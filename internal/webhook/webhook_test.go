package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/webhook"
)

type memJournal struct {
	mu   sync.Mutex
	st   map[string]string
	rows []string
}

func (j *memJournal) DeliveryStatus(_ context.Context, key string) (string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.st[key], nil
}

func (j *memJournal) RecordDelivery(_ context.Context, key, event, status string, attempts int, detail string, _ time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.st == nil {
		j.st = map[string]string{}
	}
	j.st[key] = status
	j.rows = append(j.rows, key+" "+status+" "+detail)
	return nil
}

// hook is a fake incoming webhook that fails the first fails requests
// with status.
type hook struct {
	mu     sync.Mutex
	fails  int
	status int
	bodies []string
	keys   []string
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	h.bodies = append(h.bodies, string(b))
	h.keys = append(h.keys, r.Header.Get("Idempotency-Key"))
	if len(h.bodies) <= h.fails {
		if h.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(h.status)
		return
	}
	_, _ = io.WriteString(w, "ok")
}

const secretPath = "/services/T0000/B0000/very-secret-token"

func notice() webhook.Notice {
	return webhook.Notice{Event: "critical-finding", Key: "scan-7-critical",
		Title: "nhiscan scan 7: 1 new critical finding",
		Lines: []string{"orphaned.no-owner aws 111111111111 <!channel> deploy-bot & *friends* \x1b[31m"}}
}

func TestRetriesThenSendsOnce(t *testing.T) {
	h := &hook{fails: 2, status: http.StatusServiceUnavailable}
	srv := httptest.NewServer(h)
	defer srv.Close()
	j := &memJournal{}
	s := &webhook.Sender{URL: srv.URL + secretPath, Journal: j, Retries: 3, Backoff: time.Millisecond}
	sent, err := s.Send(context.Background(), notice())
	if err != nil || !sent {
		t.Fatalf("Send = %v, %v", sent, err)
	}
	if len(h.bodies) != 3 || h.keys[0] != "scan-7-critical" || h.keys[2] != h.keys[0] {
		t.Errorf("attempts %d, keys %v; want 3 with one idempotency key", len(h.bodies), h.keys)
	}
	// Idempotent: a second Send of the same key posts nothing.
	if sent, err := s.Send(context.Background(), notice()); err != nil || sent || len(h.bodies) != 3 {
		t.Errorf("second Send = %v, %v after %d posts", sent, err, len(h.bodies))
	}
	if j.st["scan-7-critical"] != webhook.StatusSent {
		t.Errorf("journal: %v", j.rows)
	}
}

func TestGivesUpAndRecordsFailureWithoutTheURL(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusForbidden} {
		h := &hook{fails: 100, status: status}
		srv := httptest.NewServer(h)
		j := &memJournal{}
		s := &webhook.Sender{URL: srv.URL + secretPath, Journal: j, Retries: 2, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
		_, err := s.Send(context.Background(), notice())
		srv.Close()
		want := 3
		if status == http.StatusForbidden {
			want = 1 // a 4xx is final
		}
		if err == nil || len(h.bodies) != want || j.st["scan-7-critical"] != webhook.StatusFailed {
			t.Errorf("HTTP %d: err %v, %d attempts (want %d), journal %v", status, err, len(h.bodies), want, j.rows)
		}
	}
	// Unreachable: the client's error quotes the URL; ours does not.
	j := &memJournal{}
	s := &webhook.Sender{URL: "http://127.0.0.1:1" + secretPath, Journal: j, Retries: 1, Backoff: time.Millisecond}
	_, err := s.Send(context.Background(), notice())
	if err == nil || strings.Contains(err.Error(), "secret") || strings.Contains(strings.Join(j.rows, "\n"), "secret") {
		t.Errorf("unreachable: err %v, journal %v", err, j.rows)
	}
}

func TestPayloadIsSlackJSONWithoutSecrets(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	s := &webhook.Sender{URL: srv.URL + secretPath, Journal: &memJournal{}}
	if _, err := s.Send(context.Background(), notice()); err != nil {
		t.Fatal(err)
	}
	body := h.bodies[0]
	var m struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text struct{ Type, Text string }
		} `json:"blocks"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	if m.Text == "" || len(m.Blocks) != 1 || m.Blocks[0].Type != "section" || m.Blocks[0].Text.Type != "mrkdwn" {
		t.Errorf("not a Slack message: %s", body)
	}
	for _, bad := range []string{"very-secret-token", "<!channel>", "\x1b", "\\u001b"} {
		if strings.Contains(body, bad) {
			t.Errorf("payload contains %q: %s", bad, body)
		}
	}
	if !strings.Contains(m.Blocks[0].Text.Text, "&lt;!channel&gt; deploy-bot &amp; *friends*") {
		t.Errorf("hostile name not escaped: %q", m.Blocks[0].Text.Text)
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	j := &memJournal{}
	s := &webhook.Sender{URL: srv.URL, Journal: j, DryRun: true}
	if sent, err := s.Send(context.Background(), notice()); err != nil || sent || len(h.bodies) != 0 || j.st["scan-7-critical"] != webhook.StatusDryRun {
		t.Errorf("dry run: %v %v, %d posts, journal %v", sent, err, len(h.bodies), j.rows)
	}
}
