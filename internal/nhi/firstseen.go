package nhi

// StampFirstSeen sets each grant's FirstSeen in cur: the earliest time a
// scan is known to have seen it. A grant the previous inventory held (same
// identity and grant id) keeps the previous FirstSeen (or, for an
// inventory written before first_seen, the previous creation or
// collection time); any other grant was first seen now (cur.CollectedAt).
// A grant that comes and goes starts again: only an unbroken run of scans
// vouches for its age. prev may be nil (a first scan).
func StampFirstSeen(cur, prev *Inventory) {
	var byID map[string]*Identity
	if prev != nil {
		byID = make(map[string]*Identity, len(prev.Identities))
		for i := range prev.Identities {
			byID[prev.Identities[i].ID] = &prev.Identities[i]
		}
	}
	for i := range cur.Identities {
		id := &cur.Identities[i]
		p := byID[id.ID]
		for j := range id.Grants {
			g := &id.Grants[j]
			if !g.FirstSeen.IsZero() {
				continue
			}
			g.FirstSeen = cur.CollectedAt
			if p == nil {
				continue
			}
			for k := range p.Grants {
				if pg := &p.Grants[k]; pg.ID == g.ID {
					switch {
					case !pg.FirstSeen.IsZero():
						g.FirstSeen = pg.FirstSeen
					case !pg.Created.IsZero():
						g.FirstSeen = pg.Created
					default:
						g.FirstSeen = prev.CollectedAt
					}
					break
				}
			}
		}
	}
}
