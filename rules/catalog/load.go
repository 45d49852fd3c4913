package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io/fs"
	"strings"
	"time"
	"unicode"

	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

// Load reads a catalog from files and directories on disk. A directory
// contributes every *.yaml and *.yml file directly in it, sorted by name.
// now is the evaluation time: an exception may not expire later than now
// plus the maximum exception duration. Every problem in every file is
// returned at once as *Errors.
func Load(now time.Time, paths ...string) (*Catalog, error) {
	return load(osSource{}, now, paths)
}

// LoadFS is Load over an fs.FS; paths are fs.FS paths (slash-separated,
// unrooted).
func LoadFS(fsys fs.FS, now time.Time, paths ...string) (*Catalog, error) {
	return load(fsSource{fsys}, now, paths)
}

type loader struct {
	src   source
	now   time.Time
	errs  errorList
	files []string
	hash  hash.Hash

	defaults   *fileDefaults
	people     []personDef
	roles      []fileRole
	exceptions []fileException
	protected  []fileSelector
}

// personDef is a person with the positions of what must be checked once
// every file is read.
type personDef struct {
	p         nhi.Person
	at        pos // the id
	managerAt pos
	aliasAt   []pos
}

func load(src source, now time.Time, paths []string) (*Catalog, error) {
	l := &loader{src: src, now: now.UTC(), hash: sha256.New()}
	if len(paths) == 0 {
		l.errs.add(pos{File: "catalog"}, "no catalog files given")
	}
	seen := map[string]bool{}
	for _, p := range paths {
		for _, f := range l.expand(p) {
			if !seen[f] {
				seen[f] = true
				l.loadFile(f)
			}
		}
	}
	c := &Catalog{Files: l.files}
	c.Defaults = l.buildDefaults()
	c.People = l.buildPeople()
	c.Roles = l.buildRoles(c.People)
	c.Exceptions = l.buildExceptions(c.People, c.Roles, c.Defaults.MaxExceptionDuration)
	c.Protected = l.buildProtected(c.Roles)
	if len(l.errs.es) > 0 {
		es := sortErrors(l.errs.es)
		return nil, &es
	}
	c.Hash = hex.EncodeToString(l.hash.Sum(nil))
	return c, nil
}

// expand turns a path argument into the files it names.
func (l *loader) expand(p string) []string {
	dir, err := l.src.isDir(p)
	if err != nil {
		l.errs.add(pos{File: p}, "%s", pathErr(err))
		return nil
	}
	if !dir {
		return []string{p}
	}
	files, err := l.src.yamlFiles(p)
	if err != nil {
		l.errs.add(pos{File: p}, "%s", pathErr(err))
		return nil
	}
	if len(files) == 0 {
		l.errs.add(pos{File: p}, "directory holds no .yaml or .yml file")
	}
	return files
}

// read reads a file and adds it to the catalog's files and hash.
func (l *loader) read(name string, at pos) ([]byte, bool) {
	data, err := l.src.readFile(name)
	if err != nil {
		if at.File == "" {
			at = pos{File: name}
		}
		l.errs.add(at, "read %s: %s", name, pathErr(err))
		return nil, false
	}
	l.files = append(l.files, name)
	fmt.Fprintf(l.hash, "%s\x00%d\x00", l.src.base(name), len(data))
	l.hash.Write(data)
	return data, true
}

func (l *loader) loadFile(name string) {
	data, ok := l.read(name, pos{})
	if !ok {
		return
	}
	var doc fileDoc
	parseYAML(name, data, &doc, &l.errs)
	if doc.Defaults != nil {
		if l.defaults != nil {
			l.errs.add(doc.At("defaults"), "defaults already defined at %s; define them in one file only", l.defaults.P)
		} else {
			l.defaults = doc.Defaults
		}
	}
	for _, fp := range doc.People {
		if pd, ok := l.person(fp); ok {
			l.people = append(l.people, pd)
		}
	}
	if doc.PeopleCSV.Set {
		l.loadPeople(name, doc.PeopleCSV, "people_csv", parsePeopleCSV)
	}
	l.loadPeopleFiles(name, doc.PeopleFiles)
	l.roles = append(l.roles, doc.Roles...)
	l.exceptions = append(l.exceptions, doc.Exceptions...)
	l.protected = append(l.protected, doc.Protected...)
}

