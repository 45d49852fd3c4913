package awsfake

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

type tagXML struct {
	Key   string
	Value string
}

type attachedXML struct {
	PolicyName string
	PolicyArn  string
}

type inlineXML struct {
	PolicyName     string
	PolicyDocument string
}

type boundaryXML struct {
	PermissionsBoundaryType string
	PermissionsBoundaryArn  string
}

// boundary renders a permissions boundary; nil (absent) without one.
func boundary(arn string) *boundaryXML {
	if arn == "" {
		return nil
	}
	return &boundaryXML{"PermissionsBoundaryPolicy", arn}
}

type userDetailXML struct {
	Path                    string
	UserName                string
	UserId                  string
	Arn                     string
	CreateDate              string
	UserPolicyList          []inlineXML   `xml:"UserPolicyList>member"`
	GroupList               []string      `xml:"GroupList>member"`
	AttachedManagedPolicies []attachedXML `xml:"AttachedManagedPolicies>member"`
	PermissionsBoundary     *boundaryXML  `xml:",omitempty"`
	Tags                    []tagXML      `xml:"Tags>member"`
}

type roleLastUsedXML struct {
	LastUsedDate string `xml:",omitempty"`
	Region       string `xml:",omitempty"`
}

type roleDetailXML struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string
	RolePolicyList           []inlineXML   `xml:"RolePolicyList>member"`
	AttachedManagedPolicies  []attachedXML `xml:"AttachedManagedPolicies>member"`
	PermissionsBoundary      *boundaryXML  `xml:",omitempty"`
	Tags                     []tagXML      `xml:"Tags>member"`
	RoleLastUsed             roleLastUsedXML
}

type groupDetailXML struct {
	Path                    string
	GroupName               string
	GroupId                 string
	Arn                     string
	CreateDate              string
	GroupPolicyList         []inlineXML   `xml:"GroupPolicyList>member"`
	AttachedManagedPolicies []attachedXML `xml:"AttachedManagedPolicies>member"`
}

type policyVersionXML struct {
	Document         string
	VersionId        string
	IsDefaultVersion bool
	CreateDate       string
}

type policyDetailXML struct {
	PolicyName        string
	PolicyId          string
	Arn               string
	Path              string
	DefaultVersionId  string
	AttachmentCount   int
	IsAttachable      bool
	CreateDate        string
	UpdateDate        string
	PolicyVersionList []policyVersionXML `xml:"PolicyVersionList>member"`
}

// roleXML is a Role as GetRole returns it; ListRoles leaves out the
// permissions boundary, the tags and RoleLastUsed.
type roleXML struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string
	Description              string       `xml:",omitempty"`
	MaxSessionDuration       int          `xml:",omitempty"`
	PermissionsBoundary      *boundaryXML `xml:",omitempty"`
	Tags                     []tagXML     `xml:"Tags>member,omitempty"`
	RoleLastUsed             *roleLastUsedXML
}

