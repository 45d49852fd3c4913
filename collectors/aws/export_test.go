package aws

// Ops is the operation table (permission and hidden facets per
// operation), for the fault-injection test.
var Ops = ops

// ReviewText is reviewText, for its table test.
var ReviewText = reviewText
