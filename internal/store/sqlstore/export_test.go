package sqlstore

// SetRollUpBatch makes RollUpSummaries fold n rows per transaction.
func SetRollUpBatch(s *Store, n int) { s.rollUpBatchRows = n }

// PeriodicHostQueries are the queries over hosts that run on a timer
// whatever the fleet's size, with placeholder values.
var PeriodicHostQueries = map[string]struct {
	Query string
	Args  []any
}{
	"attest requests":        {qAttestRequested, []any{int64(1)}},
	"unreachable candidates": {qUnreachableCandidates, []any{"Unreachable", int64(1), int64(1), int64(1)}},
}
