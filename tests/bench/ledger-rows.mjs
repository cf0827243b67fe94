// Rows of the shop ledger's own SQLite database, read from the files a persisted Miniflare keeps
// (`startApp({ persistRoot })`), for figures only the ledger knows: which pacing slot each step
// held and which it was granted. Read through Python's sqlite3 (node 20 has no SQLite of its
// own), read-only, while workerd may still be writing (SQLite's locks make that safe).
import { execFileSync } from "node:child_process";

// Finds the one database with a `slots` table under the root and prints the query's rows.
const READ = `
import json, os, sqlite3, sys
root, sql = sys.argv[1], sys.argv[2]
def has_slots(path):
    db = sqlite3.connect("file:" + path + "?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'slots'").fetchone()[0] > 0
    finally:
        db.close()
found = [os.path.join(d, f) for d, _, files in os.walk(root) for f in files
         if f.endswith(".sqlite") and has_slots(os.path.join(d, f))]
if len(found) != 1:
    sys.exit("expected one shop ledger under %s, found %d" % (root, len(found)))
db = sqlite3.connect("file:" + found[0] + "?mode=ro", uri=True)
db.row_factory = sqlite3.Row
print(json.dumps([dict(r) for r in db.execute(sql)]))
`;

/** `sql`'s rows, as objects, from the shop ledger's database kept under `persistRoot`. */
export const ledgerRows = (persistRoot, sql) =>
  JSON.parse(execFileSync("python3", ["-c", READ, persistRoot, sql], { encoding: "utf8", maxBuffer: 1 << 28 }));