// ---- defaults ----

func (l *loader) buildDefaults() Defaults {
	d := DefaultDefaults
	d.OwnerTagKeys = append([]string(nil), DefaultDefaults.OwnerTagKeys...)
	fd := l.defaults
	if fd == nil {
		return d
	}
	for _, x := range []struct {
		s   str
		dst *time.Duration
	}{
		{fd.DormantAfter, &d.DormantAfter},
		{fd.MaxCredentialAge, &d.MaxCredentialAge},
		{fd.NeverUsedGrace, &d.NeverUsedGrace},
		{fd.ExpiringSoon, &d.ExpiringSoon},
		{fd.UsageFreshness, &d.UsageFreshness},
		{fd.MaxExceptionDuration, &d.MaxExceptionDuration},
		{fd.UnusedWindow, &d.UnusedWindow},
		{fd.UnusedGrantGrace, &d.UnusedGrantGrace},
	} {
		if v, ok := l.duration(x.s); ok && x.s.Set {
			*x.dst = v
		}
	}
	if fd.Has("owner_tag_keys") {
		d.OwnerTagKeys = []string{}
		seen := map[string]bool{}
		for _, k := range fd.OwnerTagKeys {
			switch {
			case strings.TrimSpace(k.V) == "":
				l.errs.add(k.P, "owner tag key must not be empty")
			case seen[k.V]:
				l.errs.add(k.P, "duplicate owner tag key %q", k.V)
			default:
				seen[k.V] = true
				d.OwnerTagKeys = append(d.OwnerTagKeys, k.V)
			}
		}
	}
	for _, e := range fd.Severity {
		if _, ok := rules.Lookup(e.Key.V); !ok {
			l.errs.add(e.Key.P, "severity override for unknown rule %q", e.Key.V)
			continue
		}
		sev, ok := l.severity(e.Val)
		if !ok {
			continue
		}
		if d.Severity == nil {
			d.Severity = map[string]nhi.Severity{}
		}
		d.Severity[e.Key.V] = sev
	}
	return d
}

func (l *loader) severity(s str) (nhi.Severity, bool) {
	for _, v := range nhi.Severities {
		if string(v) == s.V {
			return v, true
		}
	}
	l.errs.add(s.P, "unknown severity %q (use info, low, medium, high or critical)", s.V)
	return "", false
}

// duration parses an optional positive duration; ok is false after an error.
func (l *loader) duration(s str) (time.Duration, bool) {
	if !s.Set {
		return 0, true
	}
	d, err := duration.Parse(s.V)
	if err != nil {
		l.errs.add(s.P, "%v", err)
		return 0, false
	}
	if d <= 0 {
		l.errs.add(s.P, "duration %q must be positive", s.V)
		return 0, false
	}
	return d, true
}

// where is a value's position, else its mapping's.
func where(s str, m meta) pos {
	if s.P.Line != 0 {
		return s.P
	}
	return m.P
}

// parseDate parses "2006-01-02" (midnight UTC) or an RFC 3339 time.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("bad date %q (use YYYY-MM-DD or RFC 3339)", s)
}

// ---- people ----

// normEmail lower-cases an email and reports whether it looks like one.
func normEmail(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 || strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return s, false
	}
	return s, true
}

