/// The state database's one table and the statements over it. Expiry times are seconds since
/// 1970 (REAL), taken from the plugins' clock; NULL never expires.
enum StateSchema {
    static let setup = [
        // Replaces sqlite-nio's busy handler, which retries at once forever: another process
        // holding the file (a backup, the sqlite3 shell, another `qpsmtpd inetd` setting up the
        // same file at the same moment) is waited for, at most 5 s. First, so the statements
        // below wait too: switching to WAL takes a lock, and under tcpserver two processes
        // opening the file together made one fail with "database is locked".
        "PRAGMA busy_timeout = 5000",
        // WAL: readers never wait for the writer, and a commit is one append, not a journal rewrite.
        "PRAGMA journal_mode = WAL",
        // In WAL mode NORMAL loses at most the last commits on power loss, never consistency;
        // state worth one greylisting retry is not worth an fsync per SMTP command.
        "PRAGMA synchronous = NORMAL",
        """
        CREATE TABLE IF NOT EXISTS state (
            key TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL,
            expires REAL
        ) WITHOUT ROWID
        """,
        "CREATE INDEX IF NOT EXISTS state_expires ON state(expires) WHERE expires IS NOT NULL",
    ]

    /// ?1 key, ?2 now.
    static let get = "SELECT value FROM state WHERE key = ?1 AND (expires IS NULL OR expires > ?2)"

    /// ?1 key, ?2 value, ?3 expiry or NULL.
    static let set = """
        INSERT INTO state (key, value, expires) VALUES (?1, ?2, ?3)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires
        """

    /// ?1 key, ?2 delta, ?3 new expiry or NULL (keep the entry's), ?4 now. An expired entry
    /// counts as missing; a non-numeric value as 0 (CAST of text that is no number is 0).
    static let increment = """
        INSERT INTO state (key, value, expires) VALUES (?1, CAST(?2 AS TEXT), ?3)
        ON CONFLICT (key) DO UPDATE SET
            value = CAST(
                CASE WHEN state.expires IS NOT NULL AND state.expires <= ?4 THEN 0
                     ELSE CAST(state.value AS INTEGER) END + ?2 AS TEXT),
            expires = CASE
                WHEN ?3 IS NOT NULL THEN ?3
                WHEN state.expires IS NOT NULL AND state.expires <= ?4 THEN NULL
                ELSE state.expires END
        RETURNING CAST(value AS INTEGER) AS value
        """

    /// ?1 key.
    static let remove = "DELETE FROM state WHERE key = ?1"

    /// ?1 now.
    static let prune = "DELETE FROM state WHERE expires IS NOT NULL AND expires <= ?1 RETURNING 1 AS removed"
}
