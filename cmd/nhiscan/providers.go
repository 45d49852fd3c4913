package main

import (
	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/config"
)

// buildCollectors turns the configuration's provider sections into
// collectors.
func (a *app) buildCollectors(cfg config.Config) ([]collectors.Collector, error) {
	var cs []collectors.Collector
	if len(cs) == 0 {
		return nil, usagef("no providers configured: add a 'providers' section to the configuration, or pass --inventory FILE")
	}
	return cs, nil
}
