package mock_test

import (
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/mock"
	"github.com/whispersync/whispersync/storagetest"
)

// TestTablesContract runs the contract every Tables implementation must
// pass, so unit tests that use the fake see the semantics of the real stores.
func TestTablesContract(t *testing.T) {
	storagetest.Tables(t, func(t *testing.T) whispersync.Tables { return mock.NewTables() })
}
