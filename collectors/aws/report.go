package aws

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// startReport asks IAM to generate the credential report. It reports
// whether a complete report is already available.
func startReport(ctx context.Context, client *iam.Client) (bool, error) {
	out, err := client.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
	if err != nil {
		return false, err
	}
	return out.State == types.ReportStateTypeComplete, nil
}

// readReport waits for the credential report, polling
// GenerateCredentialReport unless generating it failed (genErr), then reads
// it. On failure it returns the operation that failed.
func (c *Collector) readReport(ctx context.Context, client *iam.Client, ready bool, genErr error) (*credentialReport, string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ReportTimeout)
	defer cancel()
	for wait := time.Duration(0); ; wait = c.cfg.ReportPollInterval {
		if !ready && genErr == nil {
			if err := sleep(ctx, wait); err != nil {
				return nil, opGenerateReport, fmt.Errorf("wait for the credential report: %w", err)
			}
			out, err := client.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
			if err != nil {
				return nil, opGenerateReport, err
			}
			if ready = out.State == types.ReportStateTypeComplete; !ready {
				continue
			}
		}
		out, err := client.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
		if err != nil && reportMissing(err) && genErr == nil {
			ready = false
			continue
		}
		if err != nil {
			return nil, opGetReport, err
		}
		rep, err := parseReport(out.Content)
		if err != nil {
			return nil, opGetReport, fmt.Errorf("parse credential report: %w", err)
		}
		rep.generated = aws.ToTime(out.GeneratedTime).UTC()
		return rep, "", nil
	}
}

// reportMissing reports whether GetCredentialReport failed because no
// complete, current report exists yet.
func reportMissing(err error) bool {
	switch apiCode(err) {
	case "ReportInProgress", "ReportNotPresent", "ReportExpired":
		return true
	}
	return false
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// credentialReport is the parsed IAM credential report.
type credentialReport struct {
	generated time.Time
	users     map[string]reportRow
}

type reportRow struct {
	created          time.Time // user_creation_time
	passwordEnabled  bool
	passwordLastUsed time.Time
	mfa              bool
	keys             [2]reportKey
}

type reportKey struct {
	present  bool // last_rotated set: the slot holds a key
	active   bool
	rotated  time.Time // the key's creation time
	lastUsed time.Time
	region   string
	service  string
}

// row returns the report row of the user with this name and creation
// time. A row for the same name but another creation time belongs to a
// deleted user whose name was reused after the report was generated: it
// says nothing about the user of that name now.
func (r *credentialReport) row(user string, created time.Time) (reportRow, bool) {
	row, ok := r.users[user]
	if !ok {
		return reportRow{}, false
	}
	if !row.created.IsZero() && !created.IsZero() && !row.created.Equal(created.UTC().Truncate(time.Second)) {
		return reportRow{}, false
	}
	return row, true
}

// hasKeys reports whether the user's access keys must be listed: the report
// shows a key, or the report does not know the user.
func (r *credentialReport) hasKeys(user string, created time.Time) bool {
	row, ok := r.row(user, created)
	if !ok {
		return true // not in the report (created since): list its keys
	}
	return row.keys[0].present || row.keys[0].active || row.keys[1].present || row.keys[1].active
}

// parseReport reads the report CSV by column name, so added columns do not
// break it. N/A, no_information and not_supported read as absent.
func parseReport(content []byte) (*credentialReport, error) {
	r := csv.NewReader(bytes.NewReader(content))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("empty report")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, need := range []string{"user", "password_enabled", "access_key_1_last_rotated", "access_key_2_last_rotated"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("column %q missing", need)
		}
	}
	rep := &credentialReport{users: map[string]reportRow{}}
	for _, row := range rows[1:] {
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(row) {
				switch v := row[i]; v {
				case "N/A", "no_information", "not_supported":
					return ""
				default:
					return v
				}
			}
			return ""
		}
		user := get("user")
		if user == "" || user == "<root_account>" {
			continue
		}
		rr := reportRow{
			created:          reportTime(get("user_creation_time")),
			passwordEnabled:  get("password_enabled") == "true",
			passwordLastUsed: reportTime(get("password_last_used")),
			mfa:              get("mfa_active") == "true",
		}
		for n := range 2 {
			p := fmt.Sprintf("access_key_%d_", n+1)
			k := reportKey{
				active:   get(p+"active") == "true",
				rotated:  reportTime(get(p + "last_rotated")),
				lastUsed: reportTime(get(p + "last_used_date")),
				region:   get(p + "last_used_region"),
				service:  get(p + "last_used_service"),
			}
			k.present = !k.rotated.IsZero()
			rr.keys[n] = k
		}
		rep.users[user] = rr
	}
	return rep, nil
}

func reportTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
