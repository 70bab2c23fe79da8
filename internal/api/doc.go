// Package api is the verifier's HTTP surface: the REST API under /api/v1
// (bearer API tokens with roles) and the agent protocol under /agent/v1
// (mutual TLS with the client certificate issued at enrolment). routes.go is
// the one route table; openapi.yaml describes the REST part and a test keeps
// the two in step.
//
// Handlers decode strictly (bounded bodies, unknown fields refused), call
// the verifier, and map its refusals to JSON errors with a code and a
// message. Anything else is a 500 whose detail goes only to the log.
package api
