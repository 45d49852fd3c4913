package awsfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// TrackingPeriod is how far back IAM's service last accessed data goes.
const TrackingPeriod = 400 * 24 * time.Hour

// actionTracked lists the services whose actions IAM tracks (a subset of
// AWS's list: the fake's demo and tests use these).
var actionTracked = map[string]bool{"s3": true, "ec2": true, "iam": true, "lambda": true, "dynamodb": true, "sts": true}

// BuiltinManaged holds the documents of the AWS managed policies the demo
// and the tests attach (abridged to their action lists' services), served
// by GetPolicy and GetPolicyVersion unless Seed.AWSManaged replaces one.
var BuiltinManaged = map[string]string{
	"arn:aws:iam::aws:policy/AdministratorAccess":    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/PowerUserAccess":        `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/IAMFullAccess":          `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization"],"Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/ReadOnlyAccess":         `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","ec2:Describe*","dynamodb:Describe*","iam:Get*","iam:List*","lambda:Get*","lambda:List*","logs:Get*"],"Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/SecurityAudit":          `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:Get*","iam:List*","s3:GetBucketPolicy","ec2:Describe*"],"Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/AmazonAthenaFullAccess": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["athena:*","glue:GetTable","s3:GetObject","s3:ListBucket"],"Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/AmazonS3FullAccess":     `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","s3-object-lambda:*"],"Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/AmazonECS_FullAccess":   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:*","ec2:Describe*","logs:CreateLogGroup"],"Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/AmazonSQSFullAccess":    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:*"],"Resource":"*"}]}`,
}

// serviceNames are the display names GetServiceLastAccessedDetails gives.
var serviceNames = map[string]string{"s3": "Amazon S3", "ec2": "Amazon EC2", "iam": "AWS Identity and Access Management",
	"lambda": "AWS Lambda", "dynamodb": "Amazon DynamoDB", "sqs": "Amazon SQS", "sts": "AWS Security Token Service",
	"ecs": "Amazon Elastic Container Service", "ce": "AWS Cost Explorer Service", "logs": "Amazon CloudWatch Logs"}

// accessJob is one GenerateServiceLastAccessedDetails job.
type accessJob struct {
	account     string
	arn         string
	granularity string
	created     time.Time
	completed   time.Time
	// seen is the account's call count when the job started; it
	// completes once the account has had rounds further calls.
	seen    int
	rounds  int
	entries []serviceXML
}

// SetJobRounds sets how many further calls to an account an Access
// Advisor job takes to complete (default 1: the first status call sees it
// complete); negative means it never completes (a job that does not
// finish within the collector's deadline).
func (s *Server) SetJobRounds(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobRounds = n
}

type generateJobXML struct{ JobId string }

// generateJob starts a job for a user, role, group or policy ARN of the
// account. The data is taken when the job starts.
func (s *Server) generateJob(a *Account, f url.Values) (any, *apiError) {
	gran := f.Get("Granularity")
	if gran == "" {
		gran = "SERVICE_LEVEL"
	}
	if gran != "SERVICE_LEVEL" && gran != "ACTION_LEVEL" {
		return nil, errInvalid("1 validation error detected: Value '%s' at 'granularity' failed to satisfy constraint", gran)
	}
	arnStr := f.Get("Arn")
	access, docs, ok := s.entity(a, arnStr)
	if !ok {
		return nil, errNoSuchEntity("The entity %s cannot be found.", arnStr)
	}
	s.nextJob++
	id := fmt.Sprintf("fake-job-%08d", s.nextJob)
	now := s.now().UTC().Truncate(time.Second)
	s.jobs[id] = &accessJob{account: a.ID, arn: arnStr, granularity: gran, created: now, seen: s.totalCalls(a.ID), rounds: s.jobRounds,
		entries: serviceEntries(access, docs, gran == "ACTION_LEVEL", now, arnStr)}
	return generateJobXML{id}, nil
}

// entity finds a user or role by ARN and returns its last accessed data
// and the documents of every policy it holds (attached, inline, through
// its groups).
func (s *Server) entity(a *Account, arnStr string) ([]ServiceAccess, []string, bool) {
	for i := range a.Users {
		u := &a.Users[i]
		if arn(a.ID, "user", u.Path, u.Name) != arnStr {
			continue
		}
		docs := s.documents(a, u.Attached, u.Inline)
		for _, gname := range u.Groups {
			for _, g := range a.Groups {
				if g.Name == gname {
					docs = append(docs, s.documents(a, g.Attached, g.Inline)...)
				}
			}
		}
		return u.LastAccessed, docs, true
	}
	for i := range a.Roles {
		r := &a.Roles[i]
		if arn(a.ID, "role", r.Path, r.Name) == arnStr {
			return r.LastAccessed, s.documents(a, r.Attached, r.Inline), true
		}
	}
	return nil, nil, false
}

