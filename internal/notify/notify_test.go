package notify_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/notify"
	"github.com/nhiscan/nhiscan/internal/notify/smtptest"
)

var update = flag.Bool("update", false, "rewrite golden files")

var (
	t0       = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	deadline = t0.AddDate(0, 0, 14)
	linkKey  = []byte("0123456789abcdef0123456789abcdef-notify-test")
)

// Hostile values as a cloud API could return them.
const (
	scriptName = `<script>alert("owned")</script>`
	crlfName   = "deploy\r\nBcc: attacker@evil.example\r\nX-Injected: 1"
	bidiName   = "invoice\u202egnp.exe"
	// secret is a credential value a careless fixture might carry; it
	// must never reach a message.
	secret = "ghp_SEKRETSEKRETSEKRETSEKRETSEKRET0000"
)

func signer(t testing.TB) *campaign.Signer {
	s, err := campaign.NewSigner(linkKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// notice builds a digest to carol with hostile identity names, a gap, a
// leaver and an escalated item.
func notice(t testing.TB, kind campaign.NoticeKind) *campaign.Notice {
	c := campaign.Campaign{ID: 4, Name: "Q4 NHI review <b>bold</b>", ScanID: 2, State: campaign.StateOpen, Deadline: deadline,
		Policy: campaign.Policy{Unanswered: campaign.DefaultRevoke}}
	ctx := func(mod func(*campaign.Context)) campaign.Context {
		x := campaign.Context{Role: "platform", Purpose: "Runs the platform", Owner: "carol@acme.example", OwnerSource: "role",
			OwnerStatus: nhi.OwnerActive, TechnicalOwner: "alice@acme.example", Status: "active",
			LastUse: campaign.LastUse{State: nhi.UsageUsed, At: t0.AddDate(0, 0, -2), Source: "role-last-used", AsOf: t0.Add(-4 * time.Hour)},
			Drift:   "never certified", Baseline: "within the baseline of role platform"}
		mod(&x)
		return x
	}
	items := []campaign.Item{
		{ID: 1, Kind: campaign.KindIdentity, Provider: nhi.AWS, Scope: "111111111111", IdentityID: "aws:AIDA1", IdentityName: scriptName,
			IdentityKind: nhi.KindAWSUser, Deadline: deadline, Reviewer: "carol@acme.example",
			Context: ctx(func(x *campaign.Context) {
				x.Privileged, x.PrivilegedReason, x.RequiresJustification = true, "holds 1 privileged grant(s)", true
				x.LastUse = campaign.LastUse{State: nhi.UsageUnknown, Gap: "usage:credential-report: iam:GenerateCredentialReport denied"}
				x.Gaps = []string{"usage:credential-report: iam:GenerateCredentialReport denied"}
				x.Findings = []campaign.FindingRef{{RuleID: "privileged-grant", Severity: nhi.SevHigh, Title: "Privileged grant " + scriptName,
					Evidence: map[string]string{"entitlement": "AdministratorAccess", "reason": crlfName}}}
			})},
		{ID: 2, ParentID: 1, Kind: campaign.KindCredential, Provider: nhi.AWS, Scope: "111111111111", IdentityID: "aws:AIDA1",
			IdentityName: scriptName, CredentialID: "AKIAEXAMPLE1", CredentialType: nhi.CredAWSAccessKey, Deadline: deadline,
			Reviewer: "carol@acme.example", Context: ctx(func(x *campaign.Context) {
				x.LastUse = campaign.LastUse{State: nhi.UsageUnknown, Gap: "usage:credential-report: iam:GenerateCredentialReport denied"}
				x.Created = t0.AddDate(-1, 0, 0)
			})},
		{ID: 3, ParentID: 1, Kind: campaign.KindGrant, Provider: nhi.AWS, Scope: "111111111111", IdentityID: "aws:AIDA1", IdentityName: scriptName,
			GrantID: "g1", Entitlement: "arn:aws:iam::aws:policy/AdministratorAccess", GrantScope: "111111111111", Deadline: deadline,
			Reviewer: "carol@acme.example", Context: ctx(func(x *campaign.Context) {
				x.Privileged, x.PrivilegedReason, x.Baseline = true, "AdministratorAccess", "outside the baseline of role platform"
			})},
		{ID: 4, Kind: campaign.KindLeaver, Provider: nhi.GitHub, Scope: "acme", IdentityID: "github:deploy-key:9", IdentityName: crlfName,
			IdentityKind: nhi.KindGitHubDeployKey, Deadline: t0.AddDate(0, 0, 7), Reviewer: "carol@acme.example",
			Context: ctx(func(x *campaign.Context) {
				x.Owner, x.OwnerStatus, x.OwnerSource = "dan@acme.example", nhi.OwnerDeparted, "github-added-by"
				x.Leaver = &campaign.Leaver{Person: "dan@acme.example", Departed: t0.AddDate(0, -1, 0), Manager: "carol@acme.example", CredentialsToRotate: 1}
				x.LastUse = campaign.LastUse{State: nhi.UsageNeverUsed, Source: "github-api", AsOf: t0}
			})},
		{ID: 5, Kind: campaign.KindIdentity, Provider: nhi.Azure, Scope: "tenant", IdentityID: "azure:sp1", IdentityName: bidiName,
			IdentityKind: nhi.KindEntraServicePrincipal, Deadline: deadline, Reviewer: "carol@acme.example",
			Conflict: "self-review: bob@acme.example owns this token (token-owner bobm)",
			Context: ctx(func(x *campaign.Context) {
				x.LastUse = campaign.LastUse{State: nhi.UsageNotReported, Reason: "no sign-in report"}
			})},
	}
	n := &campaign.Notice{Kind: kind, Campaign: c, To: campaign.Recipient{Address: "carol@acme.example", Name: "Carol Diaz"},
		Items: items, New: map[int]bool{1: true, 4: true}, Escalated: map[int]string{}, Deadline: t0.AddDate(0, 0, 7),
		Keys: []string{"told|carol@acme.example|1"}, MessageID: "<nhiscan-4-test@nhiscan.invalid>", At: t0}
	if kind == campaign.NoticeEscalation {
		n.Escalated[5] = "bob@acme.example"
	}
	if kind == campaign.NoticeReminder {
		n.New = map[int]bool{}
	}
	n.LinkExpires = t0.Add(72 * time.Hour)
	n.Link = "https://nhiscan.example/review?t=" + signer(t).Sign(campaign.Claims{CampaignID: 4, Reviewer: "carol@acme.example", Expires: n.LinkExpires})
	return n
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; -update rewrites it):\n%s", name, diff)
	}
}

