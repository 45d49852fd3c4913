//go:build unix

package store_test

// The process tests (a second writer in another process, a writer killed
// mid-scan) are part of the conformance suite where they run: on Unix.
func init() {
	conformance = append(conformance,
		conformanceTest{"SecondWriterInAnotherProcess", TestSecondWriterInAnotherProcess},
		conformanceTest{"Kill9MidScanLeavesDatabaseConsistent", TestKill9MidScanLeavesDatabaseConsistent},
	)
}
