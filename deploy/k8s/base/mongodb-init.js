// Run by the rs-init sidecar of every MongoDB member; acts only on
// mongodb-0, through the localhost exception (no user exists yet) or as root
// afterwards. Idempotent: initiates the replica set rs0 of the three
// members, then creates the root user and the application user "contigo"
// (readWrite on the country's database only) if missing. Bounded waits.
const pod = process.env.POD_NAME;
if (!pod.endsWith("-0")) {
  print(`${pod}: not the first member, nothing to do`);
  quit(0);
}
const set = pod.replace(/-0$/, "");
let conn;
for (let i = 0; i < 120 && !conn; i++) {
  try { conn = new Mongo("mongodb://127.0.0.1:27017/?directConnection=true"); } catch (e) { sleep(1000); }
}
if (!conn) { print("mongod did not answer within 120 s"); quit(1); }
let admin = conn.getDB("admin");
try {
  admin.auth("root", process.env.MONGO_ROOT_PASSWORD);
} catch (e) {
  // No users yet: the localhost exception lets us create the first one.
}
let status;
try { status = admin.runCommand({ replSetGetStatus: 1 }); } catch (e) { status = { ok: 0, codeName: e.codeName }; }
if (status.codeName === "NotYetInitialized") {
  admin.runCommand({
    replSetInitiate: {
      _id: "rs0",
      members: [0, 1, 2].map((i) => ({ _id: i, host: `${set}-${i}.${set}:27017` })),
    },
  });
  print("replica set rs0 initiated");
}
for (let i = 0; i < 120 && !admin.runCommand({ hello: 1 }).isWritablePrimary; i++) sleep(1000);
if (!admin.runCommand({ hello: 1 }).isWritablePrimary) { print("mongodb-0 is not primary: users are created on a later start"); quit(0); }
if (admin.getUser("root") === null) {
  admin.createUser({ user: "root", pwd: process.env.MONGO_ROOT_PASSWORD, roles: ["root"] });
  admin.auth("root", process.env.MONGO_ROOT_PASSWORD);
  print("root user created");
}
if (admin.getUser("contigo") === null) {
  admin.createUser({
    user: "contigo",
    pwd: process.env.MONGO_APP_PASSWORD,
    roles: [{ role: "readWrite", db: process.env.COUNTRY_DB }],
  });
  print(`user contigo created (readWrite on ${process.env.COUNTRY_DB})`);
}
