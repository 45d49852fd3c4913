package catalog

// The catalog file format: what a YAML file may say, key by key. These
// structs hold raw values with positions; load.go validates them into the
// Catalog types. docs/catalog.md documents every key.

type fileDoc struct {
	meta
	Defaults  *fileDefaults `yaml:"defaults" what:"defaults"`
	People    []filePerson  `yaml:"people" what:"person"`
	PeopleCSV str           `yaml:"people_csv"`
	// PeopleFiles are HR CSV and SCIM JSON exports (peoplejson.go).
	PeopleFiles []str           `yaml:"people_files" what:"people file"`
	Roles       []fileRole      `yaml:"roles" what:"role"`
	Exceptions  []fileException `yaml:"exceptions" what:"exception"`
	// Protected selects identities the revocation workflow never touches.
	Protected []fileSelector `yaml:"protected" what:"protected selector"`
}

type fileDefaults struct {
	meta
	DormantAfter         str    `yaml:"dormant_after"`
	MaxCredentialAge     str    `yaml:"max_credential_age"`
	NeverUsedGrace       str    `yaml:"never_used_grace"`
	ExpiringSoon         str    `yaml:"expiring_soon"`
	UsageFreshness       str    `yaml:"usage_freshness"`
	MaxExceptionDuration str    `yaml:"max_exception_duration"`
	UnusedWindow         str    `yaml:"unused_window"`
	UnusedGrantGrace     str    `yaml:"unused_grant_grace"`
	OwnerTagKeys         []str  `yaml:"owner_tag_keys"`
	Severity             strMap `yaml:"severity" what:"severity overrides"`
}

type filePerson struct {
	meta
	ID       str   `yaml:"id"`
	Name     str   `yaml:"name"`
	Status   str   `yaml:"status"`
	Departed str   `yaml:"departed"`
	Manager  str   `yaml:"manager"`
	Team     str   `yaml:"team"`
	Aliases  []str `yaml:"aliases"`
}

type fileRole struct {
	meta
	ID             str               `yaml:"id"`
	Purpose        str               `yaml:"purpose"`
	BusinessOwner  str               `yaml:"business_owner"`
	TechnicalOwner str               `yaml:"technical_owner"`
	Team           str               `yaml:"team"`
	Allowed        []fileEntitlement `yaml:"allowed" what:"allowed entitlement"`
	Credentials    *fileCredentials  `yaml:"credentials" what:"credentials"`
	Members        []fileSelector    `yaml:"members" what:"member selector"`
	// Protected: the revocation workflow never touches the role's members.
	Protected *bool `yaml:"protected"`
}

type fileEntitlement struct {
	meta
	Provider    str   `yaml:"provider"`
	Entitlement str   `yaml:"entitlement"`
	Scope       str   `yaml:"scope"`
	Privileged  *bool `yaml:"privileged"`
}

type fileCredentials struct {
	meta
	MaxAge                   str   `yaml:"max_age"`
	ExpiryRequired           *bool `yaml:"expiry_required"`
	DormantAfter             str   `yaml:"dormant_after"`
	StaticKeys               *bool `yaml:"static_keys"`
	WorkloadIdentityRequired *bool `yaml:"workload_identity_required"`
	MaxActiveKeys            *int  `yaml:"max_active_keys"`
}

type fileSelector struct {
	meta
	Provider str    `yaml:"provider"`
	Scope    str    `yaml:"scope"`
	Kind     str    `yaml:"kind"`
	Name     str    `yaml:"name"`
	ID       str    `yaml:"id"`
	Tags     strMap `yaml:"tags" what:"tags"`
	// Role is allowed in exception selectors only.
	Role str `yaml:"role"`
}

type fileException struct {
	meta
	ID         str           `yaml:"id"`
	Rule       str           `yaml:"rule"`
	Selector   *fileSelector `yaml:"selector" what:"selector"`
	Reason     str           `yaml:"reason"`
	ApprovedBy str           `yaml:"approved_by"`
	Expires    str           `yaml:"expires"`
}
