package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strconv"
	texttemplate "text/template"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/nhiscan/nhiscan/internal/revoke"
)

// revokeKind labels revocation notices in the outbox and the
// X-Nhiscan-Notice header.
const revokeKind = "revoke-notice"

var revokeTemplates = templates{
	text: texttemplate.Must(texttemplate.New("").ParseFS(templateFS, "templates/revoke.txt.tmpl")),
	html: htmltemplate.Must(htmltemplate.New("").ParseFS(templateFS, "templates/revoke.html.tmpl")),
}

// RevokeMailer sends the revocation workflow's notify-stage notices as
// email: one message per owner and plan, telling them what will be
// disabled or deleted, from when, and why. It implements revoke.Notifier.
// The executor journals each notice, so a rerun never sends one twice; the
// Message-ID is derived from the plan and the owner, so a mail server can
// drop a duplicate too.
type RevokeMailer struct {
	// From is the sender, "name <address>" or an address.
	From string
	// Transports receive every message, in order; a notice is delivered
	// when every transport took it.
	Transports []Transport
	// Now dates the message (time.Now when nil).
	Now func() time.Time
}

// Notify renders the notice and sends it through every transport.
func (m *RevokeMailer) Notify(ctx context.Context, n revoke.Notice) error {
	msg, err := m.Message(n)
	if err != nil {
		return err
	}
	if len(m.Transports) == 0 {
		return errors.New("no transport configured")
	}
	var errs []error
	for _, t := range m.Transports {
		if err := t.Send(ctx, msg, Label{Kind: revokeKind, To: n.Owner}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// Message builds the email of one revocation notice; its Message-ID and
// MIME boundary derive from the plan and the owner.
func (m *RevokeMailer) Message(n revoke.Notice) (*gomail.Msg, error) {
	r, err := RenderRevoke(n)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte("revoke\x00" + strconv.FormatInt(n.PlanID, 10) + "\x00" + n.Owner))
	id := "revoke-" + hex.EncodeToString(sum[:12])
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	return envelope{from: m.From, to: n.Owner, boundary: id, messageID: id + "@nhiscan", at: now(),
		headers: [][2]string{{"X-Nhiscan-Plan", strconv.FormatInt(n.PlanID, 10)}, {"X-Nhiscan-Notice", revokeKind}}}.build(r)
}

// revokeView is what the revocation templates see: every string cleaned.
type revokeView struct {
	Owner, From string
	PlanID      int64
	Actions     []revokeActionView
}

type revokeActionView struct {
	Provider, Scope, Target, Then string
	Reasons                       []string
}

// RenderRevoke renders a revocation notice: subject, text and HTML.
func RenderRevoke(n revoke.Notice) (Rendered, error) {
	v := revokeView{Owner: clean(n.Owner), From: day(n.DisableFrom), PlanID: n.PlanID}
	for _, a := range n.Actions {
		av := revokeActionView{Provider: clean(string(a.Provider)), Scope: clean(a.Scope), Target: clean(a.Label()), Then: clean(a.Then)}
		for _, r := range a.Reasons {
			av.Reasons = append(av.Reasons, clean(r.Text)+" ("+clean(r.Ref)+")")
		}
		v.Actions = append(v.Actions, av)
	}
	var subj, text, html bytes.Buffer
	if err := revokeTemplates.text.ExecuteTemplate(&subj, "subject", v); err != nil {
		return Rendered{}, fmt.Errorf("render subject: %w", err)
	}
	if err := revokeTemplates.text.ExecuteTemplate(&text, "body", v); err != nil {
		return Rendered{}, fmt.Errorf("render text: %w", err)
	}
	if err := revokeTemplates.html.ExecuteTemplate(&html, "body", v); err != nil {
		return Rendered{}, fmt.Errorf("render html: %w", err)
	}
	return Rendered{Subject: headerText(subj.String(), 200), Text: text.String(), HTML: html.String()}, nil
}