func (s *Server) documents(a *Account, attachedARNs []string, inline map[string]string) []string {
	var docs []string
	for _, p := range attachedARNs {
		if d, ok := s.awsManaged[p]; ok {
			docs = append(docs, d)
		}
		for _, cp := range a.Policies {
			if arn(a.ID, "policy", cp.Path, cp.Name) == p {
				docs = append(docs, cp.Document)
			}
		}
	}
	for _, k := range sortedKeys(inline) {
		docs = append(docs, inline[k])
	}
	return docs
}

// namespaces returns the service namespaces a document's Allow
// statements name ("*" alone names none the fake can list).
func namespaces(doc string) []string {
	var p struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(doc), &p) != nil {
		return nil
	}
	var sts []map[string]any
	if json.Unmarshal(p.Statement, &sts) != nil {
		var one map[string]any
		if json.Unmarshal(p.Statement, &one) != nil {
			return nil
		}
		sts = []map[string]any{one}
	}
	var out []string
	for _, st := range sts {
		if st["Effect"] != "Allow" {
			continue
		}
		var acts []string
		switch v := st["Action"].(type) {
		case string:
			acts = []string{v}
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					acts = append(acts, s)
				}
			}
		}
		for _, act := range acts {
			if ns, _, ok := strings.Cut(act, ":"); ok {
				out = append(out, strings.ToLower(ns))
			}
		}
	}
	return out
}

type serviceXML struct {
	ServiceName                string
	ServiceNamespace           string
	LastAuthenticated          string `xml:",omitempty"`
	LastAuthenticatedEntity    string `xml:",omitempty"`
	LastAuthenticatedRegion    string `xml:",omitempty"`
	TotalAuthenticatedEntities int
	TrackedActionsLastAccessed []actionXML `xml:"TrackedActionsLastAccessed>member,omitempty"`
}

type actionXML struct {
	ActionName         string
	LastAccessedEntity string `xml:",omitempty"`
	LastAccessedRegion string `xml:",omitempty"`
	LastAccessedTime   string `xml:",omitempty"`
}

// serviceEntries lists every service the entity's policies allow or it
// used, with its last authentication within the tracking period, sorted
// by namespace as IAM sorts them.
func serviceEntries(access []ServiceAccess, docs []string, actions bool, now time.Time, entity string) []serviceXML {
	byNS := map[string]ServiceAccess{}
	for _, sa := range access {
		byNS[sa.Namespace] = sa
	}
	var all []string
	for _, d := range docs {
		all = append(all, namespaces(d)...)
	}
	for ns := range byNS {
		all = append(all, ns)
	}
	sort.Strings(all)
	all = slices.Compact(all)
	out := make([]serviceXML, 0, len(all))
	for _, ns := range all {
		e := serviceXML{ServiceNamespace: ns, ServiceName: serviceNames[ns]}
		if e.ServiceName == "" {
			e.ServiceName = "AWS " + ns
		}
		sa := byNS[ns]
		if !sa.LastAuthenticated.IsZero() && now.Sub(sa.LastAuthenticated) <= TrackingPeriod {
			e.LastAuthenticated, e.LastAuthenticatedEntity, e.LastAuthenticatedRegion = isoTime(sa.LastAuthenticated), entity, sa.Region
			e.TotalAuthenticatedEntities = 1
		}
		if actions && actionTracked[ns] {
			e.TrackedActionsLastAccessed = trackedActions(sa, now, entity)
		}
		out = append(out, e)
	}
	return out
}

