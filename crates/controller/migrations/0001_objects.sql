-- Every controller object is one row: its kind, its case-folded key and its JSON body.
-- The controller keeps the whole state in memory and writes the rows an API call touched
-- in one transaction.
CREATE TABLE objects (
    kind TEXT NOT NULL,
    key  TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