type listRolesXML struct {
	Roles       []roleXML `xml:"Roles>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func maxSession(r *Role) int {
	if r.MaxSessionDuration == 0 {
		return 3600
	}
	return r.MaxSessionDuration
}

// listRoles answers ListRoles: roles under PathPrefix, paged, without
// permissions boundary, tags or RoleLastUsed (as IAM documents).
func (s *Server) listRoles(a *Account, f url.Values) (any, *apiError) {
	prefix := f.Get("PathPrefix")
	var roles []*Role
	for i := range a.Roles {
		if strings.HasPrefix(path(a.Roles[i].Path), prefix) {
			roles = append(roles, &a.Roles[i])
		}
	}
	start, end, next, err := s.paginate(f.Get("Marker"), f.Get("MaxItems"), len(roles))
	if err != nil {
		return nil, err
	}
	out := listRolesXML{IsTruncated: next != "", Marker: next}
	for _, r := range roles[start:end] {
		out.Roles = append(out.Roles, roleXML{Path: path(r.Path), RoleName: r.Name, RoleId: r.ID, Arn: arn(a.ID, "role", r.Path, r.Name),
			CreateDate: isoTime(r.Created), AssumeRolePolicyDocument: encodeDoc(r.Trust), Description: r.Description, MaxSessionDuration: maxSession(r)})
	}
	return out, nil
}

type getRoleXML struct {
	Role roleXML
}

type userXML struct {
	Path       string
	UserName   string
	UserId     string
	Arn        string
	CreateDate string
	Tags       []tagXML `xml:"Tags>member,omitempty"`
}

type getUserXML struct {
	User userXML
}

type gaadXML struct {
	UserDetailList  []userDetailXML   `xml:"UserDetailList>member"`
	GroupDetailList []groupDetailXML  `xml:"GroupDetailList>member"`
	RoleDetailList  []roleDetailXML   `xml:"RoleDetailList>member"`
	Policies        []policyDetailXML `xml:"Policies>member"`
	IsTruncated     bool
	Marker          string `xml:",omitempty"`
}

type accessKeyXML struct {
	UserName    string
	AccessKeyId string
	Status      string
	CreateDate  string
}

type listKeysXML struct {
	AccessKeyMetadata []accessKeyXML `xml:"AccessKeyMetadata>member"`
	IsTruncated       bool
	Marker            string `xml:",omitempty"`
}

type sscXML struct {
	UserName                    string
	Status                      string
	ServiceUserName             string `xml:",omitempty"`
	CreateDate                  string
	ExpirationDate              string `xml:",omitempty"`
	ServiceSpecificCredentialId string
	ServiceName                 string
	ServiceCredentialAlias      string `xml:",omitempty"`
}

type listSSCXML struct {
	ServiceSpecificCredentials []sscXML `xml:"ServiceSpecificCredentials>member"`
	IsTruncated                bool
	Marker                     string `xml:",omitempty"`
}

func path(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func arn(acct, kind, p, name string) string {
	return "arn:aws:iam::" + acct + ":" + kind + path(p) + name
}

func policyName(policyARN string) string { return policyARN[strings.LastIndex(policyARN, "/")+1:] }

func attached(arns []string) []attachedXML {
	out := make([]attachedXML, 0, len(arns))
	for _, a := range arns {
		out = append(out, attachedXML{PolicyName: policyName(a), PolicyArn: a})
	}
	return out
}

func inline(m map[string]string) []inlineXML {
	out := make([]inlineXML, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, inlineXML{PolicyName: k, PolicyDocument: encodeDoc(m[k])})
	}
	return out
}

func tags(m map[string]string) []tagXML {
	out := make([]tagXML, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, tagXML{k, m[k]})
	}
	return out
}

func (s *Server) iam(req request) (any, *apiError) {
	a, ok := s.accounts[req.account]
	if !ok {
		return nil, errDenied(req.caller, req.op, "*")
	}
	s.advanceReport(a.ID)
	f := req.form
	switch req.action {
	case "GenerateCredentialReport":
		return s.generateReport(a), nil
	case "GetCredentialReport":
		return s.getReport(a)
	case "GetAccountAuthorizationDetails":
		return s.gaad(a, req)
	case "ListAccessKeys":
		u := findUser(a, f.Get("UserName"))
		if u == nil {
			return nil, errNoSuchEntity("The user with name %s cannot be found.", f.Get("UserName"))
		}
		keys := append([]AccessKey(nil), u.AccessKeys...)
		sort.Slice(keys, func(i, j int) bool { return keys[i].Created.Before(keys[j].Created) })
		start, end, next, err := s.paginate(f.Get("Marker"), f.Get("MaxItems"), len(keys))
		if err != nil {
			return nil, err
		}
		out := listKeysXML{IsTruncated: next != "", Marker: next}
		for _, k := range keys[start:end] {
			out.AccessKeyMetadata = append(out.AccessKeyMetadata, accessKeyXML{u.Name, k.ID, status(k.Active), isoTime(k.Created)})
		}
		return out, nil
	case "GetAccessKeyLastUsed":
		return keyLastUsed(a, f.Get("AccessKeyId"))
	case "ListServiceSpecificCredentials":
		var all []sscXML
		for _, u := range a.Users {
			if f.Get("AllUsers") != "true" && u.Name != f.Get("UserName") {
				continue
			}
			for _, c := range u.ServiceCreds {
				if f.Get("ServiceName") != "" && c.ServiceName != f.Get("ServiceName") {
					continue
				}
				all = append(all, sscXML{UserName: u.Name, Status: status(c.Active), CreateDate: isoTime(c.Created), ExpirationDate: isoTime(c.Expires),
					ServiceSpecificCredentialId: c.ID, ServiceName: c.ServiceName, ServiceCredentialAlias: c.Alias, ServiceUserName: serviceUserName(u.Name, c)})
			}
		}
		if f.Get("AllUsers") != "true" && findUser(a, f.Get("UserName")) == nil {
			return nil, errNoSuchEntity("The user with name %s cannot be found.", f.Get("UserName"))
		}
		start, end, next, err := s.paginate(f.Get("Marker"), f.Get("MaxItems"), len(all))
		if err != nil {
			return nil, err
		}
		return listSSCXML{ServiceSpecificCredentials: all[start:end], IsTruncated: next != "", Marker: next}, nil
	case "UpdateAccessKey", "DeleteAccessKey":
		u := findUser(a, f.Get("UserName"))
		if u == nil {
			return nil, errNoSuchEntity("The user with name %s cannot be found.", f.Get("UserName"))
		}
		for i := range u.AccessKeys {
			if u.AccessKeys[i].ID != f.Get("AccessKeyId") {
				continue
			}
			if req.action == "DeleteAccessKey" {
				u.AccessKeys = append(u.AccessKeys[:i], u.AccessKeys[i+1:]...)
			} else {
				active, err := activeStatus(f.Get("Status"))
				if err != nil {
					return nil, err
				}
				u.AccessKeys[i].Active = active
			}
			return nil, nil
		}
		return nil, errNoSuchEntity("The Access Key with id %s cannot be found.", f.Get("AccessKeyId"))
	case "UpdateServiceSpecificCredential", "DeleteServiceSpecificCredential":
		for ui := range a.Users {
			u := &a.Users[ui]
			if f.Get("UserName") != "" && u.Name != f.Get("UserName") {
				continue
			}
			for i := range u.ServiceCreds {
				if u.ServiceCreds[i].ID != f.Get("ServiceSpecificCredentialId") {
					continue
				}
				if req.action == "DeleteServiceSpecificCredential" {
					u.ServiceCreds = append(u.ServiceCreds[:i], u.ServiceCreds[i+1:]...)
				} else {
					active, err := activeStatus(f.Get("Status"))
					if err != nil {
						return nil, err
					}
					u.ServiceCreds[i].Active = active
				}
				return nil, nil
			}
		}
		return nil, errNoSuchEntity("The Service Specific Credential with id %s cannot be found.", f.Get("ServiceSpecificCredentialId"))
	case "GetRole":
		r := findRole(a, f.Get("RoleName"))
		if r == nil {
			return nil, errNoSuchEntity("The role with name %s cannot be found.", f.Get("RoleName"))
		}
		return getRoleXML{Role: roleXML{Path: path(r.Path), RoleName: r.Name, RoleId: r.ID, Arn: arn(a.ID, "role", r.Path, r.Name),
			CreateDate: isoTime(r.Created), AssumeRolePolicyDocument: encodeDoc(r.Trust), Tags: tags(r.Tags),
			Description: r.Description, MaxSessionDuration: maxSession(r), PermissionsBoundary: boundary(r.PermissionsBoundary),
			RoleLastUsed: &roleLastUsedXML{isoTime(r.LastUsed), r.LastUsedRegion}}}, nil
	case "ListRoles":
		return s.listRoles(a, f)
	case "GenerateServiceLastAccessedDetails":
		return s.generateJob(a, f)
	case "GetServiceLastAccessedDetails":
		return s.getJob(a, f)
	case "GetPolicy", "GetPolicyVersion":
		return s.getPolicy(a, req.action, f)
	case "AttachRolePolicy", "DetachRolePolicy", "ListAttachedRolePolicies", "AttachUserPolicy", "DetachUserPolicy", "ListAttachedUserPolicies":
		return s.attachment(a, req.action, f)
	case "GetUser":
		u := findUser(a, f.Get("UserName"))
		if u == nil {
			return nil, errNoSuchEntity("The user with name %s cannot be found.", f.Get("UserName"))
		}
		return getUserXML{User: userXML{Path: path(u.Path), UserName: u.Name, UserId: u.ID, Arn: arn(a.ID, "user", u.Path, u.Name),
			CreateDate: isoTime(u.Created), Tags: tags(u.Tags)}}, nil
	case "PutRolePolicy", "DeleteRolePolicy", "GetRolePolicy":
		r := findRole(a, f.Get("RoleName"))
		if r == nil {
			return nil, errNoSuchEntity("The role with name %s cannot be found.", f.Get("RoleName"))
		}
		if strings.HasPrefix(r.Path, "/aws-service-role/") && req.action != "GetRolePolicy" {
			return nil, &apiError{http.StatusBadRequest, "UnmodifiableEntity", "Cannot perform the operation on the protected role '" + r.Name + "' - this role is only modifiable by AWS"}
		}
		if r.Inline == nil {
			r.Inline = map[string]string{}
		}
		return inlineOp(req.action, "Role", r.Name, r.Inline, f.Get("PolicyName"), f.Get("PolicyDocument"))
	case "PutUserPolicy", "DeleteUserPolicy", "GetUserPolicy":
		u := findUser(a, f.Get("UserName"))
		if u == nil {
			return nil, errNoSuchEntity("The user with name %s cannot be found.", f.Get("UserName"))
		}
		if u.Inline == nil {
			u.Inline = map[string]string{}
		}
		return inlineOp(req.action, "User", u.Name, u.Inline, f.Get("PolicyName"), f.Get("PolicyDocument"))
	}
	return nil, &apiError{http.StatusBadRequest, "InvalidAction", "The action " + req.action + " is not valid for this web service."}
}

type keyLastUsedXML struct {
	UserName          string
	AccessKeyLastUsed struct {
		LastUsedDate string `xml:",omitempty"`
		ServiceName  string
		Region       string
	}
}

// keyLastUsed answers GetAccessKeyLastUsed as IAM does: LastUsedDate is
// absent for a key never used, and ServiceName and Region are then "N/A".
func keyLastUsed(a *Account, id string) (any, *apiError) {
	for _, u := range a.Users {
		for _, k := range u.AccessKeys {
			if k.ID != id {
				continue
			}
			out := keyLastUsedXML{UserName: u.Name}
			out.AccessKeyLastUsed.ServiceName, out.AccessKeyLastUsed.Region = "N/A", "N/A"
			if !k.LastUsed.IsZero() {
				out.AccessKeyLastUsed.LastUsedDate = isoTime(k.LastUsed)
				out.AccessKeyLastUsed.ServiceName, out.AccessKeyLastUsed.Region = orNA(k.LastUsedService), orNA(k.LastUsedRegion)
			}
			return out, nil
		}
	}
	return nil, errNoSuchEntity("The Access Key with id %s cannot be found.", id)
}

func inlineOp(action, kind, owner string, m map[string]string, name, doc string) (any, *apiError) {
	switch {
	case strings.HasPrefix(action, "Put"):
		if name == "" || doc == "" {
			return nil, errInvalid("PolicyName and PolicyDocument are required")
		}
		m[name] = doc
		return nil, nil
	case strings.HasPrefix(action, "Delete"):
		if _, ok := m[name]; !ok {
			return nil, errNoSuchEntity("The %s policy with name %s cannot be found.", strings.ToLower(kind), name)
		}
		delete(m, name)
		return nil, nil
	}
	d, ok := m[name]
	if !ok {
		return nil, errNoSuchEntity("The %s policy with name %s cannot be found.", strings.ToLower(kind), name)
	}
	type out struct {
		RoleName       string `xml:",omitempty"`
		UserName       string `xml:",omitempty"`
		PolicyName     string
		PolicyDocument string
	}
	o := out{PolicyName: name, PolicyDocument: encodeDoc(d)}
	if kind == "Role" {
		o.RoleName = owner
	} else {
		o.UserName = owner
	}
	return o, nil
}

func serviceUserName(user string, c ServiceCred) string {
	if strings.HasPrefix(c.ServiceName, "codecommit") {
		return user + "-at-000000000000"
	}
	return ""
}

func status(active bool) string {
	if active {
		return "Active"
	}
	return "Inactive"
}

func findUser(a *Account, name string) *User {
	for i := range a.Users {
		if a.Users[i].Name == name {
			return &a.Users[i]
		}
	}
	return nil
}

func findRole(a *Account, name string) *Role {
	for i := range a.Roles {
		if a.Roles[i].Name == name {
			return &a.Roles[i]
		}
	}
	return nil
}

func (s *Server) gaad(a *Account, req request) (any, *apiError) {
	want := map[string]bool{}
	for k, v := range req.form {
		if strings.HasPrefix(k, "Filter.member.") {
			want[v[0]] = true
		}
	}
	all := len(want) == 0
	type item struct{ kind, i int }
	var items []item
	add := func(kind int, filter string, n int) {
		if all || want[filter] {
			for i := 0; i < n; i++ {
				items = append(items, item{kind, i})
			}
		}
	}
	add(0, "User", len(a.Users))
	add(1, "Group", len(a.Groups))
	add(2, "Role", len(a.Roles))
	add(3, "LocalManagedPolicy", len(a.Policies))
	start, end, next, err := s.paginate(req.form.Get("Marker"), req.form.Get("MaxItems"), len(items))
	if err != nil {
		return nil, err
	}
	out := gaadXML{IsTruncated: next != "", Marker: next}
	for _, it := range items[start:end] {
		switch it.kind {
		case 0:
			u := a.Users[it.i]
			out.UserDetailList = append(out.UserDetailList, userDetailXML{
				Path: path(u.Path), UserName: u.Name, UserId: u.ID, Arn: arn(a.ID, "user", u.Path, u.Name), CreateDate: isoTime(u.Created),
				UserPolicyList: inline(u.Inline), GroupList: u.Groups, AttachedManagedPolicies: attached(u.Attached), Tags: tags(u.Tags),
				PermissionsBoundary: boundary(u.PermissionsBoundary)})
		case 1:
			g := a.Groups[it.i]
			out.GroupDetailList = append(out.GroupDetailList, groupDetailXML{
				Path: path(g.Path), GroupName: g.Name, GroupId: g.ID, Arn: arn(a.ID, "group", g.Path, g.Name), CreateDate: isoTime(g.Created),
				GroupPolicyList: inline(g.Inline), AttachedManagedPolicies: attached(g.Attached)})
		case 2:
			r := a.Roles[it.i]
			out.RoleDetailList = append(out.RoleDetailList, roleDetailXML{
				Path: path(r.Path), RoleName: r.Name, RoleId: r.ID, Arn: arn(a.ID, "role", r.Path, r.Name), CreateDate: isoTime(r.Created),
				AssumeRolePolicyDocument: encodeDoc(r.Trust), RolePolicyList: inline(r.Inline), AttachedManagedPolicies: attached(r.Attached),
				Tags: tags(r.Tags), RoleLastUsed: roleLastUsedXML{isoTime(r.LastUsed), r.LastUsedRegion},
				PermissionsBoundary: boundary(r.PermissionsBoundary)})
		case 3:
			p := a.Policies[it.i]
			pa := "arn:aws:iam::" + a.ID + ":policy" + path(p.Path) + p.Name
			out.Policies = append(out.Policies, policyDetailXML{
				PolicyName: p.Name, PolicyId: p.ID, Arn: pa, Path: path(p.Path), DefaultVersionId: "v1",
				AttachmentCount: attachments(a, pa), IsAttachable: true, CreateDate: isoTime(p.Created), UpdateDate: isoTime(p.Created),
				PolicyVersionList: []policyVersionXML{{Document: encodeDoc(p.Document), VersionId: "v1", IsDefaultVersion: true, CreateDate: isoTime(p.Created)}}})
		}
	}
	return out, nil
}

func attachments(a *Account, policyARN string) int {
	n := 0
	count := func(arns []string) {
		for _, x := range arns {
			if x == policyARN {
				n++
			}
		}
	}
	for _, u := range a.Users {
		count(u.Attached)
	}
	for _, r := range a.Roles {
		count(r.Attached)
	}
	for _, g := range a.Groups {
		count(g.Attached)
	}
	return n
}

// advanceReport completes a report whose generation started on an earlier
// call: generation takes one round trip.
func (s *Server) advanceReport(acct string) {
	rep := s.reports[acct]
	if rep != nil && rep.pending && s.totalCalls(acct) > rep.seen+1 {
		rep.pending = false
	}
}

func (s *Server) totalCalls(acct string) int {
	n := 0
	for _, v := range s.acctCalls[acct] {
		n += v
	}
	return n
}

type generateXML struct {
	State       string
	Description string
}

// generateReport follows IAM: a report younger than four hours is reused,
// even when users and keys changed since; otherwise a new one starts. The
// report holds the account as it was when generation started.
func (s *Server) generateReport(a *Account) any {
	now := s.now().UTC().Truncate(time.Second)
	rep := s.reports[a.ID]
	if rep != nil && rep.pending {
		return generateXML{"INPROGRESS", "Report generation in progress."}
	}
	if rep != nil && now.Sub(rep.generated) < 4*time.Hour {
		return generateXML{"COMPLETE", "Report is ready."}
	}
	s.reports[a.ID] = &report{generated: now, pending: true, seen: s.totalCalls(a.ID), content: CredentialReport(*a, now)}
	return generateXML{"STARTED", "No report exists. Starting a new report generation task"}
}

type reportXML struct {
	Content       string
	ReportFormat  string
	GeneratedTime string
}

func (s *Server) getReport(a *Account) (any, *apiError) {
	rep := s.reports[a.ID]
	switch {
	case rep == nil:
		return nil, &apiError{http.StatusGone, "ReportNotPresent", "Credential report not present. Generate a report using GenerateCredentialReport."}
	case rep.pending:
		return nil, &apiError{http.StatusNotFound, "ReportInProgress", "Credential report generation is in progress."}
	case s.now().Sub(rep.generated) > 4*time.Hour:
		return nil, &apiError{http.StatusGone, "ReportExpired", "Credential report is expired. Generate a new report using GenerateCredentialReport."}
	}
	return reportXML{
		Content:       base64.StdEncoding.EncodeToString(rep.content),
		ReportFormat:  "text/csv",
		GeneratedTime: isoTime(rep.generated),
	}, nil
}

// ReportColumns are the 22 columns of the IAM credential report.
var ReportColumns = []string{"user", "arn", "user_creation_time", "password_enabled", "password_last_used",
	"password_last_changed", "password_next_rotation", "mfa_active",
	"access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date", "access_key_1_last_used_region", "access_key_1_last_used_service",
	"access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date", "access_key_2_last_used_region", "access_key_2_last_used_service",
	"cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated"}

// CredentialReport renders an account's credential report CSV as IAM does:
// root first, then users; key slots in creation order.
func CredentialReport(a Account, generated time.Time) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(ReportColumns)
	rt := func(t time.Time) string {
		if t.IsZero() {
			return "N/A"
		}
		return t.UTC().Format("2006-01-02T15:04:05+00:00")
	}
	root := []string{"<root_account>", "arn:aws:iam::" + a.ID + ":root", rt(a.Joined), "not_supported", "no_information", "not_supported", "not_supported", "true",
		"false", "N/A", "N/A", "N/A", "N/A", "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A", "false", "N/A"}
	_ = w.Write(root)
	for _, u := range a.Users {
		row := []string{u.Name, arn(a.ID, "user", u.Path, u.Name), rt(u.Created), "false", "N/A", "N/A", "N/A", boolStr(u.MFA)}
		if u.PasswordEnabled {
			row[3] = "true"
			row[4] = "no_information"
			if !u.PasswordLastUsed.IsZero() {
				row[4] = rt(u.PasswordLastUsed)
			}
			row[5] = rt(u.Created)
		}
		keys := append([]AccessKey(nil), u.AccessKeys...)
		sort.Slice(keys, func(i, j int) bool { return keys[i].Created.Before(keys[j].Created) })
		for slot := 0; slot < 2; slot++ {
			if slot >= len(keys) {
				row = append(row, "false", "N/A", "N/A", "N/A", "N/A")
				continue
			}
			k := keys[slot]
			region, service := "N/A", "N/A"
			if !k.LastUsed.IsZero() {
				region, service = orNA(k.LastUsedRegion), orNA(k.LastUsedService)
			}
			row = append(row, boolStr(k.Active), rt(k.Created), rt(k.LastUsed), region, service)
		}
		row = append(row, "false", "N/A", "false", "N/A")
		_ = w.Write(row)
	}
	w.Flush()
	return buf.Bytes()
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func orNA(s string) string {
	if s == "" {
		return "N/A"
	}
	return s
}

// activeStatus reads the Status parameter of UpdateAccessKey and
// UpdateServiceSpecificCredential.
func activeStatus(status string) (bool, *apiError) {
	switch status {
	case "Active", "Inactive":
		return status == "Active", nil
	}
	return false, errInvalid("Status must be Active or Inactive")
}
