// Package all lists every built-in connector type. It is the one file to
// touch when a connector is added.
package all

import (
	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/connectors/bamboohr"
	"github.com/aimsvault/aimsvault/connectors/bedrock"
	"github.com/aimsvault/aimsvault/connectors/files"
	"github.com/aimsvault/aimsvault/connectors/github"
	"github.com/aimsvault/aimsvault/connectors/jira"
	"github.com/aimsvault/aimsvault/connectors/knowbe4"
	"github.com/aimsvault/aimsvault/connectors/sagemaker"
)

// Registry returns a registry holding every built-in connector type.
func Registry() *connectors.Registry {
	r := connectors.NewRegistry()
	r.Register(files.Type)
	r.Register(github.Type)
	r.Register(jira.Type)
	r.Register(sagemaker.Type)
	r.Register(bedrock.Type)
	r.Register(bamboohr.Type)
	r.Register(knowbe4.Type)
	return r
}
