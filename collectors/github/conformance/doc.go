// Package conformance holds the GitHub collector's conformance tests
// against GitHub's official REST description, offline:
//
//   - TestCollectorAgainstPrism drives the real collector (and its
//     credential controls' reads) against Stoplight Prism serving the
//     GitHub Enterprise Cloud description (npm @octokit/openapi, its ghec
//     variant, which has the SAML credential authorisations), through a
//     small reverse proxy that maps go-github's Accept header, which Prism
//     refuses with 406, and records Prism's validation verdicts;
//   - TestFakeAgainstDescription checks every answer githubfake gives the
//     collector against the description's response schema: a field the
//     description lacks, or a value of another JSON type, fails.
//
// The GraphQL query is checked against GitHub's GraphQL schema (npm
// @octokit/graphql-schema) by TestGraphQLQueryAgainstSchema in the
// collector's own package, which alone sees the query.
//
// The npm packages are pinned in package.json and package-lock.json here;
// `npm ci` in this folder (`make conformance` runs it) installs them. The
// tests skip, saying why, when node or the packages are missing, except in
// CI (CI set), where that is a failure.
package conformance
