package aws

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

var deniedCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "UnauthorizedOperation": true,
	"AWSOrganizationsNotInUseException": true, "InvalidClientTokenId": true, "ExpiredToken": true,
	"UnrecognizedClientException": true,
}

var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "TooManyRequestsException": true,
	"RequestLimitExceeded": true, "RequestThrottled": true, "SlowDown": true,
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// translate wraps an SDK error with the collectors sentinel it stands for.
func translate(err error) error {
	if err == nil {
		return nil
	}
	code := apiCode(err)
	switch {
	case deniedCodes[code]:
		return fmt.Errorf("%w: %w", collectors.ErrDenied, err)
	case throttleCodes[code]:
		return fmt.Errorf("%w: %w", collectors.ErrThrottled, err)
	case code == "NoSuchEntity":
		return fmt.Errorf("%w: %w", collectors.ErrNotFound, err)
	case code == "UnmodifiableEntity":
		// A service-linked role: only AWS may change it.
		return fmt.Errorf("%w: %w", collectors.ErrUnsupported, err)
	}
	return err
}

// gapFor turns an error from source into a gap for scope.
func gapFor(err error, scope, source, permission string, usageOnly bool) nhi.Gap {
	g := nhi.Gap{Provider: nhi.AWS, Scope: scope, Source: source, Permission: permission, UsageOnly: usageOnly, Kind: nhi.GapError}
	code := apiCode(err)
	switch {
	case deniedCodes[code]:
		g.Kind = nhi.GapDenied
	case throttleCodes[code]:
		g.Kind = nhi.GapThrottled
	case errors.Is(err, context.DeadlineExceeded):
		g.Kind = nhi.GapTimeout
	case errors.Is(err, context.Canceled):
		g.Kind = nhi.GapUnavailable
	}
	if code != "" {
		g.Detail = code
	} else {
		g.Detail = err.Error()
	}
	if g.Kind != nhi.GapDenied {
		g.Permission = ""
	}
	return g
}