func (l *loader) person(fp filePerson) (personDef, bool) {
	pd := personDef{at: fp.P}
	ok := true
	if !fp.ID.Set {
		if fp.Absent("id") {
			l.errs.add(fp.P, "person has no id (their email address)")
		}
		ok = false
	} else if id, valid := normEmail(fp.ID.V); !valid {
		l.errs.add(fp.ID.P, "person id %q is not an email address", fp.ID.V)
		ok = false
	} else {
		pd.p.ID, pd.at = id, fp.ID.P
	}
	pd.p.Name = fp.Name.V
	pd.p.Team = fp.Team.V
	switch {
	case fp.Bad["status"]:
	case !fp.Status.Set:
		l.errs.add(where(fp.Status, fp.meta), "person has no status (active or departed)")
	case fp.Status.V == nhi.PersonActive || fp.Status.V == nhi.PersonDeparted:
		pd.p.Status = fp.Status.V
	default:
		l.errs.add(fp.Status.P, "unknown person status %q (use active or departed)", fp.Status.V)
	}
	switch {
	case fp.Departed.Set && pd.p.Status == nhi.PersonActive:
		l.errs.add(fp.Departed.P, "departed date given for an active person")
	case fp.Departed.Set:
		t, err := parseDate(fp.Departed.V)
		if err != nil {
			l.errs.add(fp.Departed.P, "%v", err)
		}
		pd.p.Departed = t
	case pd.p.Status == nhi.PersonDeparted && !fp.Bad["departed"]:
		l.errs.add(where(fp.Departed, fp.meta), "departed person has no departed date")
	}
	if fp.Manager.Set {
		pd.p.Manager = strings.ToLower(strings.TrimSpace(fp.Manager.V))
		pd.managerAt = fp.Manager.P
	}
	for _, a := range fp.Aliases {
		v := strings.ToLower(strings.TrimSpace(a.V))
		if v == "" {
			l.errs.add(a.P, "alias must not be empty")
			continue
		}
		pd.p.Aliases = append(pd.p.Aliases, v)
		pd.aliasAt = append(pd.aliasAt, a.P)
	}
	return pd, ok
}

func (l *loader) buildPeople() map[string]nhi.Person {
	people := make(map[string]nhi.Person, len(l.people))
	first := map[string]pos{}
	aliasOwner := map[string]string{}
	for _, pd := range l.people {
		if fp, dup := first[pd.p.ID]; dup {
			l.errs.add(pd.at, "duplicate person id %q (first defined at %s)", pd.p.ID, fp)
			continue
		}
		first[pd.p.ID] = pd.at
		for i, a := range pd.p.Aliases {
			if o, taken := aliasOwner[a]; taken && o != pd.p.ID {
				l.errs.add(pd.aliasAt[i], "alias %q already belongs to %s", a, o)
				continue
			}
			aliasOwner[a] = pd.p.ID
		}
		people[pd.p.ID] = pd.p
	}
	for _, pd := range l.people {
		if pd.p.Manager == "" {
			continue
		}
		if pd.p.Manager == pd.p.ID {
			l.errs.add(pd.managerAt, "person %q is their own manager", pd.p.ID)
		} else if _, ok := people[pd.p.Manager]; !ok {
			l.errs.add(pd.managerAt, "manager %q is not a known person", pd.p.Manager)
		}
	}
	return people
}

// personRef checks a reference to a person and returns it normalised.
func (l *loader) personRef(people map[string]nhi.Person, s str, what string) string {
	id := strings.ToLower(strings.TrimSpace(s.V))
	if _, ok := people[id]; !ok {
		l.errs.add(s.P, "%s %q is not a known person", what, s.V)
	}
	return id
}

// ---- roles ----

func validID(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) < 0
}

// checkID validates an id and reports duplicates of the kind named what.
func (l *loader) checkID(s str, m meta, what string, first map[string]pos) bool {
	switch {
	case !s.Set:
		if m.Absent("id") {
			l.errs.add(m.P, "%s has no id", what)
		}
		return false
	case !validID(s.V):
		l.errs.add(s.P, "%s id %q must be non-empty without spaces", what, s.V)
		return false
	}
	if fp, dup := first[s.V]; dup {
		l.errs.add(s.P, "duplicate %s id %q (first defined at %s)", what, s.V, fp)
		return false
	}
	first[s.V] = s.P
	return true
}

