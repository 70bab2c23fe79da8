package e2e

import "github.com/bootproof/bootproof/internal/emuhost"

func seedOf(name string) int64 { return emuhost.HostSeed(name) }
