package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/config"
)

// pasted is a token pasted where a path belongs: it does not look like a
// known secret format, so validation takes it for a path.
const pasted = "0123456789abcdef0123456789abcdef01234567"

func TestCheckFilesNamesTheSettingNeverTheValue(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(key, []byte("-----BEGIN RSA PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`providers:
  github:
    organizations: [acme]
    app_id: 1
    private_key_file: app.pem
    token_file: %s
  gcp:
    projects: [p]
    credentials_file: .
`, pasted)
	path := filepath.Join(dir, "nhiscan.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, env(map[string]string{"NHISCAN_AWS_EXTERNAL_ID_FILE": pasted + "x", "NHISCAN_AWS_ROLE_NAME": "r", "NHISCAN_AWS_ACCOUNTS": "111111111111"}))
	if err != nil {
		t.Fatal(err)
	}
	suffix := " (its value is not shown: it may be a secret pasted in place of a path)"
	for provider, want := range map[string][]string{
		"github": {path + ":6:17: providers.github.token_file: the file it names does not exist" + suffix},
		"gcp":    {path + ":9:23: providers.gcp.credentials_file: the file it names is a directory, not a regular file" + suffix},
		"aws":    {"NHISCAN_AWS_EXTERNAL_ID_FILE: providers.aws.external_id_file: the file it names does not exist" + suffix},
		"azure":  nil,
	} {
		err := cfg.CheckFiles(provider)
		var got []string
		if err != nil {
			var es *config.Errors
			if !errors.As(err, &es) {
				t.Fatalf("%s: %T %v", provider, err, err)
			}
			for _, e := range *es {
				got = append(got, e.Error())
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", provider, diff)
		}
		if err != nil && strings.Contains(err.Error(), pasted) {
			t.Errorf("%s: the value is quoted: %v", provider, err)
		}
	}
	if err := cfg.CheckFiles(""); err == nil || len(*err.(*config.Errors)) != 3 {
		t.Errorf("all providers: %v", err)
	}

	// Reading: the same errors; a file that exists is read.
	for _, f := range cfg.FilesOf("github") {
		b, err := f.Read()
		switch f.Key {
		case "providers.github.private_key_file":
			if err != nil || !strings.HasPrefix(string(b), "-----BEGIN") {
				t.Errorf("%s: %q, %v", f.Key, b, err)
			}
		case "providers.github.token_file":
			if err == nil || strings.Contains(err.Error(), pasted) || !strings.Contains(err.Error(), "providers.github.token_file: the file it names does not exist") {
				t.Errorf("%s: %v", f.Key, err)
			}
		}
		// An SDK's error quoting the path is redacted to the setting.
		msg := f.Redact("open " + f.Path + ": no such file or directory")
		if strings.Contains(msg, pasted) || !strings.Contains(msg, "<"+f.Key+">") {
			t.Errorf("Redact: %q", msg)
		}
	}
}

func TestSecretFilesAreBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, config.MaxSecretFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load("", env(map[string]string{"NHISCAN_GITHUB_ORGANIZATIONS": "acme", "NHISCAN_GITHUB_TOKEN_FILE": big}))
	if err != nil {
		t.Fatal(err)
	}
	want := "NHISCAN_GITHUB_TOKEN_FILE: providers.github.token_file: the file it names is over the size limit of 1 MiB"
	if err := cfg.CheckFiles("github"); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("CheckFiles: %v", err)
	}
	if _, err := cfg.Files[0].Read(); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Read: %v", err)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		cfg, err := config.Load("", env(map[string]string{"NHISCAN_GITHUB_ORGANIZATIONS": "acme", "NHISCAN_GITHUB_TOKEN_FILE": "/dev/zero"}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.Files[0].Read(); err == nil || !strings.Contains(err.Error(), "the file it names is a device, not a regular file") {
			t.Errorf("/dev/zero: %v", err)
		}
	}
}

func TestTheConfigurationFileIsBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, config.MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(big, nil); err == nil || err.Error() != "read configuration "+big+": over the size limit of 1 MiB for a configuration file (it is 1.0 MiB)" {
		t.Errorf("big: %v", err)
	}
	if _, err := config.Load(dir, nil); err == nil || err.Error() != "read configuration "+dir+": a directory, not a regular file" {
		t.Errorf("directory: %v", err)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		if _, err := config.Load("/dev/zero", nil); err == nil || err.Error() != "read configuration /dev/zero: a device, not a regular file" {
			t.Errorf("/dev/zero: %v", err)
		}
	}
}

func TestAConfigurationWithTooManyKeysIsRefusedAtTheLimit(t *testing.T) {
	// 40,000 keys took goccy's parser 7.5 s; the limit stops at key 201.
	var b strings.Builder
	for i := range 40_000 {
		fmt.Fprintf(&b, "k%d: v\n", i)
	}
	_, err := config.Parse("c.yaml", []byte(b.String()), nil)
	if err == nil || err.Error() != "c.yaml:201:1: more than 200 keys in one mapping: over the limit for a mapping" {
		t.Errorf("%v", err)
	}
}