func (l *loader) buildRoles(people map[string]nhi.Person) []Role {
	var roles []Role
	first := map[string]pos{}
	for _, fr := range l.roles {
		idOK := l.checkID(fr.ID, fr.meta, "role", first)
		r := Role{ID: fr.ID.V, Purpose: fr.Purpose.V, Team: fr.Team.V, Pos: fr.P.String()}
		if strings.TrimSpace(fr.Purpose.V) == "" && !fr.Bad["purpose"] {
			l.errs.add(fr.At("purpose"), "role %q has no purpose", fr.ID.V)
		}
		if fr.Absent("business_owner") {
			l.errs.add(fr.At("business_owner"), "role %q has no business_owner (an accountable person)", fr.ID.V)
		} else if fr.BusinessOwner.Set {
			r.BusinessOwner = l.personRef(people, fr.BusinessOwner, "business_owner")
		}
		if fr.TechnicalOwner.Set {
			r.TechnicalOwner = strings.TrimSpace(fr.TechnicalOwner.V)
			if strings.Contains(r.TechnicalOwner, "@") {
				r.TechnicalOwner = l.personRef(people, fr.TechnicalOwner, "technical_owner")
			} else if r.TechnicalOwner == "" {
				l.errs.add(fr.TechnicalOwner.P, "technical_owner must name a person or a team")
			}
		}
		for _, fe := range fr.Allowed {
			if e, ok := l.entitlement(fe); ok {
				r.Allowed = append(r.Allowed, e)
			}
		}
		r.Credentials = l.credentials(fr.Credentials)
		r.Protected = fr.Protected != nil && *fr.Protected
		if len(fr.Members) == 0 && !fr.Bad["members"] {
			l.errs.add(fr.At("members"), "role %q has no members selectors, so it maps no identity", fr.ID.V)
		}
		for _, fs := range fr.Members {
			if s, ok := l.selector(fs, "member selector", nil); ok {
				r.Members = append(r.Members, s)
			}
		}
		if idOK {
			roles = append(roles, r)
		}
	}
	return roles
}

func (l *loader) provider(s str) (nhi.Provider, bool) {
	p := nhi.Provider(s.V)
	if !p.Valid() {
		l.errs.add(s.P, "unknown provider %q (use aws, azure, gcp or github)", s.V)
		return "", false
	}
	return p, true
}

func (l *loader) glob(s str, what string) bool {
	if !ValidGlob(s.V) {
		l.errs.add(s.P, "bad %s glob %q: only * and ? are special; [ ] { } and \\ are not allowed", what, s.V)
		return false
	}
	return true
}

func (l *loader) entitlement(fe fileEntitlement) (Entitlement, bool) {
	ok := true
	var e Entitlement
	if !fe.Provider.Set {
		if fe.Absent("provider") {
			l.errs.add(fe.At("provider"), "allowed entitlement has no provider")
		}
		ok = false
	} else if p, good := l.provider(fe.Provider); good {
		e.Provider = p
	} else {
		ok = false
	}
	if !fe.Entitlement.Set || fe.Entitlement.V == "" {
		if !fe.Bad["entitlement"] {
			l.errs.add(fe.At("entitlement"), "allowed entitlement has no entitlement pattern")
		}
		ok = false
	} else if l.glob(fe.Entitlement, "entitlement") {
		e.Pattern = fe.Entitlement.V
	} else {
		ok = false
	}
	if fe.Scope.Set {
		ok = l.glob(fe.Scope, "scope") && ok
		e.Scope = fe.Scope.V
	}
	e.Privileged = fe.Privileged != nil && *fe.Privileged
	return e, ok
}

