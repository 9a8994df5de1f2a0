package jira

// DefaultMaxResponse is the body cap of a connector with the default config,
// for the fault matrix in package jira_test.
var DefaultMaxResponse = maxResponse(defaultConfig())