func TestRenderGolden(t *testing.T) {
	for _, kind := range []campaign.NoticeKind{campaign.NoticeInvite, campaign.NoticeReminder, campaign.NoticeEscalation} {
		t.Run(string(kind), func(t *testing.T) {
			r, err := notify.Render(notice(t, kind))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, string(kind)+".subject.txt", []byte(r.Subject+"\n"))
			golden(t, string(kind)+".txt", []byte(r.Text))
			golden(t, string(kind)+".html", []byte(r.HTML))
		})
	}
}

// A whole message is deterministic for a notice: stable Message-ID,
// boundary and date.
func TestMessageGolden(t *testing.T) {
	m := &notify.Mailer{From: "nhiscan <nhiscan@acme.example>"}
	msg, err := m.Message(notice(t, campaign.NoticeInvite))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := msg.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "invite.eml", b.Bytes())
}

// part is one decoded MIME part.
type part struct {
	contentType string
	body        string
}

// parse reads a message the way a mail client would: headers, then the
// multipart/alternative parts, decoded.
func parse(t *testing.T, data []byte) (*mail.Message, []part) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q (%v), want multipart/alternative", m.Header.Get("Content-Type"), err)
	}
	var parts []part
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = p
		if p.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			r = quotedprintable.NewReader(p)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts = append(parts, part{ct, string(b)})
	}
	return m, parts
}

func checkMessage(t *testing.T, got smtptest.Message, n *campaign.Notice) {
	t.Helper()
	if diff := cmp.Diff([]string{"carol@acme.example"}, got.To); diff != "" {
		t.Errorf("envelope recipients (-want +got):\n%s", diff)
	}
	m, parts := parse(t, got.Data)
	if len(parts) != 2 || parts[0].contentType != "text/plain" || parts[1].contentType != "text/html" {
		t.Fatalf("parts = %v, want text/plain then text/html", parts)
	}
	for _, h := range []string{"Bcc", "X-Injected", "Cc"} {
		if v := m.Header.Get(h); v != "" {
			t.Errorf("header %s: %q was injected", h, v)
		}
	}
	if m.Header.Get("Message-Id") != n.MessageID || m.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("headers = %v", m.Header)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil || !strings.HasPrefix(subj, "[nhiscan] ") {
		t.Errorf("subject = %q, %v", subj, err)
	}
	text, html := parts[0].body, parts[1].body
	// The signed link is in both parts, and it verifies.
	for _, body := range []string{text, strings.ReplaceAll(html, "&amp;", "&")} {
		if !strings.Contains(body, n.Link) {
			t.Errorf("a part lacks the review link")
		}
	}
	tok := strings.TrimPrefix(n.Link, "https://nhiscan.example/review?t=")
	if c, err := signer(t).Verify(tok, t0); err != nil || c.Reviewer != "carol@acme.example" || c.CampaignID != 4 {
		t.Errorf("link claims %+v, %v", c, err)
	}
	if _, err := signer(t).Verify(tok, n.LinkExpires); !errors.Is(err, campaign.ErrLinkExpired) {
		t.Errorf("link at its expiry: %v, want expired", err)
	}
	checkHostile(t, "text", text)
	checkHostile(t, "html", html)
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;") {
		t.Errorf("html does not escape <script>")
	}
	if !strings.Contains(text, "unknown: usage:credential-report: iam:GenerateCredentialReport denied") {
		t.Errorf("text does not show the usage gap")
	}
}