func (l *loader) credentials(fc *fileCredentials) CredentialPolicy {
	cp := CredentialPolicy{StaticKeysAllowed: true}
	if fc == nil {
		return cp
	}
	cp.MaxAge, _ = l.duration(fc.MaxAge)
	cp.DormantAfter, _ = l.duration(fc.DormantAfter)
	cp.ExpiryRequired = fc.ExpiryRequired != nil && *fc.ExpiryRequired
	cp.RequireWorkloadIdentity = fc.WorkloadIdentityRequired != nil && *fc.WorkloadIdentityRequired
	cp.StaticKeysAllowed = !cp.RequireWorkloadIdentity
	if fc.StaticKeys != nil {
		if *fc.StaticKeys && cp.RequireWorkloadIdentity {
			l.errs.add(fc.At("static_keys"), "static_keys: true contradicts workload_identity_required: true")
		}
		cp.StaticKeysAllowed = *fc.StaticKeys && !cp.RequireWorkloadIdentity
	}
	if fc.MaxActiveKeys != nil {
		if *fc.MaxActiveKeys < 1 {
			l.errs.add(fc.At("max_active_keys"), "max_active_keys must be at least 1 (use static_keys: false to allow none)")
		} else {
			cp.MaxActiveKeys = *fc.MaxActiveKeys
		}
	}
	return cp
}

// selector validates a selector. roles are the catalog's role ids when the
// selector may name a role (an exception's), nil when it may not (a role's
// members).
func (l *loader) selector(fs fileSelector, what string, roles map[string]bool) (Selector, bool) {
	s := Selector{Scope: fs.Scope.V, Name: fs.Name.V, ID: fs.ID.V}
	ok := l.selectorRole(fs, what, roles, &s)
	if fs.Provider.Set {
		p, good := l.provider(fs.Provider)
		s.Provider, ok = p, good && ok
	}
	ok = l.selectorKind(fs, &s) && ok
	if fs.Scope.Set {
		ok = l.glob(fs.Scope, "scope") && ok
	}
	if fs.Name.Set {
		ok = l.glob(fs.Name, "name") && ok
	}
	ok = l.selectorID(fs, &s) && ok
	for _, e := range fs.Tags {
		if e.Key.V == "" {
			l.errs.add(e.Key.P, "tag key must not be empty")
			ok = false
			continue
		}
		if s.Tags == nil {
			s.Tags = map[string]string{}
		}
		s.Tags[e.Key.V] = e.Val.V
	}
	wild := func(g string) bool { return strings.Trim(g, "*") == "" }
	if len(fs.Bad) == 0 && !fs.Provider.Set && !fs.Kind.Set && !fs.ID.Set && !fs.Role.Set && len(fs.Tags) == 0 && wild(fs.Scope.V) && wild(fs.Name.V) {
		l.errs.add(fs.P, "empty %s would match every identity; set provider, scope, kind, name, id or tags", what)
		ok = false
	}
	return s, ok
}

// selectorRole checks the selector's role: allowed only where roles is
// given (an exception's selector), and one of them.
func (l *loader) selectorRole(fs fileSelector, what string, roles map[string]bool, s *Selector) bool {
	switch {
	case !fs.Role.Set:
	case roles == nil:
		l.errs.add(fs.Role.P, "role is not allowed in a %s (a role cannot select by role; use it in an exception's selector)", what)
		return false
	case !roles[fs.Role.V]:
		l.errs.add(fs.Role.P, "unknown role %q", fs.Role.V)
		return false
	default:
		s.Role = fs.Role.V
	}
	return true
}

// selectorKind checks the identity kind, which implies its provider.
func (l *loader) selectorKind(fs fileSelector, s *Selector) bool {
	if !fs.Kind.Set {
		return true
	}
	k := nhi.IdentityKind(fs.Kind.V)
	kp, known := nhi.IdentityKinds[k]
	switch {
	case !known:
		l.errs.add(fs.Kind.P, "unknown identity kind %q", fs.Kind.V)
		return false
	case s.Provider != "" && kp != s.Provider:
		l.errs.add(fs.Kind.P, "identity kind %q belongs to provider %s, not %s", fs.Kind.V, kp, s.Provider)
		return false
	}
	s.Kind = k
	if !fs.Provider.Set {
		s.Provider = kp
	}
	return true
}

