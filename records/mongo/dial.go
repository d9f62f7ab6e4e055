package mongo

import (
	"context"
	"errors"
	"net"
)

// dialer connects to the database server like the driver's own default
// (a zero net.Dialer), and closes a connection as soon as a read or a write on it times out.
//
// When an operation's context deadline passes while the driver waits for
// the server's reply, the driver keeps the connection, reads the late
// reply in the background and drops it ("background read on timeout").
// If that reply opened a cursor (a find whose results did not fit its
// first batch), the driver never learns its id and cannot kill it. MongoDB
// ends such a cursor after 10 idle minutes (cursorTimeoutMillis); FerretDB
// v1.24 keeps it, with its SQLite statement or PostgreSQL query and the
// pooled database connection under it, until the client's connection
// closes. On the embedded engine that read also holds SQLite's write-ahead
// log, which then grows with every write; and after 100 such timeouts
// FerretDB's pool of SQLite connections is exhausted and every request
// waits forever (FerretDB on PostgreSQL stopped answering the same way,
// TestTimedOutFindsLeaveNoQuery). A connection closed at the timeout instead ends its
// cursors on every engine (FerretDB closes a connection's cursors with
// it; https://www.mongodb.com/docs/manual/reference/method/cursor.noCursorTimeout/
// for MongoDB's idle timeout). TestEndedReadsLeaveNoReader measures it.
type dialer struct{ net.Dialer }

// DialContext implements the driver's options.ContextDialer.
func (d *dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.Dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &closeOnTimeout{Conn: c}, nil
}

// closeOnTimeout is a connection that closes itself when a read or write
// on it times out.
type closeOnTimeout struct{ net.Conn }

// Read reads from the connection, closing it if the read timed out.
func (c *closeOnTimeout) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.check(err)
	return n, err
}

// Write writes to the connection, closing it if the write timed out.
func (c *closeOnTimeout) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.check(err)
	return n, err
}

// check closes the connection if err is a timeout.
func (c *closeOnTimeout) check(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		_ = c.Conn.Close()
	}
}
