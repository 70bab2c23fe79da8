package verifier

import "github.com/bootproof/bootproof/internal/memo"

// ForgetEventLogs empties the memo of held event logs, as a restart or
// another replica would have it, so that the store must answer.
func (v *Verifier) ForgetEventLogs() { v.logs = memo.New[string, []byte](heldLogMemoEntries) }

// ForgetBundles empties the memo of held bundle files, so that the store
// must answer.
func (v *Verifier) ForgetBundles() { v.bundleFiles = memo.New[string, []byte](heldBundleMemoEntries) }
