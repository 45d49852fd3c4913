package notify_test

import (
	"context"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/notify"
	"github.com/nhiscan/nhiscan/internal/notify/smtptest"
	"github.com/nhiscan/nhiscan/internal/revoke"
)

// revokeNotice is a notify-stage notice whose collected values are hostile:
// a line break and bidi override in the scope, HTML in the identity name.
func revokeNotice() revoke.Notice {
	a := revoke.Action{ID: 1, Target: revoke.Target{Provider: nhi.AWS, Scope: "111122223333\r\nBcc: evil@x.example\u202e",
		IdentityID: "aws:iam:user/deploy", IdentityName: "<script>alert(1)</script>", CredentialID: "AKIAEXAMPLESTALE0001",
		CredentialType: nhi.CredentialType("aws-access-key")},
		Op: revoke.OpNotify, Then: "disable (iam:UpdateAccessKey Inactive)",
		Reasons: []revoke.Reason{{Source: revoke.SourcePolicy, Ref: "policy dormant", Text: "not used for 212 days"}}}
	return revoke.Notice{PlanID: 7, Owner: "henry.adams@acme.example", Actions: []revoke.Action{a},
		DisableFrom: time.Date(2026, 12, 13, 0, 0, 0, 0, time.UTC)}
}

func TestRevokeNoticeBySMTP(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.StartTLS})
	tr, err := notify.NewSMTP(notify.SMTPConfig{Host: srv.Host, Port: srv.Port, TLS: smtptest.StartTLS, RootCAs: srv.RootCAs, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	m := &notify.RevokeMailer{From: "nhiscan <nhiscan@acme.example>", Transports: []notify.Transport{tr}, Now: func() time.Time { return now }}
	if err := m.Notify(context.Background(), revokeNotice()); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages", len(msgs))
	}
	got := msgs[0]
	if len(got.To) != 1 || got.To[0] != "henry.adams@acme.example" || !got.TLS {
		t.Fatalf("envelope: to %v tls %v", got.To, got.TLS)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(got.Data)))
	if err != nil {
		t.Fatal(err)
	}
	if b := msg.Header.Get("Bcc"); b != "" {
		t.Errorf("a header was smuggled in: Bcc %q", b)
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if !strings.Contains(subj, "will be revoked from 2026-12-13") || msg.Header.Get("X-Nhiscan-Plan") != "7" ||
		msg.Header.Get("Auto-Submitted") != "auto-generated" || !strings.HasPrefix(msg.Header.Get("Message-Id"), "<revoke-") {
		t.Errorf("headers: subject %q, %v", subj, msg.Header)
	}
	// The same plan and owner give the same Message-ID, so a relay can drop
	// a duplicate as well.
	again, err := m.Message(revokeNotice())
	if err != nil {
		t.Fatal(err)
	}
	if id := again.GetGenHeader("Message-ID"); len(id) != 1 || "<"+id[0]+">" != msg.Header.Get("Message-Id") && id[0] != msg.Header.Get("Message-Id") {
		t.Errorf("Message-ID not stable: %v vs %q", id, msg.Header.Get("Message-Id"))
	}
}

func TestRevokeNoticeRenderEscapes(t *testing.T) {
	r, err := notify.RenderRevoke(revokeNotice())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "<script>") || !strings.Contains(r.HTML, "&lt;script&gt;") {
		t.Errorf("HTML body does not escape the identity name:\n%s", r.HTML)
	}
	for _, body := range []string{r.Text, r.HTML, r.Subject} {
		if strings.ContainsAny(body, "\u202e\r") {
			t.Errorf("a control or bidi character reached the message:\n%q", body)
		}
	}
	for _, want := range []string{"AKIAEXAMPLESTALE0001", "will be disable (iam:UpdateAccessKey Inactive)", "because: not used for 212 days (policy dormant)", "plan 7"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("text body lacks %q:\n%s", want, r.Text)
		}
	}
}

func TestRevokeNoticeOutboxAndRefusals(t *testing.T) {
	dir := t.TempDir()
	m := &notify.RevokeMailer{From: "nhiscan <nhiscan@acme.example>", Transports: []notify.Transport{&notify.Outbox{Dir: dir}}}
	if err := m.Notify(context.Background(), revokeNotice()); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 || filepath.Base(files[0]) != "001-revoke-notice-henry.adams@acme.example.eml" {
		t.Fatalf("outbox: %v", files)
	}
	if b, _ := os.ReadFile(files[0]); !strings.Contains(string(b), "X-Nhiscan-Notice: revoke-notice") {
		t.Errorf("outbox message lacks its kind header:\n%s", b)
	}
	n := revokeNotice()
	n.Owner = "Henry <henry@acme.example>\r\nBcc: x@y"
	if err := m.Notify(context.Background(), n); err == nil || strings.Contains(err.Error(), "\r\n") {
		t.Errorf("an owner that is not a plain address: %v", err)
	}
	if err := (&notify.RevokeMailer{From: "nhiscan@acme.example"}).Notify(context.Background(), revokeNotice()); err == nil {
		t.Error("no transport: no error")
	}
}
