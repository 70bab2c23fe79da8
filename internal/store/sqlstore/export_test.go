package sqlstore

// SetRollUpBatch makes RollUpSummaries fold n rows per transaction.
func SetRollUpBatch(s *Store, n int) { s.rollUpBatchRows = n }
