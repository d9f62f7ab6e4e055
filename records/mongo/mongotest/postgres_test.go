package mongotest

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestPostgresRoundTrip writes and reads a document through FerretDB on
// PostgreSQL, then checks that stopping leaves no server and no files.
func TestPostgresRoundTrip(t *testing.T) {
	start := time.Now()
	p, err := startPostgres(t.Context())
	if errors.Is(err, errNoPostgres) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started in %s", time.Since(start).Round(time.Millisecond))
	stopped := false
	defer func() {
		if !stopped {
			p.stop()
		}
	}()
	if !strings.HasPrefix(p.c.url, "postgres://postgres@127.0.0.1:") || !strings.HasPrefix(p.uri, "mongodb://127.0.0.1:") {
		t.Fatalf("urls %q, %q: want 127.0.0.1", p.c.url, p.uri)
	}
	client, err := mongo.Connect(options.Client().ApplyURI(p.uri))
	if err != nil {
		t.Fatal(err)
	}
	coll := client.Database("roundtrip").Collection("c")
	if _, err := coll.InsertOne(t.Context(), bson.D{{Key: "_id", Value: "a"}, {Key: "n", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.InsertOne(t.Context(), bson.D{{Key: "_id", Value: "a"}}); !mongo.IsDuplicateKeyError(err) {
		t.Errorf("second insert of _id a: %v, want a duplicate key error", err)
	}
	var got struct{ N int }
	if err := coll.FindOne(t.Context(), bson.D{{Key: "_id", Value: "a"}}).Decode(&got); err != nil || got.N != 1 {
		t.Errorf("find: %+v, %v", got, err)
	}
	if err := client.Disconnect(t.Context()); err != nil {
		t.Error(err)
	}

	pgAddr := strings.TrimSuffix(strings.TrimPrefix(p.c.url, "postgres://postgres@"), "/contigo")
	start = time.Now()
	stopped = true
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(p.c.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster directory after stop: %v, want it removed", err)
	}
	if c, err := net.DialTimeout("tcp", pgAddr, time.Second); err == nil {
		c.Close()
		t.Errorf("PostgreSQL still listening on %s after stop", pgAddr)
	}
}

// TestPostgresStoppedWhenBinaryDies kills (SIGKILL) a child test binary that has
// started a cluster, and checks that the watchdog stops the server and
// removes its files.
func TestPostgresStoppedWhenBinaryDies(t *testing.T) {
	if os.Getenv("MONGOTEST_CHILD") == "1" {
		c, err := startCluster(context.Background())
		if err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("dir " + c.dir + " url " + c.url + "\n")
		p, _ := os.FindProcess(os.Getpid())
		p.Kill()
		select {}
	}
	if _, err := pgBinDir(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestPostgresStoppedWhenBinaryDies$")
	cmd.Env = append(os.Environ(), "MONGOTEST_CHILD=1")
	out, _ := cmd.Output()
	f := strings.Fields(string(out))
	if len(f) != 4 || f[0] != "dir" {
		t.Fatalf("child: %q", out)
	}
	dir, pgAddr := f[1], strings.TrimSuffix(strings.TrimPrefix(f[3], "postgres://postgres@"), "/contigo")
	for deadline := time.Now().Add(startTimeout); ; time.Sleep(100 * time.Millisecond) {
		_, err := os.Stat(dir)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster directory %s still there %s after its test binary died", dir, startTimeout)
		}
	}
	if c, err := net.DialTimeout("tcp", pgAddr, time.Second); err == nil {
		c.Close()
		t.Errorf("PostgreSQL still listening on %s after its test binary died", pgAddr)
	}
}
