package aws

import (
	"cmp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

// roleTrackingWindow is how far back IAM tracks RoleLastUsed.
const roleTrackingWindow = 400 * 24 * time.Hour

// mapAccount maps the users and roles of one account.
func (c *Collector) mapAccount(d *accountData, known map[string]bool) []nhi.Identity {
	out := make([]nhi.Identity, 0, len(d.users)+len(d.roles))
	for _, u := range d.users {
		out = append(out, c.mapUser(d, u))
	}
	now := c.cfg.Now().UTC()
	for _, r := range d.roles {
		out = append(out, c.mapRole(d, r, known, now))
	}
	return out
}

func (c *Collector) mapUser(d *accountData, u types.UserDetail) nhi.Identity {
	name := aws.ToString(u.UserName)
	id := nhi.Identity{
		ID:       nhi.MakeID(nhi.AWS, aws.ToString(u.UserId)),
		Provider: nhi.AWS, Kind: nhi.KindAWSUser,
		NativeID: aws.ToString(u.UserId), Name: name, ARN: aws.ToString(u.Arn),
		Scope: d.account, Path: aws.ToString(u.Path),
		Created: aws.ToTime(u.CreateDate).UTC(), Status: nhi.StatusActive,
		Tags: tagMap(u.Tags),
	}
	id.OwnerHints = c.ownerHints(id.Tags)
	id.Grants = c.grants(d, u.AttachedManagedPolicies, u.UserPolicyList, u.GroupList)
	for _, p := range u.UserPolicyList {
		if aws.ToString(p.PolicyName) == QuarantinePolicy {
			id.Status = nhi.StatusDisabled
		}
	}
	for _, a := range u.AttachedManagedPolicies {
		if strings.Contains(aws.ToString(a.PolicyName), "AWSCompromisedKeyQuarantine") {
			id.Status = nhi.StatusDisabled
			id.Signals = append(id.Signals, nhi.Signal{Code: nhi.SignalExposed, Detail: "AWS attached " + aws.ToString(a.PolicyName) + ": a key of this user was found exposed"})
		}
	}
	if u.PermissionsBoundary != nil {
		id.Attributes = setAttr(id.Attributes, "permissions_boundary", aws.ToString(u.PermissionsBoundary.PermissionsBoundaryArn))
	}
	r := d.reportRow(name, aws.ToTime(u.CreateDate))
	for _, k := range d.keys[name] {
		id.Credentials = append(id.Credentials, accessKey(k, r, d))
	}
	for _, s := range d.sscs[name] {
		id.Credentials = append(id.Credentials, c.serviceCred(s))
	}
	c.userUsage(&id, d, r)
	return id
}

// userRow is what the credential report says about one user.
type userRow struct {
	// rep is nil when the report was not read; why says why.
	rep *credentialReport
	why string
	// row is the user's row; ok is false when the report does not know
	// the user (created since it was generated).
	row reportRow
	ok  bool
}

func (d *accountData) reportRow(user string, created time.Time) userRow {
	r := userRow{rep: d.report, why: d.reportWhy}
	if d.report != nil {
		r.row, r.ok = d.report.row(user, created)
	}
	return r
}

// usage is the usage the report gives for a last use (zero: never used).
func (r userRow) usage(last time.Time) nhi.Usage {
	switch {
	case r.rep == nil:
		return nhi.Usage{State: nhi.UsageUnknown, Source: sourceReport, Reason: r.why}
	case !r.ok:
		return nhi.Usage{State: nhi.UsageUnknown, Source: sourceReport, AsOf: r.rep.generated, Reason: "created after the credential report was generated"}
	case last.IsZero():
		return nhi.Usage{State: nhi.UsageNeverUsed, Source: sourceReport, AsOf: r.rep.generated}
	}
	return nhi.Usage{State: nhi.UsageUsed, LastUsed: last.UTC(), Source: sourceReport, AsOf: r.rep.generated}
}

// slots returns the report slot whose last_rotated matches the key's
// creation time (the last one, -1 for none) and how many do.
func slots(k types.AccessKeyMetadata, r userRow) (slot, matches int) {
	slot = -1
	if !r.ok {
		return slot, 0
	}
	created := aws.ToTime(k.CreateDate).UTC().Truncate(time.Second)
	for n, rk := range r.row.keys {
		if rk.present && rk.rotated.Equal(created) {
			slot = n
			matches++
		}
	}
	return slot, matches
}

// ambiguous reports whether the report cannot tell the key's use apart:
// both slots match its creation time (two keys created in the same second)
// and were used differently.
func ambiguous(k types.AccessKeyMetadata, r userRow) bool {
	_, matches := slots(k, r)
	return matches == 2 && !r.row.keys[0].lastUsed.Equal(r.row.keys[1].lastUsed)
}

// accessKey maps an access key, joined to its report slot on creation
// time; the use of a key the report cannot tell apart comes from
// GetAccessKeyLastUsed.
func accessKey(k types.AccessKeyMetadata, r userRow, d *accountData) nhi.Credential {
	cred := nhi.Credential{
		ID: aws.ToString(k.AccessKeyId), Type: nhi.CredAWSAccessKey,
		Created: aws.ToTime(k.CreateDate).UTC(), Status: nhi.StatusActive,
	}
	if k.Status != types.StatusTypeActive {
		cred.Status = nhi.StatusDisabled
	}
	slot, _ := slots(k, r)
	switch {
	case ambiguous(k, r):
		keyLastUsed(&cred, d)
	case r.ok && slot >= 0:
		rk := r.row.keys[slot]
		cred.Usage = r.usage(rk.lastUsed)
		cred.Attributes = map[string]string{"report_slot": []string{"access_key_1", "access_key_2"}[slot]}
		if !rk.lastUsed.IsZero() {
			cred.Attributes = setAttr(cred.Attributes, "last_used_service", rk.service)
			cred.Attributes = setAttr(cred.Attributes, "last_used_region", rk.region)
		}
	case r.ok:
		cred.Usage = nhi.Usage{State: nhi.UsageUnknown, Source: sourceReport, AsOf: r.rep.generated, Reason: "key not in the credential report (created or replaced since)"}
	default:
		cred.Usage = r.usage(time.Time{})
	}
	return cred
}

// keyLastUsed sets the usage of a key the report cannot tell apart from
// its GetAccessKeyLastUsed answer. A null LastUsedDate means never used
// since IAM began tracking (April 2015), long before any key it answers
// about here; ServiceName and Region are "N/A" then.
func keyLastUsed(cred *nhi.Credential, d *accountData) {
	lu, ok := d.keyUse[cred.ID]
	if !ok {
		cred.Usage = nhi.Usage{State: nhi.UsageUnknown, Source: sourceKeyLastUsed, Reason: cmp.Or(d.keyUseWhy[cred.ID],
			"the credential report cannot tell this key's use from its twin's")}
		return
	}
	cred.Usage = nhi.Usage{State: nhi.UsageNeverUsed, Source: sourceKeyLastUsed, AsOf: d.keyUseAt}
	if lu.LastUsedDate != nil {
		cred.Usage.State, cred.Usage.LastUsed = nhi.UsageUsed, aws.ToTime(lu.LastUsedDate).UTC()
		cred.Attributes = setAttr(cred.Attributes, "last_used_service", naToEmpty(aws.ToString(lu.ServiceName)))
		cred.Attributes = setAttr(cred.Attributes, "last_used_region", naToEmpty(aws.ToString(lu.Region)))
	}
}

func naToEmpty(s string) string {
	if s == "N/A" {
		return ""
	}
	return s
}

// serviceCred maps a service-specific credential, whose use IAM does not
// report.
func (c *Collector) serviceCred(s types.ServiceSpecificCredentialMetadata) nhi.Credential {
	cred := nhi.Credential{
		ID: aws.ToString(s.ServiceSpecificCredentialId), Type: nhi.CredAWSServiceSpecific,
		Name:    aws.ToString(s.ServiceName),
		Created: aws.ToTime(s.CreateDate).UTC(), Expires: aws.ToTime(s.ExpirationDate).UTC(),
		Status: nhi.StatusActive,
		Usage:  nhi.Usage{State: nhi.UsageNotReported, Reason: "IAM does not report use of service-specific credentials"},
	}
	if s.Status != types.StatusTypeActive {
		cred.Status = nhi.StatusDisabled
	} else if !cred.Expires.IsZero() && !cred.Expires.After(c.cfg.Now()) {
		cred.Status = nhi.StatusExpired
	}
	if a := aws.ToString(s.ServiceCredentialAlias); a != "" {
		cred.Attributes = setAttr(cred.Attributes, "alias", a)
	}
	return cred
}

// userUsage sets a user's usage (the latest use of its password or any
// key), its console login state, the mixed-use signal, and notes on the
// credentials that were not listed.
func (c *Collector) userUsage(id *nhi.Identity, d *accountData, r userRow) {
	last := r.row.passwordLastUsed
	for _, rk := range r.row.keys {
		if rk.lastUsed.After(last) {
			last = rk.lastUsed
		}
	}
	id.Usage = r.usage(last)
	switch {
	case id.Usage.State != nhi.UsageNeverUsed:
	case len(d.sscs[id.Name]) > 0:
		id.Usage = nhi.Usage{State: nhi.UsageUnknown, Source: sourceReport, AsOf: r.rep.generated,
			Reason: "no password or key use; use of its service-specific credentials is not reported"}
	case !d.sscKnown:
		// Never used only if it has no service-specific credential,
		// which is not known.
		id.Usage = nhi.Usage{State: nhi.UsageUnknown, Source: sourceReport, AsOf: r.rep.generated,
			Reason: "no password or key use; its service-specific credentials were not listed (see gaps)"}
	}
	if !d.keysKnown[id.Name] {
		id.Attributes = setAttr(id.Attributes, "access_keys", "not listed (see gaps)")
	}
	if !d.sscKnown {
		id.Attributes = setAttr(id.Attributes, "service_specific_credentials", "not listed (see gaps)")
	}
	if !r.ok {
		return
	}
	id.Attributes = setAttr(id.Attributes, "password_enabled", boolStr(r.row.passwordEnabled))
	id.Attributes = setAttr(id.Attributes, "mfa_active", boolStr(r.row.mfa))
	if r.row.passwordEnabled && activeKeys(d, id.Name, r) > 0 {
		id.Signals = append(id.Signals, nhi.Signal{Code: nhi.SignalMixedUse, Detail: "console password and active access keys on one user"})
	}
}

func (c *Collector) mapRole(d *accountData, r types.RoleDetail, known map[string]bool, now time.Time) nhi.Identity {
	id := nhi.Identity{
		ID:       nhi.MakeID(nhi.AWS, aws.ToString(r.RoleId)),
		Provider: nhi.AWS, Kind: nhi.KindAWSRole,
		NativeID: aws.ToString(r.RoleId), Name: aws.ToString(r.RoleName), ARN: aws.ToString(r.Arn),
		Scope: d.account, Path: aws.ToString(r.Path),
		Created: aws.ToTime(r.CreateDate).UTC(), Status: nhi.StatusActive,
		Tags:            tagMap(r.Tags),
		ProviderManaged: awsManagedPath(aws.ToString(r.Path)),
	}
	id.OwnerHints = c.ownerHints(id.Tags)
	id.Grants = c.grants(d, r.AttachedManagedPolicies, r.RolePolicyList, nil)
	for _, p := range r.RolePolicyList {
		if aws.ToString(p.PolicyName) == QuarantinePolicy {
			id.Status = nhi.StatusDisabled
		}
	}
	if r.PermissionsBoundary != nil {
		id.Attributes = setAttr(id.Attributes, "permissions_boundary", aws.ToString(r.PermissionsBoundary.PermissionsBoundaryArn))
	}
	roleDetails(&id, d)
	sigs, ext := trustSignals(decodeDoc(aws.ToString(r.AssumeRolePolicyDocument)), d.account, known)
	id.Signals = append(id.Signals, sigs...)
	if len(ext) > 0 {
		id.Attributes = setAttr(id.Attributes, "trusted_external_accounts", strings.Join(ext, ","))
	}
	id.Usage = nhi.Usage{State: nhi.UsageNeverUsed, Source: sourceRoleLastUsed, AsOf: now}
	if r.RoleLastUsed != nil && r.RoleLastUsed.LastUsedDate != nil {
		id.Usage.State, id.Usage.LastUsed = nhi.UsageUsed, aws.ToTime(r.RoleLastUsed.LastUsedDate).UTC()
		id.Attributes = setAttr(id.Attributes, "last_used_region", aws.ToString(r.RoleLastUsed.Region))
	} else if now.Sub(id.Created) > roleTrackingWindow {
		id.Usage.Reason = "no use within the 400-day tracking window"
	}
	return id
}

// roleDetails sets what ListRoles adds to a role: its description (free
// text, made safe to show: see reviewText) and its maximum session
// duration in seconds.
func roleDetails(id *nhi.Identity, d *accountData) {
	if d.roleDetails == nil {
		id.Attributes = setAttr(id.Attributes, "role_details", "not listed (see gaps)")
		return
	}
	r, ok := d.roleDetails[id.NativeID]
	if !ok {
		return // created after ListRoles read its page, or deleted since
	}
	id.Attributes = setAttr(id.Attributes, "description", reviewText(aws.ToString(r.Description), maxDescription))
	if r.MaxSessionDuration != nil {
		id.Attributes = setAttr(id.Attributes, "max_session_duration_seconds", strconv.Itoa(int(*r.MaxSessionDuration)))
	}
}

// maxDescription is IAM's limit on a role description, in characters.
const maxDescription = 1000

// reviewText makes provider free text safe to store and show anywhere:
// valid UTF-8, at most max runes, and every control, bidirectional or
// invisible formatting character (which could rewrite a terminal line,
// reorder what a reviewer reads or hide text) replaced by its visible
// escape, such as \n, \x1b or \u202e. Markup stays as it is: each output
// escapes it (HTML, CSV, JSON).
func reviewText(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == max {
			b.WriteString("…")
			break
		}
		n++
		if hiddenRune(r) {
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// hiddenRune reports whether r is a control character (C0, DEL, C1), a
// bidirectional control or mark, or an invisible formatting character.
func hiddenRune(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200b, r == 0x200c, r == 0x200d, r == 0x200e, r == 0x200f, r == 0x2060, r == 0xfeff:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// awsManagedPath reports whether a role path is one only AWS creates roles
// under: service-linked roles (/aws-service-role/) and the IAM Identity
// Center permission-set roles people sign in with (/aws-reserved/), which
// IAM refuses to change.
func awsManagedPath(p string) bool {
	return strings.HasPrefix(p, "/aws-service-role/") || strings.HasPrefix(p, "/aws-reserved/")
}

// grants maps attached managed, inline and group policies to grants,
// each judged by the privilege tables.
func (c *Collector) grants(d *accountData, attached []types.AttachedPolicy, inline []types.PolicyDetail, groups []string) []nhi.Grant {
	var out []nhi.Grant
	for _, a := range attached {
		arn := aws.ToString(a.PolicyArn)
		out = append(out, judged(nhi.Grant{ID: "managed-policy:" + arn, Kind: "managed-policy", Entitlement: arn, Scope: d.account},
			managedPrivilege(arn, d.policies[arn])))
	}
	for _, p := range inline {
		name := aws.ToString(p.PolicyName)
		out = append(out, judged(nhi.Grant{ID: "inline-policy:" + name, Kind: "inline-policy", Entitlement: "inline:" + name, Scope: d.account},
			documentPrivilege(decodeDoc(aws.ToString(p.PolicyDocument)))))
	}
	sorted := append([]string(nil), groups...)
	sort.Strings(sorted)
	for _, gname := range sorted {
		g, ok := d.groups[gname]
		if !ok {
			continue
		}
		for _, a := range g.AttachedManagedPolicies {
			arn := aws.ToString(a.PolicyArn)
			out = append(out, judged(nhi.Grant{ID: "group-policy:" + gname + ":" + arn, Kind: "group-policy", Entitlement: arn, Scope: d.account, Via: "group:" + gname},
				managedPrivilege(arn, d.policies[arn])))
		}
		for _, p := range g.GroupPolicyList {
			name := aws.ToString(p.PolicyName)
			out = append(out, judged(nhi.Grant{ID: "group-policy:" + gname + ":inline:" + name, Kind: "group-policy", Entitlement: "inline:" + gname + "/" + name, Scope: d.account, Via: "group:" + gname},
				documentPrivilege(decodeDoc(aws.ToString(p.PolicyDocument)))))
		}
	}
	return out
}

// judged sets a grant's level and verdict from a judgement.
func judged(g nhi.Grant, j privilege.AWSJudgement) nhi.Grant {
	g.Privilege, g.Privileged, g.Reason = j.Level, nhi.VerdictOf(j.Privileged), j.Reason
	return g
}

// activeKeys counts a user's active access keys: from ListAccessKeys, or,
// when its keys were not listed, from the credential report, so that the
// mixed-use signal (which reads the login state) does not depend on the
// access key list.
func activeKeys(d *accountData, user string, r userRow) int {
	n := 0
	if d.keysKnown[user] {
		for _, k := range d.keys[user] {
			if k.Status == types.StatusTypeActive {
				n++
			}
		}
		return n
	}
	for _, rk := range r.row.keys {
		if rk.active {
			n++
		}
	}
	return n
}

func tagMap(ts []types.Tag) map[string]string {
	if len(ts) == 0 {
		return nil
	}
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func (c *Collector) ownerHints(tags map[string]string) []nhi.OwnerHint {
	var out []nhi.OwnerHint
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]bool{}
	for _, k := range keys {
		v := strings.ToLower(strings.TrimSpace(tags[k]))
		if v == "" || seen[v] {
			continue
		}
		for _, want := range c.cfg.OwnerTagKeys {
			if strings.EqualFold(k, want) {
				seen[v] = true
				out = append(out, nhi.OwnerHint{Source: "tag", Value: v})
				break
			}
		}
	}
	return out
}

func setAttr(m map[string]string, k, v string) map[string]string {
	if v == "" {
		return m
	}
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
