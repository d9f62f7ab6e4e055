package records

import (
	"context"
	"time"
)

// TokenStore keeps what the token checks of every replica of a node share:
// revoked token ids, registered backend-service clients and the ids of
// single-use assertions already seen. It lives in the database, so it
// survives restarts and reaches every replica. Implementations:
// records/mongo.
type TokenStore interface {
	// Revoke records that the token with id r.ID is revoked. Revoking an
	// id twice keeps the first record and succeeds.
	Revoke(ctx context.Context, r Revocation) error
	// Revocation returns the revocation of token id; ErrNotFound if the id
	// is not revoked.
	Revocation(ctx context.Context, id string) (Revocation, error)
	// UseOnce records that the single-use assertion id (in a namespace such
	// as "client-assertion" or "caller") is used, to be remembered until
	// expires; ErrConflict if it was used before. Entries past their expiry
	// may be purged.
	UseOnce(ctx context.Context, namespace, id string, expires time.Time) error
	// PutClient registers or replaces a backend-service client.
	PutClient(ctx context.Context, c Client) error
	// BackendClient returns the client with id; ErrNotFound if none.
	BackendClient(ctx context.Context, id string) (Client, error)
}

// Revocation is a revoked token id.
type Revocation struct {
	ID      string    // the token's jti
	Expires time.Time // when the token expires anyway (zero: unknown, kept for good)
	At      time.Time // when it was revoked
	By      string    // who revoked it (the admin's subject)
	Reason  string    // why, free text
}

// Client is a system registered for SMART Backend Services: it obtains
// access tokens with a JWT assertion signed by its own private key.
type Client struct {
	ID        string    // client_id, also the iss and sub of its assertions
	JWKS      string    // its public keys, a JSON Web Key Set
	Role      string    // the most its tokens may do: an api role (health-worker, ministry, ...)
	Countries []string  // the countries its tokens reach
	Added     time.Time // when it was registered
	By        string    // who registered it
}
