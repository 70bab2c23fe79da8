package eventlog_test

import (
	"testing"

	"github.com/bootproof/bootproof/internal/corpus"
)

// The shared corpus of real event logs, through internal/corpus.
type corpusCase = corpus.Case

func sharedDir(tb testing.TB) string { return corpus.SharedDir(tb) }

func corpusCases(tb testing.TB) []corpusCase { return corpus.Cases(tb) }

func references(tb testing.TB) map[string]corpus.Reference { return corpus.References(tb) }
