package analyzer

// SetMinShard lowers the size below which identities are not split into
// shards, so a small organisation exercises several; it returns the
// function that restores it.
func SetMinShard(n int) (restore func()) {
	old := minShard
	minShard = n
	return func() { minShard = old }
}