// checkHostile asserts no raw line break, bidi override or secret from a
// collected value reaches a body.
func checkHostile(t *testing.T, name, body string) {
	t.Helper()
	for _, bad := range []string{"\u202e", "\nBcc:", "\nX-Injected:", "deploy\r\n", "deploy\n", secret, string(linkKey)} {
		if strings.Contains(body, bad) {
			t.Errorf("%s body contains %q", name, bad)
		}
	}
	if !strings.Contains(body, `\u202e`) || !strings.Contains(body, `deploy\x0d\x0aBcc`) {
		t.Errorf("%s body does not show the hostile characters as escapes", name)
	}
}

func TestSMTPModes(t *testing.T) {
	for _, tc := range []struct {
		name, tls  string
		user, pass string
	}{
		{"starttls with auth", smtptest.StartTLS, "nhiscan", "s3cret-pass"},
		{"implicit tls with auth", smtptest.Implicit, "nhiscan", "s3cret-pass"},
		{"loopback clear text", smtptest.None, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{TLS: tc.tls, Username: tc.user, Password: tc.pass})
			tr, err := notify.NewSMTP(notify.SMTPConfig{Host: srv.Host, Port: srv.Port, TLS: tc.tls, Username: tc.user, Password: tc.pass,
				RootCAs: srv.RootCAs, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			m := &notify.Mailer{From: "nhiscan <nhiscan@acme.example>", Transports: []notify.Transport{tr}}
			var sent []*campaign.Notice
			for _, kind := range []campaign.NoticeKind{campaign.NoticeInvite, campaign.NoticeReminder, campaign.NoticeEscalation} {
				n := notice(t, kind)
				rec, err := m.Notify(context.Background(), n)
				if err != nil {
					t.Fatalf("%s: %v", kind, err)
				}
				if rec.Transport != "smtp" || rec.MessageID != n.MessageID {
					t.Errorf("receipt = %+v", rec)
				}
				sent = append(sent, n)
			}
			msgs := srv.Messages()
			if len(msgs) != len(sent) {
				t.Fatalf("server got %d messages, want %d", len(msgs), len(sent))
			}
			for i, got := range msgs {
				if got.TLS != (tc.tls != smtptest.None) || got.Auth != tc.user || got.From != "nhiscan@acme.example" {
					t.Errorf("message %d: tls %v auth %q from %q", i, got.TLS, got.Auth, got.From)
				}
				if bytes.Contains(got.Data, []byte(tc.pass)) && tc.pass != "" {
					t.Errorf("message %d carries the SMTP password", i)
				}
				checkMessage(t, got, sent[i])
			}
		})
	}
}

func TestSMTPRefusals(t *testing.T) {
	ctx := context.Background()
	n := notice(t, campaign.NoticeInvite)
	// A wrong password is refused, and the error does not quote it.
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.StartTLS, Username: "nhiscan", Password: "right"})
	tr, _ := notify.NewSMTP(notify.SMTPConfig{Host: srv.Host, Port: srv.Port, TLS: notify.TLSStartTLS, Username: "nhiscan",
		Password: "wrong-pass-value", RootCAs: srv.RootCAs, Timeout: 5 * time.Second})
	_, err := (&notify.Mailer{From: "nhiscan@acme.example", Transports: []notify.Transport{tr}}).Notify(ctx, n)
	if err == nil || strings.Contains(err.Error(), "wrong-pass-value") || srv.BadLogins() != 1 || len(srv.Messages()) != 0 {
		t.Errorf("wrong password: err %v, bad logins %d", err, srv.BadLogins())
	}
	// STARTTLS is mandatory: a server without it is refused.
	plain := smtptest.Start(t, smtptest.Options{})
	tr, _ = notify.NewSMTP(notify.SMTPConfig{Host: plain.Host, Port: plain.Port, TLS: notify.TLSStartTLS, Timeout: 5 * time.Second})
	if _, err := (&notify.Mailer{From: "nhiscan@acme.example", Transports: []notify.Transport{tr}}).Notify(ctx, n); err == nil || len(plain.Messages()) != 0 {
		t.Errorf("starttls to a server without it: %v", err)
	}
	// An untrusted certificate is refused.
	tr, _ = notify.NewSMTP(notify.SMTPConfig{Host: srv.Host, Port: srv.Port, TLS: notify.TLSStartTLS, Timeout: 5 * time.Second})
	if _, err := (&notify.Mailer{From: "nhiscan@acme.example", Transports: []notify.Transport{tr}}).Notify(ctx, n); err == nil {
		t.Error("an untrusted certificate was accepted")
	}
	// Clear text goes to loopback only.
	if _, err := notify.NewSMTP(notify.SMTPConfig{Host: "smtp.example.com", Port: 25, TLS: notify.TLSNone}); err == nil {
		t.Error("clear text to a remote host was accepted")
	}
	// A rejected recipient is a delivery error.
	rej := smtptest.Start(t, smtptest.Options{Reject: map[string]bool{"carol@acme.example": true}})
	tr, _ = notify.NewSMTP(notify.SMTPConfig{Host: rej.Host, Port: rej.Port, TLS: notify.TLSNone, Timeout: 5 * time.Second})
	if _, err := (&notify.Mailer{From: "nhiscan@acme.example", Transports: []notify.Transport{tr}}).Notify(ctx, n); err == nil || !strings.Contains(err.Error(), "550") {
		t.Errorf("rejected recipient: %v", err)
	}
}

