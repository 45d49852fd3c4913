package campaign_test

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/campaign"
)

var testKey = []byte("0123456789abcdef0123456789abcdef-test-key")

func signer(t testing.TB) *campaign.Signer {
	t.Helper()
	s, err := campaign.NewSigner(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLinkSignVerify(t *testing.T) {
	s := signer(t)
	c := campaign.Claims{CampaignID: 7, Reviewer: "carol@acme.example", Expires: t0.Add(72 * time.Hour)}
	tok := s.Sign(c)
	if strings.ContainsAny(tok, "+/=?&# ") {
		t.Errorf("token %q is not URL-safe", tok)
	}
	got, err := s.Verify(tok, t0)
	if err != nil || got != c {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, c)
	}
	// It expires at its expiry, not a second later.
	if _, err := s.Verify(tok, c.Expires.Add(-time.Second)); err != nil {
		t.Errorf("a second before expiry: %v", err)
	}
	got, err = s.Verify(tok, c.Expires)
	if !errors.Is(err, campaign.ErrLinkExpired) || got.Reviewer != c.Reviewer {
		t.Errorf("at expiry: %+v, %v; want ErrLinkExpired with the claims", got, err)
	}
}

func TestLinkRefusesTamperingAndOtherKeys(t *testing.T) {
	s := signer(t)
	tok := s.Sign(campaign.Claims{CampaignID: 7, Reviewer: "carol@acme.example", Expires: t0.Add(time.Hour)})
	other, err := campaign.NewSigner([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	payload, mac, _ := strings.Cut(strings.TrimPrefix(tok, "v1."), ".")
	forge := func(reviewer string, id string) string {
		p := base64.RawURLEncoding.EncodeToString([]byte(id + "\n" + reviewer + "\n" + "9999999999"))
		return "v1." + p + "." + mac
	}
	for name, bad := range map[string]string{
		"empty":               "",
		"no prefix":           strings.TrimPrefix(tok, "v1."),
		"no mac":              "v1." + payload,
		"mac flipped":         "v1." + payload + "." + flip(mac),
		"payload flipped":     "v1." + flip(payload) + "." + mac,
		"other reviewer":      forge("alice@acme.example", "7"),
		"other campaign":      forge("carol@acme.example", "8"),
		"bad base64":          "v1.!!!." + mac,
		"signed by other key": other.Sign(campaign.Claims{CampaignID: 7, Reviewer: "carol@acme.example", Expires: t0.Add(time.Hour)}),
	} {
		if _, err := s.Verify(bad, t0); !errors.Is(err, campaign.ErrLinkInvalid) {
			t.Errorf("%s: Verify = %v, want ErrLinkInvalid", name, err)
		}
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "link.key")
	if err := os.WriteFile(file, append(testKey, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := campaign.LoadKey(file, "")
	if err != nil {
		t.Fatal(err)
	}
	fromEnv, err := campaign.LoadKey("", string(testKey)+"\n")
	if err != nil {
		t.Fatal(err)
	}
	c := campaign.Claims{CampaignID: 1, Reviewer: "a@b.example", Expires: t0.Add(time.Hour)}
	if _, err := fromEnv.Verify(fromFile.Sign(c), t0); err != nil {
		t.Errorf("a key from a file and the same key from the environment disagree: %v", err)
	}
	if _, err := campaign.LoadKey("", ""); err == nil {
		t.Error("no key: want an error")
	}
	short := "too-short-secret-value"
	_, err = campaign.LoadKey("", short)
	if err == nil || strings.Contains(err.Error(), short) {
		t.Errorf("short key: err = %v; want an error that does not quote the key", err)
	}
	if _, err := campaign.LoadKey(filepath.Join(dir, "missing"), ""); err == nil {
		t.Error("missing key file: want an error")
	}
}
