package signing_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/signing"
)

func statement() signing.Statement {
	return signing.Statement{Format: "nhiscan-test/1", Fields: []signing.Field{
		{Name: "seq", Value: "42"}, {Name: "hash", Value: strings.Repeat("ab", 32)},
	}}
}

func keyPair(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := signing.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func TestStatementRoundTrip(t *testing.T) {
	pub, priv := keyPair(t)
	for _, signed := range []bool{false, true} {
		s := statement()
		if signed {
			s.Sign(priv)
		}
		text := s.Marshal()
		got, err := signing.Parse(text, "nhiscan-test/1", "seq", "hash")
		if err != nil {
			t.Fatalf("signed %v: %v\n%s", signed, err, text)
		}
		if diff := cmp.Diff(s, got); diff != "" {
			t.Errorf("signed %v: round trip (-want +got):\n%s", signed, diff)
		}
		err = got.Verify(pub)
		if signed && err != nil {
			t.Errorf("signed statement does not verify: %v", err)
		}
		if !signed && !errors.Is(err, signing.ErrUnsigned) {
			t.Errorf("unsigned statement: %v, want ErrUnsigned", err)
		}
	}
}

func TestAlteredOrForeignStatementFails(t *testing.T) {
	pub, priv := keyPair(t)
	otherPub, otherPriv := keyPair(t)
	s := statement()
	s.Sign(priv)
	text := s.Marshal()

	altered, err := signing.Parse(bytes.Replace(text, []byte("seq: 42"), []byte("seq: 43"), 1), "nhiscan-test/1", "seq", "hash")
	if err != nil {
		t.Fatal(err)
	}
	if err := altered.Verify(pub); !errors.Is(err, signing.ErrBadSignature) || !strings.Contains(err.Error(), "altered") {
		t.Errorf("altered statement: %v", err)
	}
	if err := s.Verify(otherPub); !errors.Is(err, signing.ErrBadSignature) || !strings.Contains(err.Error(), "not "+signing.KeyID(otherPub)) {
		t.Errorf("statement checked with another key: %v", err)
	}
	// Re-signed by someone else's key: it verifies with that key only.
	forged := statement()
	forged.Sign(otherPriv)
	if err := forged.Verify(pub); !errors.Is(err, signing.ErrBadSignature) {
		t.Errorf("forged statement: %v", err)
	}
	// A key line swapped in without re-signing is caught too.
	swapped, err := signing.Parse(bytes.Replace(text, []byte(signing.KeyID(pub)), []byte(signing.KeyID(otherPub)), 1), "nhiscan-test/1", "seq", "hash")
	if err != nil {
		t.Fatal(err)
	}
	if err := swapped.Verify(otherPub); !errors.Is(err, signing.ErrBadSignature) {
		t.Errorf("key line swapped: %v", err)
	}
}

func TestParseIsStrict(t *testing.T) {
	_, priv := keyPair(t)
	s := statement()
	s.Sign(priv)
	good := string(s.Marshal())
	for name, text := range map[string]string{
		"other format":     strings.Replace(good, "nhiscan-test/1", "nhiscan-test/2", 1),
		"missing field":    "nhiscan-test/1\nseq: 42\n",
		"fields reordered": "nhiscan-test/1\nhash: x\nseq: 42\n",
		"empty value":      "nhiscan-test/1\nseq: \nhash: x\n",
		"extra line":       strings.Replace(good, "key: ", "note: hi\nkey: ", 1),
		"CRLF":             strings.ReplaceAll(good, "\n", "\r\n"),
		"no final newline": strings.TrimSuffix(good, "\n"),
		"bad base64":       good[:strings.Index(good, "signature: ")] + "signature: !!!\n",
		"short signature":  good[:strings.Index(good, "signature: ")] + "signature: AAAA\n",
		"key without sig":  good[:strings.Index(good, "signature: ")],
	} {
		if _, err := signing.Parse([]byte(text), "nhiscan-test/1", "seq", "hash"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nhiscan.key")
	pub, priv := keyPair(t)
	if err := signing.WriteKeyPair(path, pub, priv); err != nil {
		t.Fatal(err)
	}
	if err := signing.WriteKeyPair(path, pub, priv); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Errorf("second WriteKeyPair: %v", err)
	}
	gotPriv, err := signing.LoadPrivateKey(path)
	if err != nil || !gotPriv.Equal(priv) {
		t.Fatalf("LoadPrivateKey: %v", err)
	}
	gotPub, err := signing.LoadPublicKey(path + ".pub")
	if err != nil || !gotPub.Equal(pub) {
		t.Fatalf("LoadPublicKey: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, want 0600", fi.Mode().Perm())
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := signing.LoadPrivateKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable private key: %v", err)
	}
	if _, err := signing.LoadPublicKey(path); err == nil {
		t.Error("a private key file was read as a public key")
	}
	if _, err := signing.LoadPublicKey(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory as a key: %v", err)
	}
	b, _ := os.ReadFile(path)
	os.Chmod(path, 0o600)
	if err := os.WriteFile(path, append(b, b...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := signing.LoadPrivateKey(path); err == nil || strings.Contains(err.Error(), "BEGIN") {
		t.Errorf("two keys in one file: %v (the error must not quote the key)", err)
	}
}

// TestOpenSSLInterop: a key made by `openssl genpkey` signs, and a signed
// statement verifies with `openssl pkeyutl`, as the package documents.
func TestOpenSSLInterop(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	key, pubFile := filepath.Join(dir, "k.pem"), filepath.Join(dir, "k.pub")
	for _, args := range [][]string{
		{"genpkey", "-algorithm", "ed25519", "-out", key},
		{"pkey", "-in", key, "-pubout", "-out", pubFile},
	} {
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	priv, err := signing.LoadPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signing.LoadPublicKey(pubFile)
	if err != nil || !pub.Equal(priv.Public()) {
		t.Fatalf("openssl's public key: %v", err)
	}
	s := statement()
	s.Sign(priv)
	stmt := filepath.Join(dir, "statement")
	if err := os.WriteFile(stmt, s.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `sed '$d' statement > msg && tail -n 1 statement | cut -c 12- | base64 -d > sig &&
		openssl pkeyutl -verify -pubin -inkey k.pub -rawin -in msg -sigfile sig`
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Signature Verified Successfully") {
		t.Errorf("openssl does not verify the statement: %v\n%s", err, out)
	}
}
