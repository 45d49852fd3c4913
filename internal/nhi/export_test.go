package nhi

// SetMaxInventorySize lowers the size limit for a test and returns a
// function that restores it.
func SetMaxInventorySize(n int) (restore func()) {
	old := maxInventorySize
	maxInventorySize = n
	return func() { maxInventorySize = old }
}
