// Package demo is `bootproof demo`: a verifier on SQLite in one folder and a
// fleet of emulated hosts, each its own `bootproof host` process with its
// own TPM, of every profile. It learns the group's reference values from a
// golden host first, as an operator would, then starts the rest, prints
// progress, and stops every child on Ctrl-C. With Scenario it then reboots
// a good host with Secure Boot off and on again, as in VMware's demo.
package demo
