package api

import "github.com/bootproof/bootproof/internal/auth"

// RouteInfo is one entry of the route table as seen from outside the
// package: what a caller needs to present to reach the route.
type RouteInfo struct {
	Method, Path string
	// Role is the least API-token role that may call the route; 0 means
	// the route takes no API token.
	Role auth.Role
	// Agent routes need an enrolled agent's client certificate instead.
	Agent bool
}

// RouteTable returns the route table. The authentication tests (unit and
// end-to-end) derive their cases from it, so that a new route cannot be
// added without saying who may call it.
func RouteTable() []RouteInfo {
	out := make([]RouteInfo, 0, len(routes))
	for _, r := range routes {
		out = append(out, RouteInfo{Method: r.Method, Path: r.Path, Role: r.Role, Agent: r.Agent})
	}
	return out
}