func trackedActions(sa ServiceAccess, now time.Time, entity string) []actionXML {
	names := make([]string, 0, len(sa.Actions))
	for n := range sa.Actions {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []actionXML
	for _, n := range names {
		t := sa.Actions[n]
		a := actionXML{ActionName: n}
		if !t.IsZero() && now.Sub(t) <= TrackingPeriod {
			a.LastAccessedTime, a.LastAccessedEntity, a.LastAccessedRegion = isoTime(t), entity, sa.Region
		}
		out = append(out, a)
	}
	return out
}

type getJobXML struct {
	JobStatus            string
	JobType              string
	JobCreationDate      string
	JobCompletionDate    string       `xml:",omitempty"`
	ServicesLastAccessed []serviceXML `xml:"ServicesLastAccessed>member"`
	IsTruncated          bool
	Marker               string `xml:",omitempty"`
}

// getJob answers GetServiceLastAccessedDetails: IN_PROGRESS (no
// services) until the job completes, then the services page by page.
func (s *Server) getJob(a *Account, f url.Values) (any, *apiError) {
	j, ok := s.jobs[f.Get("JobId")]
	if !ok || j.account != a.ID {
		return nil, errNoSuchEntity("The job with id %s cannot be found.", f.Get("JobId"))
	}
	if j.completed.IsZero() && j.rounds >= 0 && s.totalCalls(a.ID) >= j.seen+j.rounds {
		j.completed = s.now().UTC().Truncate(time.Second)
	}
	out := getJobXML{JobStatus: "IN_PROGRESS", JobType: j.granularity, JobCreationDate: isoTime(j.created)}
	if j.completed.IsZero() {
		return out, nil
	}
	out.JobStatus, out.JobCompletionDate = "COMPLETED", isoTime(j.completed)
	start, end, next, err := s.paginate(f.Get("Marker"), f.Get("MaxItems"), len(j.entries))
	if err != nil {
		return nil, err
	}
	out.ServicesLastAccessed = j.entries[start:end]
	out.IsTruncated, out.Marker = next != "", next
	return out, nil
}

type getPolicyXML struct {
	Policy struct {
		PolicyName       string
		Arn              string
		DefaultVersionId string
		AttachmentCount  int
	}
}

type getPolicyVersionXML struct {
	PolicyVersion struct {
		Document         string
		VersionId        string
		IsDefaultVersion bool
	}
}

// getPolicy serves the AWS managed policies of the seed and the
// account's customer managed ones (version v1).
func (s *Server) getPolicy(a *Account, action string, f url.Values) (any, *apiError) {
	p := f.Get("PolicyArn")
	doc, ok := s.awsManaged[p]
	for _, cp := range a.Policies {
		if arn(a.ID, "policy", cp.Path, cp.Name) == p {
			doc, ok = cp.Document, true
		}
	}
	if !ok {
		return nil, errNoSuchEntity("Policy %s does not exist or is not attachable.", p)
	}
	if action == "GetPolicy" {
		var out getPolicyXML
		out.Policy.PolicyName, out.Policy.Arn, out.Policy.DefaultVersionId, out.Policy.AttachmentCount = policyName(p), p, "v1", attachments(a, p)
		return out, nil
	}
	if f.Get("VersionId") != "v1" {
		return nil, errNoSuchEntity("Policy %s version %s does not exist.", p, f.Get("VersionId"))
	}
	var out getPolicyVersionXML
	out.PolicyVersion.Document, out.PolicyVersion.VersionId, out.PolicyVersion.IsDefaultVersion = encodeDoc(doc), "v1", true
	return out, nil
}

type attachedListXML struct {
	AttachedPolicies []attachedXML `xml:"AttachedPolicies>member"`
	IsTruncated      bool
}

// attachment attaches, detaches and lists the managed policies of a role
// or user. Attaching an attached policy succeeds (IAM is idempotent
// there); detaching one that is not attached is NoSuchEntity.
func (s *Server) attachment(a *Account, action string, f url.Values) (any, *apiError) {
	var list *[]string
	var name string
	if strings.Contains(action, "Role") {
		r := findRole(a, f.Get("RoleName"))
		if r == nil {
			return nil, errNoSuchEntity("The role with name %s cannot be found.", f.Get("RoleName"))
		}
		if strings.HasPrefix(r.Path, "/aws-service-role/") && !strings.HasPrefix(action, "List") {
			return nil, &apiError{http.StatusBadRequest, "UnmodifiableEntity", "Cannot perform the operation on the protected role '" + r.Name + "' - this role is only modifiable by AWS"}
		}
		list, name = &r.Attached, r.Name
	} else {
		u := findUser(a, f.Get("UserName"))
		if u == nil {
			return nil, errNoSuchEntity("The user with name %s cannot be found.", f.Get("UserName"))
		}
		list, name = &u.Attached, u.Name
	}
	p := f.Get("PolicyArn")
	switch {
	case strings.HasPrefix(action, "List"):
		return attachedListXML{AttachedPolicies: attached(*list)}, nil
	case strings.HasPrefix(action, "Attach"):
		if !slices.Contains(*list, p) {
			*list = append(*list, p)
		}
	default:
		i := slices.Index(*list, p)
		if i < 0 {
			return nil, errNoSuchEntity("Policy %s was not found on %s.", p, name)
		}
		*list = slices.Delete(*list, i, i+1)
	}
	return nil, nil
}

func copyAccess(l []ServiceAccess) []ServiceAccess {
	if l == nil {
		return nil
	}
	out := make([]ServiceAccess, len(l))
	for i, sa := range l {
		sa.Actions = maps(sa.Actions)
		out[i] = sa
	}
	return out
}

func maps(m map[string]time.Time) map[string]time.Time {
	if m == nil {
		return nil
	}
	out := make(map[string]time.Time, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