// selectorID checks an exact identity id, whose prefix is its provider.
func (l *loader) selectorID(fs fileSelector, s *Selector) bool {
	if !fs.ID.Set {
		return true
	}
	prefix, _, found := strings.Cut(fs.ID.V, ":")
	switch {
	case !found || !nhi.Provider(prefix).Valid():
		l.errs.add(fs.ID.P, "identity id %q must start with a provider (aws:, azure:, gcp: or github:)", fs.ID.V)
		return false
	case s.Provider != "" && nhi.Provider(prefix) != s.Provider:
		l.errs.add(fs.ID.P, "identity id %q does not belong to provider %s", fs.ID.V, s.Provider)
		return false
	}
	s.Provider = nhi.Provider(prefix)
	return true
}

// buildProtected validates the protected selectors, which may name a role
// like an exception's.
func (l *loader) buildProtected(roles []Role) []Selector {
	roleIDs := make(map[string]bool, len(roles))
	for _, r := range roles {
		roleIDs[r.ID] = true
	}
	var out []Selector
	for _, fs := range l.protected {
		if s, ok := l.selector(fs, "protected selector", roleIDs); ok {
			out = append(out, s)
		}
	}
	return out
}

// ---- exceptions ----

func (l *loader) buildExceptions(people map[string]nhi.Person, roles []Role, maxDur time.Duration) []Exception {
	roleIDs := make(map[string]bool, len(roles))
	for _, r := range roles {
		roleIDs[r.ID] = true
	}
	var out []Exception
	first := map[string]pos{}
	for _, fe := range l.exceptions {
		idOK := l.checkID(fe.ID, fe.meta, "exception", first)
		e := Exception{ID: fe.ID.V, Rule: fe.Rule.V, Reason: fe.Reason.V, Pos: fe.P.String()}
		if fe.Absent("rule") {
			l.errs.add(fe.At("rule"), "exception %q has no rule", fe.ID.V)
		} else if _, ok := rules.Lookup(fe.Rule.V); !ok && fe.Rule.Set {
			l.errs.add(fe.Rule.P, "unknown rule %q", fe.Rule.V)
		}
		if fe.Absent("selector") {
			l.errs.add(fe.At("selector"), "exception %q has no selector", fe.ID.V)
		} else if fe.Selector != nil {
			e.Selector, _ = l.selector(*fe.Selector, "selector", roleIDs)
		}
		if strings.TrimSpace(fe.Reason.V) == "" && !fe.Bad["reason"] {
			l.errs.add(fe.At("reason"), "exception %q has no reason", fe.ID.V)
		}
		if fe.Absent("approved_by") {
			l.errs.add(fe.At("approved_by"), "exception %q has no approved_by (a person)", fe.ID.V)
		} else if fe.ApprovedBy.Set {
			e.ApprovedBy = l.personRef(people, fe.ApprovedBy, "approved_by")
		}
		switch t, err := parseDate(fe.Expires.V); {
		case fe.Absent("expires"):
			l.errs.add(fe.At("expires"), "exception %q has no expires date; every exception must expire", fe.ID.V)
		case !fe.Expires.Set:
			// Malformed, already reported.
		case err != nil:
			l.errs.add(fe.Expires.P, "%v", err)
		default:
			e.Expires = t
			if latest := l.now.Add(maxDur); t.After(latest) {
				l.errs.add(fe.Expires.P, "exception expires %s, beyond the maximum exception duration of %s (latest allowed %s)",
					fe.Expires.V, duration.Format(maxDur), latest.Format(time.RFC3339))
			}
		}
		if idOK {
			out = append(out, e)
		}
	}
	return out
}
