// Package signing holds nhiscan's Ed25519 keys and the signed statements
// made with them: anchors of the audit log's head and signatures of
// evidence manifests. It uses the standard library only and never prints
// or logs a private key.
//
// Keys are PEM files in the formats OpenSSL reads and writes: a private key
// is PKCS #8 ("PRIVATE KEY", as `openssl genpkey -algorithm ed25519`
// writes), a public key is PKIX ("PUBLIC KEY", as `openssl pkey -pubout`
// writes). GenerateKey and the Marshal functions make the same.
//
// A statement is UTF-8 text, one item a line, each line ending in "\n":
//
//	nhiscan-audit-anchor/1          the format
//	seq: 42                         fields, "name: value", in a fixed order
//	hash: 9f2c…
//	key: ed25519:1a2b3c4d5e6f7a8b   when signed: the key id,
//	signature: <base64>             and the Ed25519 signature
//
// The signature covers every byte before the "signature: " line (the key
// line included), so a statement can be checked without nhiscan:
//
//	sed '$d' anchor > msg; tail -n 1 anchor | cut -c 12- | base64 -d > sig
//	openssl pkeyutl -verify -pubin -inkey key.pub -rawin -in msg -sigfile sig
package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"
)

// MaxFileSize bounds what is read from a key or statement file.
const MaxFileSize = 64 << 10

// Errors callers may test with errors.Is.
var (
	// ErrBadSignature: a statement's signature does not verify with the
	// key given, or the statement is signed by another key.
	ErrBadSignature = errors.New("signature does not verify")
	// ErrUnsigned: a signature was required and the statement has none.
	ErrUnsigned = errors.New("statement is not signed")
)

// GenerateKey makes a new key pair from rand (crypto/rand.Reader).
func GenerateKey(rand io.Reader) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand)
}

// MarshalPrivateKey encodes a private key as PKCS #8 PEM.
func MarshalPrivateKey(k ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPublicKey encodes a public key as PKIX PEM.
func MarshalPublicKey(k ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePrivateKey decodes a PKCS #8 PEM Ed25519 private key. Errors never
// quote the key.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	blk, rest := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("not a PEM \"PRIVATE KEY\" (PKCS #8) file holding one key")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, errors.New("not a valid PKCS #8 private key")
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 key", k)
	}
	return ek, nil
}

// ParsePublicKey decodes a PKIX PEM Ed25519 public key.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	blk, rest := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" || len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("not a PEM \"PUBLIC KEY\" file holding one key")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a valid public key: %w", err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 key", k)
	}
	return ek, nil
}

// KeyID names a public key: "ed25519:" and the first 8 bytes of the
// SHA-256 of its raw 32 bytes, in hex.
func KeyID(k ed25519.PublicKey) string {
	sum := sha256.Sum256(k)
	return "ed25519:" + hex.EncodeToString(sum[:8])
}

// ReadFile reads a key or statement file: a regular file of at most
// MaxFileSize bytes.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxFileSize)
	}
	return b, nil
}

// LoadPrivateKey reads a private key file. On Unix a file that its group
// or others may read is refused, as ssh refuses one: whoever reads the key
// can sign anchors and packs.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("private key %s is readable by its group or others (mode %v): chmod 600 it", path, fi.Mode().Perm())
		}
	}
	b, err := ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	k, err := ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
	return k, nil
}

// LoadPublicKey reads a public key file.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	k, err := ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return k, nil
}

// WriteKeyPair writes a new private key to path (mode 0600) and its public
// key to path + ".pub" (mode 0644). Neither file may exist.
func WriteKeyPair(path string, pub ed25519.PublicKey, priv ed25519.PrivateKey) error {
	privPEM, err := MarshalPrivateKey(priv)
	if err != nil {
		return err
	}
	pubPEM, err := MarshalPublicKey(pub)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path + ".pub"); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s.pub already exists: a key is never overwritten", path)
	}
	if err := writeNew(path, privPEM, 0o600); err != nil {
		return err
	}
	if err := writeNew(path+".pub", pubPEM, 0o644); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: a key is never overwritten", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// Field is one "name: value" line of a statement.
