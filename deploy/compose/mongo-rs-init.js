// Initiates the replica set RS (set with --eval "var RS='co'") of members
// <RS>-mongo-0..2, once: a second run finds it initiated and does nothing.
// Then waits (bounded, 60 s) for a primary, so the nodes start on a
// writable set.
try {
  rs.status();
  print(`replica set ${RS} already initiated`);
} catch (e) {
  if (e.codeName !== "NotYetInitialized") throw e;
  rs.initiate({
    _id: RS,
    members: [0, 1, 2].map((i) => ({ _id: i, host: `${RS}-mongo-${i}:27017` })),
  });
  print(`replica set ${RS} initiated`);
}
for (let i = 0; i < 60; i++) {
  if (db.hello().isWritablePrimary || rs.status().members.some((m) => m.stateStr === "PRIMARY")) {
    print(`replica set ${RS} has a primary`);
    quit(0);
  }
  sleep(1000);
}
print(`replica set ${RS}: no primary after 60 s`);
quit(1);
