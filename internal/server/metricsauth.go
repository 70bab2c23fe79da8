package server

import (
	"net"
)

// MetricsAuthDefault is whether /metrics needs an API token when the
// operator does not say: yes on any listener another machine can reach
// (the metrics name no secret, but they tell who is watching how many
// hosts fail, and cost a scrape of every counter), no on a loopback one.
func MetricsAuthDefault(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil || host == "" {
		return true // ":8443" listens on every interface
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}
