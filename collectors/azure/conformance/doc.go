// Package conformance checks the azure collector's fake against the
// official descriptions of the APIs it imitates, offline:
//
//   - Microsoft Graph: every JSON body azurefake sends (and every body the
//     collector and the controls send) is walked with Graph's metadata, as
//     Microsoft publishes it in the npm packages
//     @microsoft/microsoft-graph-types (v1.0) and
//     @microsoft/microsoft-graph-types-beta (beta): TypeScript interfaces
//     generated from the CSDL, one per entity and complex type, with their
//     properties, types and base types. A property the entity type lacks,
//     or a value of the wrong JSON kind, fails the test. The fake's $select
//     tables are checked the same way. The packages are pinned in
//     package.json and package-lock.json here; install them with npm ci.
//   - Azure Resource Manager: every ARM body is decoded with the model type
//     of the SDK module the collector uses (armsubscriptions,
//     armauthorization, armmsi), whose generated serde is the Go form of the
//     REST specification, and encoded again: a property the model drops is
//     one the specification lacks, and fails the test.
//
// The package holds only this documentation and the tests.
package conformance
