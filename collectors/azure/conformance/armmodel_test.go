package conformance

import (
	"encoding/json"
	"fmt"
	"sort"
)

// armRoundTrip decodes an ARM body with an SDK model (model is a pointer
// to it) and encodes it again. The generated serde knows exactly the
// properties of the REST specification: one it drops is one the
// specification lacks.
func armRoundTrip(body []byte, model any) (map[string]any, error) {
	if err := json.Unmarshal(body, model); err != nil {
		return nil, fmt.Errorf("the SDK model does not decode it: %w", err)
	}
	b, err := json.Marshal(model)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(b, &out)
}

// armMissing lists the properties of got (with a non-null value) that the
// round trip through the SDK model dropped.
func armMissing(path string, got, kept any) []string {
	var out []string
	switch g := got.(type) {
	case map[string]any:
		k, _ := kept.(map[string]any)
		keys := make([]string, 0, len(g))
		for key := range g {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			if g[key] == nil {
				continue
			}
			kv, ok := k[key]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: not in the SDK model", path, key))
				continue
			}
			out = append(out, armMissing(path+"."+key, g[key], kv)...)
		}
	case []any:
		k, _ := kept.([]any)
		for i, v := range g {
			if i >= len(k) {
				out = append(out, fmt.Sprintf("%s[%d]: dropped by the SDK model", path, i))
				continue
			}
			out = append(out, armMissing(fmt.Sprintf("%s[%d]", path, i), v, k[i])...)
		}
	}
	return out
}
