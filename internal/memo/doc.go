// Package memo is a bounded map for caches that are read on every request
// and written rarely: lookups take no lock, and when it holds its bound it
// is cleared rather than grown, so memory stays bounded whatever keys
// arrive (keys may come from hosts).
package memo
