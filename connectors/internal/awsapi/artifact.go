package awsapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aimsvault/aimsvault/connectors"
)

// Endpoint names the call for provenance: the X-Amz-Target operation for
// the JSON protocols (every call posts to "/"), the path for REST-JSON.
func (r Raw) Endpoint() string {
	if r.Target != "" {
		return r.Target
	}
	return r.Path
}

// Evidence is one artifact to emit: an AWS answer (or a document derived
// from answers) and what the artifact says about it.
type Evidence struct {
	Kind, Subject string
	// Body is JSON: the response body as AWS sent it, or a derived
	// document holding parts of such bodies verbatim.
	Body []byte
	// Call is the request that produced Body (for a derived document, the
	// main one); Query the parameters that matter.
	Call     Raw
	Query    string
	Complete bool
	// Attributes beside aws.region and aws.account, which are added.
	Attributes  map[string]string
	EffectiveAt time.Time
}

// Artifact canonicalises e's body and builds the artifact, with region,
// account and identity filled in.
func (e Evidence) Artifact(region string, id Identity, apiVersion string) (connectors.Artifact, error) {
	canon, err := connectors.CanonicalJSON(json.RawMessage(e.Body))
	if err != nil {
		return connectors.Artifact{}, fmt.Errorf("%s %s: %w: %v", e.Kind, e.Subject, connectors.ErrBadResponse, err)
	}
	attrs := map[string]string{"aws.region": region}
	if id.Account != "" {
		attrs["aws.account"] = id.Account
	}
	for k, v := range e.Attributes {
		if v != "" {
			attrs[k] = v
		}
	}
	method := e.Call.Method
	if method == "" {
		method = "POST"
	}
	return connectors.Artifact{
		Kind:        e.Kind,
		Subject:     e.Subject,
		MediaType:   "application/json",
		Attributes:  attrs,
		EffectiveAt: e.EffectiveAt,
		Provenance: connectors.Provenance{
			Method:     method,
			Endpoint:   e.Call.Endpoint(),
			Query:      e.Query,
			APIVersion: apiVersion,
			Identity:   id.String(),
			Complete:   e.Complete,
		},
		Content: bytes.NewReader(canon),
	}, nil
}

// Time formats t for an attribute (RFC 3339, UTC); "" for nil or zero.
func Time(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// First is the first of ts that is set, or zero.
func First(ts ...*time.Time) time.Time {
	for _, t := range ts {
		if t != nil && !t.IsZero() {
			return t.UTC()
		}
	}
	return time.Time{}
}

// Bool formats b as "true" or "false".
func Bool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