func TestRecipientMustBeAPlainAddress(t *testing.T) {
	m := &notify.Mailer{From: "nhiscan@acme.example"}
	for _, bad := range []string{"carol@acme.example\r\nBcc: eve@evil.example", "Carol <carol@acme.example>", "a@b.example, eve@evil.example", "not an address", ""} {
		n := notice(t, campaign.NoticeInvite)
		n.To.Address = bad
		if _, err := m.Message(n); err == nil {
			t.Errorf("recipient %q was accepted", bad)
		}
	}
	// A hostile display name is encoded, never a header break.
	n := notice(t, campaign.NoticeInvite)
	n.To.Name = "Carol\r\nBcc: eve@evil.example"
	msg, err := m.Message(n)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := msg.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if mm, err := mail.ReadMessage(&b); err != nil || mm.Header.Get("Bcc") != "" {
		t.Errorf("display name injected a header: %v %v", err, mm.Header)
	}
}

func TestOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	m := &notify.Mailer{From: "nhiscan@acme.example", Transports: []notify.Transport{&notify.Outbox{Dir: dir}}}
	for _, kind := range []campaign.NoticeKind{campaign.NoticeInvite, campaign.NoticeReminder} {
		if rec, err := m.Notify(context.Background(), notice(t, kind)); err != nil || rec.Transport != "outbox" {
			t.Fatalf("%v %+v", err, rec)
		}
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	if diff := cmp.Diff([]string{"001-invite-carol@acme.example.eml", "002-reminder-carol@acme.example.eml"}, names); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	data, err := os.ReadFile(filepath.Join(dir, names[0]))
	if err != nil {
		t.Fatal(err)
	}
	checkMessage(t, smtptest.Message{To: []string{"carol@acme.example"}, Data: data}, notice(t, campaign.NoticeInvite))
}

// TestSecretsNeverReachAMessage: a secret a collector or a careless
// inventory put in an attribute, a tag or a signal detail never reaches a
// campaign email, while the identity it belongs to does.
func TestSecretsNeverReachAMessage(t *testing.T) {
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: t0, Scopes: []nhi.Scope{{Provider: nhi.GitHub, ID: "acme"}},
		Identities: []nhi.Identity{{ID: "github:fgpat:1", Provider: nhi.GitHub, Kind: nhi.KindGitHubFineGrainedPAT, NativeID: "1",
			Name: "release-token", Scope: "acme", Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageNeverUsed, Source: "github-api"},
			Tags:       map[string]string{"token": secret},
			Attributes: map[string]string{"value": secret},
			Signals:    []nhi.Signal{{Code: nhi.SignalExposed, Detail: secret}},
			Credentials: []nhi.Credential{{ID: "1", Type: nhi.CredGitHubFineGrainedPAT, Status: nhi.StatusActive,
				Usage: nhi.Usage{State: nhi.UsageNeverUsed, Source: "github-api"}, Attributes: map[string]string{"token_value": secret}}}}},
	}
	items := campaign.Build(campaign.BuildInput{Inventory: inv, Now: t0, Deadline: deadline})
	for i := range items {
		items[i].Reviewer = "carol@acme.example"
	}
	n := notice(t, campaign.NoticeInvite)
	n.Items, n.New = items, map[int]bool{1: true}
	msg, err := (&notify.Mailer{From: "nhiscan@acme.example"}).Message(n)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := msg.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	_, parts := parse(t, b.Bytes())
	for _, p := range parts {
		if strings.Contains(p.body, secret) {
			t.Errorf("%s part carries the secret", p.contentType)
		}
		if !strings.Contains(p.body, "release-token") {
			t.Errorf("%s part lacks the identity", p.contentType)
		}
	}
}
