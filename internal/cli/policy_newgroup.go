package cli

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"

	"gopkg.in/yaml.v3"

	"github.com/bootproof/bootproof/internal/client"
)

// forNewGroup is what `policy set` sends for a group: a group that does not
// exist yet gets references_required: true unless the document sets it,
// so that a new group cannot pass any signed boot unnoticed (docs/policy.md,
// Trust level). note says what was added, for the operator; "" when the
// document went unchanged.
func forNewGroup(ctx context.Context, c *client.Client, group string, doc []byte) (out []byte, note string, err error) {
	var raw []byte
	err = c.Do(ctx, "GET", "/api/v1/groups/"+url.PathEscape(group)+"/policy", nil, &raw)
	var apiErr *client.APIError
	switch {
	case err == nil:
		return doc, "", nil // an existing group: the document says it all
	case !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound:
		return nil, "", err
	}
	out, added := requireReferences(doc)
	if !added {
		return doc, "", nil
	}
	return out, "new group " + group + ": references_required: true added (its hosts fail with policy.no_references until the group has reference values; set references_required: false to allow Secure Boot only)", nil
}

// requireReferences adds references_required: true to a policy document
// that does not set it. A document that is not a YAML mapping is left as
// it is: the verifier says what is wrong with it.
func requireReferences(doc []byte) ([]byte, bool) {
	var top yaml.Node
	if err := yaml.Unmarshal(doc, &top); err != nil || len(top.Content) != 1 || top.Content[0].Kind != yaml.MappingNode {
		return doc, false
	}
	m := top.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "references_required" {
			return doc, false
		}
	}
	return append([]byte("references_required: true\n"), bytes.TrimPrefix(doc, []byte("---\n"))...), true
}
