package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/verifier"
)

// Error is the JSON body of every error.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// httpError is a refusal with its HTTP status.
type httpError struct {
	Status int
	Body   Error
	// RetryAfter, when not zero, is sent as the Retry-After header (seconds).
	RetryAfter int
}

// CodeStoreUnavailable is the code of a 503 answered because the verifier
// cannot read or write its store just now: the request may be fine, and
// the caller should retry. A token that could not be checked gets it,
// never 401, so that no client drops a valid token over an outage.
const CodeStoreUnavailable = "store.unavailable"

// storeRetryAfter is the Retry-After of a store.unavailable answer.
const storeRetryAfter = 5

func storeUnavailable(format string, args ...any) *httpError {
	he := errorf(http.StatusServiceUnavailable, CodeStoreUnavailable, format, args...)
	he.RetryAfter = storeRetryAfter
	return he
}

func errorf(status int, code, format string, args ...any) *httpError {
	return &httpError{Status: status, Body: Error{Code: code, Message: fmt.Sprintf(format, args...)}}
}

func (e *httpError) Error() string { return e.Body.Code + ": " + e.Body.Message }

var kindStatus = map[verifier.Kind]int{
	verifier.KindInvalid:      http.StatusBadRequest,
	verifier.KindUnauthorized: http.StatusUnauthorized,
	verifier.KindForbidden:    http.StatusForbidden,
	verifier.KindNotFound:     http.StatusNotFound,
	verifier.KindConflict:     http.StatusConflict,
	verifier.KindTooLarge:     http.StatusRequestEntityTooLarge,
}

func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var he *httpError
	var ve *verifier.Error
	switch {
	case errors.As(err, &he):
	case errors.As(err, &ve):
		he = &httpError{Status: kindStatus[ve.Kind], Body: Error{Code: ve.Code, Message: ve.Message}}
	case errors.Is(err, store.ErrNotFound):
		he = errorf(http.StatusNotFound, "not_found", "not found")
	default:
		id := requestID(r)
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "request_id", id, "err", err)
		he = errorf(http.StatusInternalServerError, "internal", "internal error (request %s)", id)
	}
	if he.Status == 0 {
		he.Status = http.StatusBadRequest
	}
	if he.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(he.RetryAfter))
	}
	writeJSON(w, he.Status, he.Body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// decode reads a JSON body strictly: bounded, unknown fields refused.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "body_too_large", "request body over %d bytes", mbe.Limit)
		}
		// Read what is left (MaxBytesReader bounds it) before answering: a
		// client still sending a large bad body then reads this answer
		// instead of a connection reset.
		_, _ = io.Copy(io.Discard, r.Body)
		return errorf(http.StatusBadRequest, "malformed_json", "request body is not valid JSON for this endpoint: %v", err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "malformed_json", "request body holds more than one JSON value")
	}
	return nil
}

func requestID(r *http.Request) string {
	if id, ok := r.Context().Value(ctxRequestID{}).(string); ok {
		return id
	}
	return "-"
}

type ctxRequestID struct{}
