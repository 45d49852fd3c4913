package awsfake

// keyLastUsedXML is GetAccessKeyLastUsed's AccessKeyLastUsed: for a key
// never used, IAM answers Region and ServiceName "N/A" and no date.
type keyLastUsedXML struct {
	LastUsedDate string `xml:",omitempty"`
	ServiceName  string
	Region       string
}

type getKeyLastUsedXML struct {
	UserName          string
	AccessKeyLastUsed keyLastUsedXML
}

// accessKeyLastUsed answers GetAccessKeyLastUsed: the one key's last use,
// whichever user holds it in the account.
func accessKeyLastUsed(a *Account, keyID string) (any, *apiError) {
	for _, u := range a.Users {
		for _, k := range u.AccessKeys {
			if k.ID != keyID {
				continue
			}
			out := getKeyLastUsedXML{UserName: u.Name, AccessKeyLastUsed: keyLastUsedXML{ServiceName: "N/A", Region: "N/A"}}
			if !k.LastUsed.IsZero() {
				out.AccessKeyLastUsed = keyLastUsedXML{LastUsedDate: isoTime(k.LastUsed), ServiceName: orNA(k.LastUsedService), Region: orNA(k.LastUsedRegion)}
			}
			return out, nil
		}
	}
	return nil, errNoSuchEntity("The Access Key with id %s cannot be found.", keyID)
}
