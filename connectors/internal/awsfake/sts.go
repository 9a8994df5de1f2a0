package awsfake

import (
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// ServeSTS answers an STS query-protocol call (form already parsed, caller
// already verified): GetCallerIdentity names the test user or, for the
// assumed session, the role session; AssumeRole of RoleARN, with ExternalID,
// issues the assumed session's keys.
func ServeSTS(w http.ResponseWriter, form url.Values, c Caller, f *Failures) {
	action := form.Get("Action")
	if form.Get("Version") != "2011-06-15" {
		WriteError(w, Query, 400, "InvalidAction", "Version must be 2011-06-15")
		return
	}
	if fail, ok := f.Take(action, c.Region); ok {
		fail.Write(w, Query)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	switch action {
	case "GetCallerIdentity":
		arn, id := UserARN, "AIDAAIMSVAULTFAKEUSER"
		if c.Assumed {
			arn, id = AssumedRoleSessionARN, "AROAAIMSVAULTFAKEROLE:aimsvault"
		}
		fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>%s</Arn><UserId>%s</UserId><Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>fake-request-id</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
			arn, id, Account)
	case "AssumeRole":
		if form.Get("RoleArn") != RoleARN || form.Get("ExternalId") != ExternalID || form.Get("RoleSessionName") == "" {
			WriteError(w, Query, 403, "AccessDenied", fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", UserARN, form.Get("RoleArn")))
			return
		}
		exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials><AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROAAIMSVAULTFAKEROLE:aimsvault</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>fake-request-id</RequestId></ResponseMetadata></AssumeRoleResponse>`,
			AssumedAccessKeyID, AssumedSecretKey, AssumedSessionToken, exp, AssumedRoleSessionARN)
	default:
		WriteError(w, Query, 400, "InvalidAction", "the fake STS knows GetCallerIdentity and AssumeRole only")
	}
}
