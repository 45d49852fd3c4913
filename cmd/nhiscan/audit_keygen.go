package main

import (
	"crypto/rand"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/signing"
)

// auditKeygenCmd makes an Ed25519 key pair for signing anchors and
// evidence manifests.
func (a *app) auditKeygenCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make an Ed25519 key pair that signs audit anchors and evidence manifests",
		Long: `keygen writes a new Ed25519 private key to --out FILE (PKCS #8 PEM, mode 0600)
and its public key to FILE.pub (PKIX PEM). Neither file is ever overwritten.
OpenSSL makes the same files:

  (umask 077; openssl genpkey -algorithm ed25519 -out FILE)
  openssl pkey -in FILE -pubout -out FILE.pub

Give the private key to 'audit anchor --key' and 'export evidence --key' (or
set NHISCAN_SIGNING_KEY_FILE), and the public key to whoever verifies
('audit verify --public-key'). Keep the private key where those who can
write the database cannot read it: whoever holds it can sign anything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("--out FILE is required")
			}
			pub, priv, err := signing.GenerateKey(rand.Reader)
			if err != nil {
				return err
			}
			if err := signing.WriteKeyPair(out, pub, priv); err != nil {
				return usageError{err}
			}
			fmt.Fprintf(a.stdout, "private key: %s (keep it secret)\npublic key: %s.pub\nkey id: %s\n", out, out, signing.KeyID(pub))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "private key file to write (the public key goes to FILE.pub)")
	return cmd
}
