package awsfake

import (
	"cmp"
	"fmt"
	"net/http"
	"strings"
	"time"
)

type assumeRoleXML struct {
	Credentials struct {
		AccessKeyId     string
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	AssumedRoleUser struct {
		AssumedRoleId string
		Arn           string
	}
}

type callerXML struct {
	UserId  string
	Account string
	Arn     string
}

func (s *Server) sts(req request) (any, *apiError) {
	switch req.action {
	case "GetCallerIdentity":
		return callerXML{UserId: "AIDAFAKECALLER", Account: req.caller, Arn: "arn:aws:iam::" + req.caller + ":user/nhiscan"}, nil
	case "AssumeRole":
		roleARN := req.form.Get("RoleArn")
		acct, name, ok := parseRoleARN(roleARN)
		if !ok {
			return nil, errInvalid("RoleArn %q is not a role ARN", roleARN)
		}
		a := s.accounts[acct]
		if a == nil || (a.State != "" && a.State != "ACTIVE") {
			return nil, errDenied(req.caller, "sts:AssumeRole", roleARN)
		}
		r := findRole(a, name)
		if r == nil || (r.ExternalID != "" && r.ExternalID != req.form.Get("ExternalId")) {
			return nil, errDenied(req.caller, "sts:AssumeRole", roleARN)
		}
		s.nextSess++
		out := assumeRoleXML{}
		out.Credentials.AccessKeyId = fmt.Sprintf("ASIA%012s%04X", acct, s.nextSess)
		out.Credentials.SecretAccessKey = fmt.Sprintf("fake-session-secret-%d", s.nextSess)
		out.Credentials.SessionToken = fmt.Sprintf("fake-session-token-%d", s.nextSess)
		out.Credentials.Expiration = isoTime(time.Now().Add(time.Hour)) // the SDK checks expiry against the real clock
		out.AssumedRoleUser.AssumedRoleId = r.ID + ":" + req.form.Get("RoleSessionName")
		out.AssumedRoleUser.Arn = "arn:aws:sts::" + acct + ":assumed-role/" + r.Name + "/" + req.form.Get("RoleSessionName")
		s.sessions[out.Credentials.AccessKeyId] = acct
		return out, nil
	}
	return nil, &apiError{http.StatusBadRequest, "InvalidAction", "The action " + req.action + " is not valid for this web service."}
}

type orgAccountJSON struct {
	Id              string
	Arn             string
	Email           string
	Name            string
	Status          string
	State           string
	JoinedMethod    string
	JoinedTimestamp float64
}

func (s *Server) orgs(req request) (any, *apiError) {
	if req.action != "ListAccounts" {
		return nil, &apiError{http.StatusBadRequest, "InvalidInputException", "unsupported operation " + req.action}
	}
	if req.caller != s.management {
		return nil, &apiError{http.StatusBadRequest, "AccessDeniedException", "You don't have permissions to access this resource."}
	}
	size := min(cmp.Or(s.PageSize(), DefaultPageSize), orgPageCap)
	if m, ok := req.json["MaxResults"].(float64); ok {
		if m < 1 || m > orgPageCap {
			return nil, &apiError{http.StatusBadRequest, "InvalidInputException", "MaxResults out of range"}
		}
		size = min(size, int(m))
	}
	start := 0
	if tok, _ := req.json["NextToken"].(string); tok != "" {
		if _, err := fmt.Sscanf(tok, "fake-token-%d", &start); err != nil || start < 0 || start > len(s.order) {
			return nil, &apiError{http.StatusBadRequest, "InvalidInputException", "invalid NextToken"}
		}
	}
	end := min(start+size, len(s.order))
	out := struct {
		Accounts  []orgAccountJSON
		NextToken string `json:",omitempty"`
	}{Accounts: []orgAccountJSON{}}
	for _, id := range s.order[start:end] {
		a := s.accounts[id]
		state := a.State
		if state == "" {
			state = "ACTIVE"
		}
		st := state
		if strings.HasPrefix(state, "PENDING") || state == "CLOSED" {
			st = "PENDING_CLOSURE"
		}
		out.Accounts = append(out.Accounts, orgAccountJSON{
			Id: a.ID, Arn: "arn:aws:organizations::" + s.management + ":account/o-fake/" + a.ID, Email: a.Email, Name: a.Name,
			Status: st, State: state, JoinedMethod: "CREATED", JoinedTimestamp: float64(a.Joined.Unix()),
		})
	}
	if end < len(s.order) {
		out.NextToken = fmt.Sprintf("fake-token-%d", end)
	}
	return out, nil
}
