package mongo

import (
	"errors"
	"testing"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// TestMapErrBackendTimeout: FerretDB's answer when its connection to
// PostgreSQL timed out (seen in CI while a store opened) is "the database
// did not answer", which Open retries and a request answers with 503;
// another internal error is not.
func TestMapErrBackendTimeout(t *testing.T) {
	t.Parallel()
	timeout := mongo.CommandError{Code: 1, Name: "InternalError",
		Message: "[msg_find.go:344 handler.handleMaxTimeMSError] [collection.go:109 postgresql.(*collection).Query] timeout: read tcp 127.0.0.1:33710->127.0.0.1:40493: i/o timeout"}
	if err := mapErr(timeout); !errors.Is(err, records.ErrUnavailable) {
		t.Errorf("backend timeout: %v, want ErrUnavailable", err)
	}
	other := mongo.CommandError{Code: 1, Name: "InternalError", Message: "something else"}
	if err := mapErr(other); errors.Is(err, records.ErrUnavailable) {
		t.Errorf("other internal error: %v, want it as it is", err)
	}
}
