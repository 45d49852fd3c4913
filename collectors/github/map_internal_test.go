package github

import (
	"testing"
	"time"
)

func TestCloudSecretClassification(t *testing.T) {
	c, err := New(Config{Orgs: []string{"a"}, TokenEnv: "PATH"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"AWS_ACCESS_KEY_ID":              "aws",
		"PROD_AWS_SECRET_ACCESS_KEY":     "aws",
		"AZURE_CLIENT_SECRET":            "azure",
		"ARM_CLIENT_SECRET":              "azure",
		"GCP_SA_KEY":                     "gcp",
		"GOOGLE_CREDENTIALS":             "gcp",
		"ALARM_GCP_SA_KEY":               "gcp", // "ARM_" inside a word is not Azure
		"DRAWSTRING_GOOGLE_CREDENTIALS":  "gcp", // nor is "AWS" inside a word
		"NPM_TOKEN":                      "",
		"GOOGLE_APPLICATION_CREDENTIALS": "gcp",
	} {
		if got, _ := c.cloudSecret(name); got != want {
			t.Errorf("%s: cloud %q, want %q", name, got, want)
		}
	}
}

func TestCloudSecretAgeWithoutDates(t *testing.T) {
	c, err := New(Config{Orgs: []string{"a"}, TokenEnv: "PATH"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	d := &orgData{}
	id := c.actionsIdentity(now, "github:actions:repo:1", "1", "a/r", "a", "a/r", nil, d, []apiSecret{
		{Name: "AWS_ACCESS_KEY_ID"},
		{Name: "GCP_SA_KEY", CreatedAt: stamp{T: now.AddDate(0, 0, -30)}},
	}, nil)
	aws, gcp := id.Credentials[0], id.Credentials[1]
	if _, ok := aws.Attributes["age_days"]; ok || len(aws.Signals) != 1 || !aws.Created.IsZero() {
		t.Errorf("secret without dates: age %q, signals %v, created %v; want no age, the signal, zero created", aws.Attributes["age_days"], aws.Signals, aws.Created)
	}
	if _, ok := aws.Attributes["updated_at"]; ok {
		t.Errorf("zero updated_at printed as %q", aws.Attributes["updated_at"])
	}
	if gcp.Attributes["age_days"] != "30" || !gcp.Created.Equal(now.AddDate(0, 0, -30)) {
		t.Errorf("secret with created_at only: age %q, created %v; want 30 days from created_at", gcp.Attributes["age_days"], gcp.Created)
	}
}
