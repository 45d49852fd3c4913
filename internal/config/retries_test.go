package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/config"
)

// Every provider takes the same three retry keys with the same meaning.
func TestRetries(t *testing.T) {
	for _, p := range []struct {
		name string
		get  func(config.Config) config.Retries
		rest string
	}{
		{"aws", func(c config.Config) config.Retries { return c.Providers.AWS.Retries }, ""},
		{"azure", func(c config.Config) config.Retries { return c.Providers.Azure.Retries }, "    tenant_id: acme.example\n"},
		{"gcp", func(c config.Config) config.Retries { return c.Providers.GCP.Retries }, "    projects: [p]\n"},
		{"github", func(c config.Config) config.Retries { return c.Providers.GitHub.Retries }, "    organizations: [acme]\n"},
	} {
		t.Run(p.name, func(t *testing.T) {
			doc := func(keys string) []byte { return []byte("providers:\n  " + p.name + ":\n" + p.rest + keys) }
			c, err := config.Parse("n.yaml", doc("    max_retries: 4\n    retry_base_delay: 250ms\n    max_retry_delay: 1m\n"), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := p.get(c), (config.Retries{MaxRetries: 4, RetryBaseDelay: 250 * time.Millisecond, MaxRetryDelay: time.Minute}); got != want {
				t.Errorf("retries = %+v, want %+v", got, want)
			}
			c, err = config.Parse("n.yaml", doc("    max_retries: 0\n"), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.get(c).MaxRetries; got != -1 {
				t.Errorf("max_retries: 0 gave the collector %d, want -1 (never)", got)
			}
			c, err = config.Parse("n.yaml", doc(""), env(map[string]string{"NHISCAN_" + strings.ToUpper(p.name) + "_MAX_RETRIES": "2"}))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.get(c).MaxRetries; got != 2 {
				t.Errorf("max_retries from the environment = %d, want 2", got)
			}
			_, err = config.Parse("n.yaml", doc("    max_retries: 21\n    retry_base_delay: 2m\n    max_retry_delay: 1m\n"), env(nil))
			if err == nil || !strings.Contains(err.Error(), "max_retries 21 is out of range") ||
				!strings.Contains(err.Error(), "max_retry_delay 1m is shorter than retry_base_delay 2m") {
				t.Errorf("err = %v, want both problems", err)
			}
		})
	}
}
