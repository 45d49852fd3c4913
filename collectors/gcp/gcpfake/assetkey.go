package gcpfake

import (
	"encoding/json"

	iam "google.golang.org/api/iam/v1"
)

// AssetKeyFields says how Cloud Asset's resource data renders a service
// account key's state: its disabled flag, disable reason and extended
// status. The Asset API describes the data as the resource "in which some
// sensitive fields are removed and may not be present"; which of these it
// keeps is not documented.
type AssetKeyFields int

const (
	// KeyFieldsAsIAM renders the key as IAM's JSON does: false and empty
	// values left out (an enabled key has no "disabled", a key never found
	// exposed no "extendedStatus"). The default.
	KeyFieldsAsIAM AssetKeyFields = iota
	// KeyFieldsExplicit names every state field, false and empty included.
	KeyFieldsExplicit
	// KeyFieldsRemoved removes the three fields, whatever the key's state.
	KeyFieldsRemoved
)

// SetAssetKeyFields sets how asset data renders keys' state.
func (s *Server) SetAssetKeyFields(f AssetKeyFields) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.assetKeyFields = f
}

// assetKeyData is a key's asset resource data.
func assetKeyData(k *iam.ServiceAccountKey, f AssetKeyFields) []byte {
	data, _ := json.Marshal(k)
	if f == KeyFieldsAsIAM {
		return data
	}
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	switch f {
	case KeyFieldsExplicit:
		m["disabled"] = k.Disabled
		if _, ok := m["extendedStatus"]; !ok {
			m["extendedStatus"] = []any{}
		}
	case KeyFieldsRemoved:
		delete(m, "disabled")
		delete(m, "disableReason")
		delete(m, "extendedStatus")
	}
	data, _ = json.Marshal(m)
	return data
}
