// Package nhi is the provider-neutral domain model of nhiscan: identities,
// credentials, grants, usage facts, coverage gaps, people and findings.
//
// It imports the standard library only. Every other package speaks in these
// types: collectors produce an Inventory, the analyzer turns an Inventory and a
// catalog into Findings, the store and the reports persist and print them.
//
// Identities are keyed by the provider's immutable id (AWS AIDA…/AROA…, GCP
// uniqueId, Entra object id, GitHub numeric id), never by name, so a rename is
// not drift. Secret values are never part of the model: a Credential carries
// metadata only.
package nhi
