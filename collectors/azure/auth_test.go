package azure_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/azure"
)

// TestAuthFromFiles: client secrets and certificates come from files; a
// missing or bad file is an error that names the file, never its content.
func TestAuthFromFiles(t *testing.T) {
	dir := t.TempDir()
	const secret = "azure-secret-do-not-print-0123456789"
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nhiscan"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile := filepath.Join(dir, "cert.pem")
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})...)
	if err := os.WriteFile(certFile, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	badCert := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(badCert, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		auth azure.Auth
		ok   bool
	}{
		{"secret file", azure.Auth{Method: azure.AuthClientSecret, ClientID: "c1", ClientSecretFile: secretFile}, true},
		{"certificate file", azure.Auth{Method: azure.AuthClientCertificate, ClientID: "c1", CertificateFile: certFile}, true},
		{"missing secret file", azure.Auth{Method: azure.AuthClientSecret, ClientID: "c1", ClientSecretFile: filepath.Join(dir, "nope")}, false},
		{"no client id", azure.Auth{Method: azure.AuthClientSecret, ClientSecretFile: secretFile}, false},
		{"bad certificate", azure.Auth{Method: azure.AuthClientCertificate, ClientID: "c1", CertificateFile: badCert}, false},
		{"unknown method", azure.Auth{Method: "password"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := azure.New(azure.Config{TenantID: "t1", Auth: tc.auth})
			if (err == nil) != tc.ok {
				t.Fatalf("New: %v, want ok=%t", err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("error prints the secret: %v", err)
			}
		})
	}
	if _, err := azure.New(azure.Config{TenantID: "t1", Cloud: "mars"}); err == nil {
		t.Error("unknown cloud accepted")
	}
}
