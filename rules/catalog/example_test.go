package catalog_test

import (
	"errors"
	"fmt"
	"testing/fstest"
	"time"

	"github.com/nhiscan/nhiscan/rules/catalog"
)

func ExampleLoadFS() {
	fsys := fstest.MapFS{"catalog.yaml": {Data: []byte(`
people:
  - { id: liam@acme.example, status: active }
roles:
  - id: payments-ci
    purpose: Deploys payments from CI
    business_owner: liam@acme.example
    members:
      - { provider: aws, name: "payments-*" }
exceptions:
  - id: EX-1
    rule: privileged-grant
    selector: { provider: aws, name: "payments-*" }
    reason: migration
    approved_by: mallory@acme.example
`)}}
	now := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	_, err := catalog.LoadFS(fsys, now, "catalog.yaml")
	var errs *catalog.Errors
	if errors.As(err, &errs) {
		fmt.Println(errs)
	}
	// Output:
	// catalog.yaml:11:5: exception "EX-1" has no expires date; every exception must expire
	// catalog.yaml:15:18: approved_by "mallory@acme.example" is not a known person
}
