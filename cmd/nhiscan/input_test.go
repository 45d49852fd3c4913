package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCLIEnvironmentErrorsNameTheVariable: a bad value that came from the
// environment is reported under the variable's name, not a flag's.
func TestCLIEnvironmentErrorsNameTheVariable(t *testing.T) {
	c := newCLI(t)
	c.env["NHISCAN_LOG_FORMAT"] = "yaml"
	code, _, errs := c.run("findings", "--db="+c.db())
	if code != exitUsage || !strings.Contains(errs, `NHISCAN_LOG_FORMAT "yaml": want text or json`) || strings.Contains(errs, "--log-format") {
		t.Errorf("exit %d: %s", code, errs)
	}
	code, _, errs = c.run("findings", "--db="+c.db(), "--log-format", "yaml")
	if code != exitUsage || !strings.Contains(errs, `--log-format "yaml": want text or json`) {
		t.Errorf("flag: exit %d: %s", code, errs)
	}
	c.env = map[string]string{"NHISCAN_CONFIG": filepath.Join(c.dir, "missing.yaml")}
	code, _, errs = c.run("findings", "--db="+c.db())
	if code != exitUsage || !strings.Contains(errs, "nhiscan: NHISCAN_CONFIG: read configuration "+filepath.Join(c.dir, "missing.yaml")+": no such file") {
		t.Errorf("NHISCAN_CONFIG: exit %d: %s", code, errs)
	}
	c.env = map[string]string{"NHISCAN_GITHUB_TOKEN_FILE": "", "NHISCAN_AWS_ACCOUNTS": "12"}
	code, _, errs = c.run("scan", "--db="+c.db(), "--catalog="+testdata("catalog.yaml"))
	if code != exitUsage || !strings.Contains(errs, `NHISCAN_AWS_ACCOUNTS: account id "12" must be 12 digits`) {
		t.Errorf("NHISCAN_AWS_ACCOUNTS: exit %d: %s", code, errs)
	}
}

// TestCLISecretFileSettingsAreNeverQuoted: a token pasted where a *_file
// path belongs is never printed back, from the file or the environment,
// whichever provider it is for.
func TestCLISecretFileSettingsAreNeverQuoted(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef01234567"
	c := newCLI(t)
	cfg := filepath.Join(c.dir, "nhiscan.yaml")
	for _, tc := range []struct {
		yaml, env, want string
	}{
		{"providers:\n  github:\n    organizations: [acme]\n    token_file: " + token + "\n", "",
			cfg + ":4:17: providers.github.token_file: the file it names does not exist"},
		{"providers:\n  azure:\n    tenant_id: acme.example\n    client_id: 3c5b7f10-8d2e-4a6b-9f1c-2e4d6a8b0c1d\n    client_secret_file: " + token + "\n", "",
			cfg + ":5:25: providers.azure.client_secret_file: the file it names does not exist"},
		{"providers:\n  gcp:\n    projects: [p]\n    credentials_file: " + token + "\n", "",
			cfg + ":4:23: providers.gcp.credentials_file: the file it names does not exist"},
		{"providers:\n  aws:\n    role_name: r\n    accounts: ['111111111111']\n", "NHISCAN_AWS_EXTERNAL_ID_FILE",
			"NHISCAN_AWS_EXTERNAL_ID_FILE: providers.aws.external_id_file: the file it names does not exist"},
	} {
		writeFile(t, cfg, tc.yaml)
		c.env = map[string]string{}
		if tc.env != "" {
			c.env[tc.env] = token
		}
		code, out, errs := c.run("scan", "--config", cfg, "--db="+c.db(), "--catalog="+testdata("catalog.yaml"))
		if code != exitUsage {
			t.Errorf("exit %d, want %d\n%s%s", code, exitUsage, out, errs)
		}
		if strings.Contains(out+errs, token) || strings.Contains(out+errs, token[:8]) {
			t.Errorf("the value is quoted:\n%s%s", out, errs)
		}
		if !strings.Contains(errs, tc.want) {
			t.Errorf("stderr lacks %q:\n%s", tc.want, errs)
		}
	}
}

// TestCLIRedactsTheSecretFilePathInACollectorError: when the file exists
// but a collector refuses it (a token file that is not a PEM key), the
// collector's message names the setting, not the path.
func TestCLIRedactsTheSecretFilePathInACollectorError(t *testing.T) {
	c := newCLI(t)
	secretName := filepath.Join(c.dir, "0123456789abcdef-pasted")
	writeFile(t, secretName, "not a key")
	cfg := filepath.Join(c.dir, "nhiscan.yaml")
	writeFile(t, cfg, "providers:\n  github:\n    organizations: [acme]\n    app_id: 1\n    private_key_file: "+secretName+"\n")
	code, out, errs := c.run("scan", "--config", cfg, "--db="+c.db(), "--catalog="+testdata("catalog.yaml"))
	if code != exitUsage {
		t.Errorf("exit %d\n%s%s", code, out, errs)
	}
	if strings.Contains(out+errs, "0123456789abcdef") {
		t.Errorf("the path is quoted:\n%s", errs)
	}
	if !strings.Contains(errs, "<providers.github.private_key_file>") {
		t.Errorf("the setting is not named:\n%s", errs)
	}
}

// TestCLIInputOverALimitExitsTwoAndWritesNothing: a catalog nested past
// the nesting limit, a configuration with too many keys in one mapping and
// an inventory over its structure are refused with the limit named, exit
// 2, and no database.
func TestCLIInputOverALimitExitsTwoAndWritesNothing(t *testing.T) {
	c := newCLI(t)
	deep := filepath.Join(c.dir, "deep.yaml")
	writeFile(t, deep, "roles: "+strings.Repeat("[", 100_000))
	var keys strings.Builder
	keys.WriteString("providers:\n  github:\n")
	for i := range 300 {
		keys.WriteString("    k" + strconv.Itoa(i) + ": v\n")
	}
	wide := filepath.Join(c.dir, "wide.yaml")
	writeFile(t, wide, keys.String())
	inv := filepath.Join(c.dir, "inv.json")
	writeFile(t, inv, `{"version":1,"VERSION":1,"collected_at":"2026-11-19T00:00:00Z"}`)
	db := "--db=" + c.db()
	cat := "--catalog=" + testdata("catalog.yaml")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scan", db, "--catalog", deep}, deep + ":1:71: mappings and lists nested more than 64 levels deep: over the nesting limit"},
		{[]string{"scan", db, cat, "--config", wide}, wide + ":203:5: more than 200 keys in one mapping: over the limit for a mapping"},
		{[]string{"scan", db, cat, "--inventory", inv}, `inventory: top level: unknown field "VERSION" (field names are case-sensitive: "version")`},
	} {
		code, out, errs := c.run(tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, want %d and %q\n%s%s", tc.args, code, exitUsage, tc.want, out, errs)
		}
		if _, err := os.Stat(c.db()); err == nil {
			t.Fatalf("%v: the database was created", tc.args)
		}
	}
}
