package notify_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/notify"
)

// MailpitEnv names a running Mailpit as "host:smtpport,httpport"; .ci/run
// starts one on loopback ports and sets it.
const MailpitEnv = "NHISCAN_TEST_MAILPIT"

type mailpitSummary struct {
	ID        string `json:"ID"`
	MessageID string `json:"MessageID"`
	Subject   string `json:"Subject"`
	To        []struct {
		Address string `json:"Address"`
	} `json:"To"`
}

type mailpitMessage struct {
	mailpitSummary
	Text string `json:"Text"`
	HTML string `json:"HTML"`
}

// TestMailpitEndToEnd sends every kind of notice to a real Mailpit over
// SMTP and reads them back over its HTTP API.
func TestMailpitEndToEnd(t *testing.T) {
	env := os.Getenv(MailpitEnv)
	if env == "" {
		t.Skipf("%s is not set: no Mailpit to send to (.ci/run starts one: %s=127.0.0.1:1025,8025)", MailpitEnv, MailpitEnv)
	}
	smtpAddr, httpPort, ok := strings.Cut(env, ",")
	host, smtpPort, err := net.SplitHostPort(smtpAddr)
	port, perr := strconv.Atoi(smtpPort)
	if !ok || err != nil || perr != nil {
		t.Fatalf("%s=%q: want host:smtpport,httpport", MailpitEnv, env)
	}
	api := "http://" + net.JoinHostPort(host, httpPort) + "/api/v1/"
	tr, err := notify.NewSMTP(notify.SMTPConfig{Host: host, Port: port, TLS: notify.TLSNone, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m := &notify.Mailer{From: "nhiscan <nhiscan@acme.example>", Transports: []notify.Transport{tr}}
	run := make([]byte, 6)
	rand.Read(run)
	sent := map[string]*campaign.Notice{}
	for _, kind := range []campaign.NoticeKind{campaign.NoticeInvite, campaign.NoticeReminder, campaign.NoticeEscalation} {
		n := notice(t, kind)
		n.MessageID = fmt.Sprintf("<nhiscan-e2e-%s-%s@nhiscan.invalid>", hex.EncodeToString(run), kind)
		if _, err := m.Notify(context.Background(), n); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		sent[strings.Trim(n.MessageID, "<>")] = n
	}
	found := map[string]mailpitSummary{}
	deadline := time.Now().Add(10 * time.Second)
	for len(found) < len(sent) && time.Now().Before(deadline) {
		var list struct {
			Messages []mailpitSummary `json:"messages"`
		}
		getJSON(t, api+"search?query="+url.QueryEscape("subject:nhiscan")+"&limit=200", &list)
		for _, s := range list.Messages {
			if _, ok := sent[strings.Trim(s.MessageID, "<>")]; ok {
				found[strings.Trim(s.MessageID, "<>")] = s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(found) != len(sent) {
		t.Fatalf("Mailpit has %d of the %d messages sent", len(found), len(sent))
	}
	for id, s := range found {
		n := sent[id]
		var msg mailpitMessage
		getJSON(t, api+"message/"+url.PathEscape(s.ID), &msg)
		if len(msg.To) != 1 || msg.To[0].Address != "carol@acme.example" || !strings.HasPrefix(msg.Subject, "[nhiscan] ") {
			t.Errorf("%s: to %v subject %q", id, msg.To, msg.Subject)
		}
		if msg.Text == "" || msg.HTML == "" {
			t.Errorf("%s: text %d bytes, html %d bytes: want both parts", id, len(msg.Text), len(msg.HTML))
		}
		if !strings.Contains(msg.Text, n.Link) || !strings.Contains(strings.ReplaceAll(msg.HTML, "&amp;", "&"), n.Link) {
			t.Errorf("%s: the review link is missing from a part", id)
		}
		checkHostile(t, id+" text", msg.Text)
		checkHostile(t, id+" html", msg.HTML)
		if strings.Contains(msg.HTML, "<script>") {
			t.Errorf("%s: html carries a raw <script>", id)
		}
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("mailpit api: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit api %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("mailpit api %s: %v", u, err)
	}
}