type Field struct{ Name, Value string }

// Statement is a text statement, signed or not.
type Statement struct {
	Format string
	Fields []Field
	// KeyID and Signature are empty for an unsigned statement.
	KeyID     string
	Signature []byte
}

// Get returns the value of the field name, "" when absent.
func (s *Statement) Get(name string) string {
	for _, f := range s.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// Signed reports whether the statement carries a signature.
func (s *Statement) Signed() bool { return len(s.Signature) > 0 }

// signed is the text a signature covers: the format, the fields and the
// key line.
func (s *Statement) signed() []byte {
	var b bytes.Buffer
	b.WriteString(s.Format + "\n")
	for _, f := range s.Fields {
		b.WriteString(f.Name + ": " + f.Value + "\n")
	}
	if s.KeyID != "" {
		b.WriteString("key: " + s.KeyID + "\n")
	}
	return b.Bytes()
}

// Sign signs the statement with k, replacing any earlier signature.
func (s *Statement) Sign(k ed25519.PrivateKey) {
	s.KeyID = KeyID(k.Public().(ed25519.PublicKey))
	s.Signature = ed25519.Sign(k, s.signed())
}

// Verify checks the statement's signature with k. An unsigned statement
// wraps ErrUnsigned; one signed by another key, or altered, wraps
// ErrBadSignature.
func (s *Statement) Verify(k ed25519.PublicKey) error {
	if !s.Signed() {
		return ErrUnsigned
	}
	if id := KeyID(k); s.KeyID != id {
		return fmt.Errorf("%w: signed by key %s, not %s", ErrBadSignature, s.KeyID, id)
	}
	if !ed25519.Verify(k, s.signed(), s.Signature) {
		return fmt.Errorf("%w: the statement was altered after it was signed", ErrBadSignature)
	}
	return nil
}

// Marshal renders the statement as text.
func (s *Statement) Marshal() []byte {
	b := s.signed()
	if s.Signed() {
		b = append(b, "signature: "+base64.StdEncoding.EncodeToString(s.Signature)+"\n"...)
	}
	return b
}

// Parse reads a statement of the given format with exactly the named
// fields, in that order, optionally signed. It checks the form, not the
// signature (see Verify).
func Parse(b []byte, format string, fields ...string) (Statement, error) {
	if len(b) > MaxFileSize {
		return Statement{}, fmt.Errorf("statement is larger than %d bytes", MaxFileSize)
	}
	text := string(b)
	if !strings.HasSuffix(text, "\n") || strings.ContainsAny(text, "\r\x00") {
		return Statement{}, errors.New("statement must be lines ending in \\n, without CR or NUL")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if lines[0] != format {
		return Statement{}, fmt.Errorf("line 1: %q, want the format %q", lines[0], format)
	}
	s := Statement{Format: format}
	rest := lines[1:]
	for i, name := range fields {
		if i >= len(rest) {
			return Statement{}, fmt.Errorf("line %d: missing %q", i+2, name)
		}
		v, ok := strings.CutPrefix(rest[i], name+": ")
		if !ok || v == "" {
			return Statement{}, fmt.Errorf("line %d: %q, want %q and a value", i+2, rest[i], name+": ")
		}
		s.Fields = append(s.Fields, Field{Name: name, Value: v})
	}
	rest = rest[len(fields):]
	switch len(rest) {
	case 0:
		return s, nil
	case 2:
		id, ok1 := strings.CutPrefix(rest[0], "key: ")
		sig, ok2 := strings.CutPrefix(rest[1], "signature: ")
		raw, err := base64.StdEncoding.DecodeString(sig)
		if ok1 && ok2 && err == nil && id != "" && len(raw) == ed25519.SignatureSize {
			s.KeyID, s.Signature = id, raw
			return s, nil
		}
	}
	return Statement{}, fmt.Errorf("line %d: want only a \"key: \" and a \"signature: \" line after the fields", len(fields)+2)
}
