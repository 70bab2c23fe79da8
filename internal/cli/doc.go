// Package cli is bootproof's command tree. Each file holds one command; a
// command parses flags, a config file and BOOTPROOF_* environment variables
// into a role's Config and calls into that role. No logic lives here.
package cli
