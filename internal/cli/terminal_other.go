//go:build !linux

package cli

import "os"

// fileIsTerminal is false where bootproof cannot ask the terminal driver:
// confirmations there need --yes.
func fileIsTerminal(*os.File) bool { return false }
